// Shows notifications (core/notify.ts decides which): an OSC 777 / OSC 9 escape to the terminal (through tmux's
// passthrough when inside tmux) and, when configured and installed, notify-send. Tracks the terminal's focus from
// focus events (CSI ?1004h; the terminal sends CSI I and CSI O, which paste.ts takes out of the key stream).

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ChatClient } from '../core/client.js';
import { notification, notificationEscape, oscKind, shouldNotify } from '../core/notify.js';
import type { ChatBuffer, Entry } from '../core/state.js';

type Env = Record<string, string | undefined>;

export interface NotifierOptions {
  /** Writes to the terminal. */
  write: (data: string) => void;
  env: Env;
  /** Also run notify-send (config file "notifySend": true), when it is on the PATH. */
  notifySend?: boolean;
}

/** The full path of `program` on the PATH, or null. */
export function findProgram(program: string, env: Env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not here
    }
  }
  return null;
}

export class Notifier {
  /** False after the terminal said it lost the focus (CSI O), true again after CSI I. */
  focused = true;
  private readonly notifySend: string | null;
  private readonly inTmux: boolean;

  constructor(
    private readonly client: ChatClient,
    private readonly options: NotifierOptions,
  ) {
    this.notifySend = options.notifySend ? findProgram('notify-send', options.env) : null;
    this.inTmux = !!options.env.TMUX;
    client.state.entryListeners.add((buffer, entry) => this.onEntry(buffer, entry));
  }

  private onEntry(buffer: ChatBuffer, entry: Entry): void {
    const level = this.client.notifyLevels.level(buffer.key);
    if (!shouldNotify(level, buffer, entry, { focused: this.focused, active: this.client.state.active })) return;
    const note = notification(buffer, entry);
    this.options.write(notificationEscape(note, oscKind(this.options.env), this.inTmux));
    if (this.notifySend) {
      // Arguments, not a shell line: nothing in a message is ever run.
      const child = spawn(this.notifySend, ['--app-name=chat', '--', note.title, note.body], { stdio: 'ignore' });
      child.on('error', () => {});
      child.unref();
    }
  }
}
