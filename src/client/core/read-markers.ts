// Telling the server what the account has read (docs/protocol.md "Read markers"): a message is read once it is
// shown in the active buffer, followed to the bottom. Checked a few times a second rather than at every event, so
// a busy room costs one `read` line per check, never one per message.

import { unreadUpTo } from './conversation-state.js';
import type { ChatBuffer, ClientState } from './state.js';

const CHECK_MS = 500;

export class ReadReporter {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly state: ClientState,
    /** Send `read` for a room or private buffer; false when there is no connection now (tried again at the next check). */
    private readonly send: (buffer: ChatBuffer, seq: number) => boolean,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.check(), CHECK_MS).unref();
  }

  /** The active room or private buffer shows messages past the marker: say they are read. */
  check(): void {
    const buffer = this.state.active;
    // A private conversation the account has no marker in yet (it began while we were here): it starts at 0.
    if (buffer.kind === 'private' && buffer.readMarker === undefined && this.state.account !== null) buffer.readMarker = 0;
    const upTo = unreadUpTo(buffer);
    if (upTo !== undefined && this.send(buffer, upTo)) buffer.readMarker = upTo;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
