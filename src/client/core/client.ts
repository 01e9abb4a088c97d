// The headless chat client: a Connection, the ClientState, and reconnecting with `since` so that nothing is missed
// and nothing is shown twice. Slash commands are in chat-commands.ts, /send /get /files in file-actions.ts. The TUI
// and line mode are views over this.

import { t } from '../text/i18n/index.js';
import { canonicalRoom, nickKey, type ServerMessage } from '../../protocol/index.js';
import { sanitize, sanitizeLine } from '../text/sanitize.js';
import { describeError, sentence } from '../text/wording.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { runCommand, say, type CommandContext } from './chat-commands.js';
import { Connection, type Request } from './connection.js';
import { ClientError } from './errors.js';
import { FileActions } from './file-actions.js';
import { hello } from './handshake.js';
import { NotifyLevels } from './notify.js';
import { Outbox } from './outbox.js';
import { ReadReporter } from './read-markers.js';
import { privateSeen, resumePrivate } from './private-resume.js';
import { checkedNick, checkedRoom } from './names.js';
import { COMMANDS, parseInput } from './parse-input.js';
import { SecretPrompts } from './secret-prompt.js';
import { ClientState, type ChatBuffer } from './state.js';
import type { Credential } from './credentials.js';
import { Transfers } from './transfers.js';
import { VoiceActions } from './voice/actions.js';
import type { Env, VoiceToolSettings } from './voice/tools.js';
import type { TlsSettings } from './tls.js';
import { keyOf } from './moderation-state.js';

export type Phase = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ConnectionStatus {
  phase: Phase;
  /** When the next reconnect attempt starts (ms since the epoch), while reconnecting. */
  retryAt?: number;
  attempt?: number;
}

export interface ChatClientOptions {
  host: string;
  port: number;
  /** Servers to try in turn (several nodes of one cluster); default: just host:port. */
  servers?: { host: string; port: number }[];
  nick: string;
  rooms: string[];
  /** Interactive use takes another nick when the wanted one is taken; scripts fail instead. */
  onNickTaken: 'suggest' | 'fail';
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** Messages sent while reconnecting wait for the connection instead of failing (line mode: `tail -f | chat`). */
  holdWhileReconnecting?: boolean;
  /** Every raw line from the server (line mode's --json). */
  onRawLine?: (line: string) => void;
  /** Where /get saves without a DIR (default: ~/Downloads when it exists, else the current directory). */
  downloadDir?: string;
  /** For /voice and /play: the environment (CHAT_RECORDER, CHAT_PLAYER, PATH) and the config file's tools. */
  voice?: { env?: Env; tools?: VoiceToolSettings };
  /** The login token kept for a server (read at each connection: `chat passwd` may have renewed it). */
  loginToken?: (server: { host: string; port: number }) => string | null;
  /** Keep the token /register or /login NICK got for a server (null: forget it). */
  keepToken?: (server: { host: string; port: number }, credential: Credential | null) => void;
  /** Every connection (chat and transfers) over TLS. */
  tls?: TlsSettings | undefined;
  /** Tell the server what the active buffer shows as read (the full-screen client: protocol.md "Read markers"). */
  reportReads?: boolean;
  /** The /notify level of each buffer (default: kept for the session only). */
  notifyLevels?: NotifyLevels;
}

export class ChatClient {
  readonly state = new ClientState();
  /** Passwords asked by /register and /login NICK: the TUI registers itself to read them without echo. */
  readonly secrets = new SecretPrompts();
  /** Which buffers notify, and of what (/notify). */
  readonly notifyLevels: NotifyLevels;
  /** Command names for Tab completion. */
  readonly commandNames = COMMANDS.map((c) => c.name);
  status: ConnectionStatus = { phase: 'connecting' };
  private conn: Connection | null = null;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | null = null;
  private quitting = false;
  private reconnectWaiters: ((connected: boolean) => void)[] = [];
  private readonly changeListeners = new Set<() => void>();
  private readonly bellListeners = new Set<() => void>();
  private readonly closeListeners = new Set<() => void>();
  /** From the latest `welcome`: lets a transfer connection act as us (`attach`). Changes after a reconnect. */
  private token: string | null = null;
  /** Running uploads and downloads, for the progress lines. */
  readonly transfers = new Transfers();
  /** Messages typed while disconnected (not in line mode, which waits instead). */
  private readonly outbox = new Outbox();
  private sendingQueued = false;
  private readonly files = new FileActions({
    state: this.state,
    transfers: this.transfers,
    server: () => ({ ...this.server, tls: this.options.tls }),
    connected: () => this.conn !== null,
    transferToken: (buffer) => this.transferToken(buffer),
    request: (buffer, message) => this.request(buffer, message),
    downloadDir: () => this.options.downloadDir,
  });
  /** /voice, /play, /stop: the recording under way is shown by the TUI. */
  readonly voice = new VoiceActions({
    state: this.state,
    transfers: this.transfers,
    server: () => this.server,
    transferToken: (buffer) => this.transferToken(buffer),
    changed: () => this.changed(),
    env: () => this.options.voice?.env ?? process.env,
    tools: () => this.options.voice?.tools ?? {},
  });
  /** What the slash commands act on. */
  private readonly commands: CommandContext = {
    state: this.state,
    files: this.files,
    voice: this.voice,
    request: (buffer, message) => this.request(buffer, message),
    leaveRoom: async (room) => {
      if (this.conn) await this.conn.request({ type: 'leave', room });
    },
    quit: (reason) => this.quit(reason),
    reconnect: (buffer) => this.reconnectNow(buffer),
    keptToken: () => this.options.loginToken?.(this.server) ?? null,
    secrets: this.secrets,
    keepToken: (credential) => this.options.keepToken?.(this.server, credential),
    notifyLevels: () => this.notifyLevels,
  };

  /** Sends `read` for what the active buffer shows (with reportReads). */
  private readonly reads = new ReadReporter(this.state, (buffer, seq) => {
    if (!this.conn) return false;
    this.conn.send(buffer.kind === 'private' ? { type: 'read', with: buffer.name, seq } : { type: 'read', room: buffer.key, seq });
    return true;
  });

  private serverIndex = 0;
  /** The last untrusted certificate reported while reconnecting: said once, not at every retry. */
  private lastTlsProblem = '';

  /** The server connected to, or tried next. */
  get server(): { host: string; port: number } {
    return this.options.servers?.[this.serverIndex] ?? { host: this.options.host, port: this.options.port };
  }

  /** After a failure or a lost connection: the next server of the list (a no-op with one). */
  private nextServer(): void {
    const count = this.options.servers?.length ?? 1;
    this.serverIndex = (this.serverIndex + 1) % count;
  }

  constructor(readonly options: ChatClientOptions) {
    this.notifyLevels = options.notifyLevels ?? new NotifyLevels();
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.transfers.onChange(() => this.changed());
  }

  /** The attach token of the current connection (null before the first welcome, or from a server without one). */
  get attachToken(): string | null {
    return this.token;
  }

  /** How many messages wait to be sent until the connection is back. */
  get queued(): number {
    return this.outbox.size;
  }

  /** Resolves when every transfer started so far has ended (tests; quitting). */
  transfersDone(): Promise<void> {
    return this.files.done();
  }

  onChange(listener: () => void): void {
    this.changeListeners.add(listener);
  }

  onBell(listener: () => void): void {
    this.bellListeners.add(listener);
  }

  /** After /quit, or when the connection is gone for good (reconnect off). */
  onClose(listener: () => void): void {
    this.closeListeners.add(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** Connect, say hello and join the first rooms. Throws ClientError when there is no server or the nick/room is bad. */
  async start(): Promise<void> {
    for (const room of this.options.rooms) checkedRoom(room);
    checkedNick(this.options.nick);
    // Try each server once before giving up.
    for (let tried = 1; ; tried++) {
      try {
        await this.establish(true);
        break;
      } catch (error) {
        const more = tried < (this.options.servers?.length ?? 1);
        if (!(error instanceof ClientError) || error.code !== 'connect_failed' || !more) throw error;
        this.nextServer();
      }
    }
    if (this.options.reportReads) this.reads.start();
    const first = this.options.rooms[0];
    if (first) {
      this.state.switchTo(canonicalRoom(first));
      if (nickKey(this.state.nick) !== nickKey(this.options.nick)) {
        this.state.error(
          this.state.active,
          t('client.nickTakenInstead', { taken: this.options.nick, instead: this.state.nick }),
        );
      }
    }
    this.changed();
  }

  private async establish(initial: boolean): Promise<void> {
    this.status = { phase: initial ? 'connecting' : 'reconnecting', attempt: this.backoff.attempt };
    const conn = await Connection.connect(
      this.server.host,
      this.server.port,
      {
        message: (message, line) => this.handle(conn, message, line),
        close: (reason) => this.lost(conn, reason),
      },
      this.options.tls,
    );
    const seen = privateSeen(this.state);
    const token = this.options.loginToken?.(this.server) ?? null;
    try {
      // The hello goes out now (its request is written before identify's first await), then the joins that can
      // follow it unasked (sent, not awaited: one round trip to the first screen, not two).
      const identified = this.identify(conn, initial, token);
      // Every room buffer is a room the user is in: /leave closes the buffer. (A `leave` seen during a server
      // shutdown must not keep us out of the room afterwards.)
      const rooms = initial ? this.options.rooms.map((r) => this.state.openRoom(r)) : this.state.rooms();
      const early = new Map(rooms.flatMap((buffer) => {
        const join = token === null ? this.earlyJoin(conn, buffer) : null;
        return join ? [[buffer, join] as const] : [];
      }));
      await identified;
      for (const buffer of rooms) {
        const reply = await early.get(buffer);
        if (!reply) await this.joinRoom(conn, buffer, initial);
        else if (reply.type === 'error' && (reply.code === 'nick_taken' || reply.code === 'nick_registered')) {
          // Refused as the hello's nick was: join again under the nick taken instead.
          await this.joinRoom(conn, buffer, initial);
        } else this.joined(buffer, reply, initial);
      }
      if (!initial) await resumePrivate(conn, this.state, seen);
    } catch (error) {
      conn.destroy();
      throw error;
    }
    if (conn.closed) throw new ClientError('connection_lost', t('client.lostWhileJoining'));
    this.conn = conn;
    this.status = { phase: 'connected' };
    this.backoff.reset();
  }

  private async identify(conn: Connection, initial: boolean, token: string | null): Promise<void> {
    // A reconnect always takes another nick when ours is taken (our old session may linger on the server).
    const welcome = await hello(conn, this.helloNick(), {
      onNickTaken: this.options.onNickTaken === 'suggest' || !initial ? 'suggest' : 'fail',
      token,
      onTokenRefused: (reason) => this.state.error(this.state.serverBuffer, t('client.tokenRefused', { reason })),
      onSuggested: (taken, instead) => {
        this.state.error(this.state.serverBuffer, t('client.nickTakenInstead', { taken, instead }));
        for (const buffer of this.state.rooms()) this.state.error(buffer, t('client.nickTakenInsteadShort', { taken, instead }));
      },
    });
    this.token = welcome.token ?? null;
  }

  private helloNick(): string {
    return this.state.nick || this.options.nick;
  }

  /**
   * The join of a room sent right behind the hello, before its welcome: only for a room that needs no question
   * first (nothing seen in it yet). It names the hello's nick, so when that nick is refused the join is refused
   * too, rather than made under a guest nick; joinRoom() then joins again. The reply, or null when not sent.
   */
  private earlyJoin(conn: Connection, buffer: ChatBuffer): Promise<ServerMessage> | null {
    if (buffer.lastSeen) return null;
    const key = keyOf(buffer);
    const reply = conn.request({ type: 'join', room: buffer.key, nick: this.helloNick(), ...(key !== undefined && { key }) });
    // When the hello fails, the connection goes and this reply with it: identify()'s error is the one reported.
    reply.catch(() => {});
    return reply;
  }

  /** Join (or rejoin) a room, asking only for the messages not yet seen. */
  private async joinRoom(conn: Connection, buffer: ChatBuffer, initial: boolean): Promise<void> {
    let since = buffer.lastSeen?.seq ?? 0;
    if (buffer.lastSeen) {
      // `since` counts in the server's numbering; after a server restart that numbering starts again, so check that
      // the server still has the message we saw last before trusting it.
      const page = await conn.request({ type: 'history', room: buffer.key, before: buffer.lastSeen.seq + 1, limit: 1 });
      const newest = page.type === 'history' ? page.messages[page.messages.length - 1] : undefined;
      const seen = buffer.lastSeen;
      if (!newest || newest.seq !== seen.seq || newest.ts !== seen.ts || newest.from !== seen.from) {
        this.state.resetSeen(buffer);
        since = 0;
      }
    }
    const key = keyOf(buffer);
    const reply = await conn.request({ type: 'join', room: buffer.key, ...(since > 0 ? { since } : {}), ...(key !== undefined && { key }) });
    this.joined(buffer, reply, initial);
  }

  /** The reply to a room's join: an error fails the start, or is said in the room on a rejoin. */
  private joined(buffer: ChatBuffer, reply: ServerMessage, initial: boolean): void {
    if (reply.type === 'error') {
      buffer.joined = false;
      if (initial && reply.code === 'bad_room') throw new ClientError('bad_room', describeError(reply));
      if (initial) throw new ClientError('server_error', describeError(reply));
      this.state.error(buffer, t('client.rejoinFailed', { room: buffer.name, why: describeError(reply) }));
    }
  }

  private handle(conn: Connection, message: ServerMessage, line: string): void {
    this.options.onRawLine?.(line);
    if (message.type === 'ping') {
      conn.send({ type: 'pong' });
      return;
    }
    const { bell } = this.state.apply(message);
    if (bell) for (const listener of this.bellListeners) listener();
    this.changed();
  }

  private lost(conn: Connection, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    if (this.quitting || this.options.reconnect === false) {
      this.finish();
      return;
    }
    this.nextServer();
    const text = t('client.disconnected', { reason: sanitizeLine(reason), where: `${this.server.host}:${this.server.port}` });
    this.state.error(this.state.serverBuffer, text);
    for (const buffer of this.state.rooms()) this.state.error(buffer, text);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.backoff.next();
    this.status = { phase: 'reconnecting', retryAt: Date.now() + delay, attempt: this.backoff.attempt };
    this.changed();
    this.retryTimer = setTimeout(() => this.attemptReconnect(), delay);
  }

  private attemptReconnect(): void {
    this.retryTimer = null;
    this.status = { phase: 'reconnecting', attempt: this.backoff.attempt };
    this.changed();
    this.establish(false).then(
      () => {
        const text = t('client.reconnected');
        this.state.info(this.state.serverBuffer, text);
        for (const buffer of this.state.rooms()) this.state.info(buffer, text);
        this.changed();
        this.wakeWaiters(true);
        void this.sendQueued();
      },
      (error) => {
        // A changed certificate is not a server that is down: say so, or the user only sees endless retries.
        if (error instanceof ClientError && error.code === 'tls_untrusted' && error.message !== this.lastTlsProblem) {
          this.lastTlsProblem = error.message;
          for (const buffer of [this.state.serverBuffer, ...this.state.rooms()]) this.state.error(buffer, sentence(error.message));
        }
        this.nextServer();
        if (!this.quitting) this.scheduleReconnect();
      },
    );
  }

  /** /reconnect: while waiting for the next attempt, make it now (and start the back-off again). */
  private reconnectNow(buffer: ChatBuffer): void {
    if (this.conn) this.state.info(buffer, t('client.connectedAlready', { where: `${this.server.host}:${this.server.port}` }));
    else if (!this.retryTimer) this.state.info(buffer, t('client.reconnectingNow'));
    else {
      clearTimeout(this.retryTimer);
      this.backoff.reset();
      this.state.info(buffer, t('client.reconnectingTo', { where: `${this.server.host}:${this.server.port}` }));
      this.attemptReconnect();
    }
  }

  /** A message typed while disconnected: shown as queued in its buffer (a private one is opened for it). */
  private queue(buffer: ChatBuffer, message: Extract<Request, { type: 'msg' }>): void {
    const target = 'to' in message && message.to !== undefined ? this.state.openPrivate(message.to) : buffer;
    const entry = this.state.add(target, { kind: 'queued', from: this.state.nick, self: true, text: sanitize(message.text) });
    this.outbox.add({ bufferKey: target.key, entryId: entry.id, message });
    this.changed();
  }

  /** Once connected again: the queued messages, in the order typed, each once. */
  private async sendQueued(): Promise<void> {
    if (this.sendingQueued) return;
    this.sendingQueued = true;
    try {
      for (let item = this.outbox.take(); item; item = this.outbox.take()) {
        const conn = this.conn;
        if (!conn || conn.closed) {
          this.outbox.putBack(item);
          break;
        }
        const buffer = this.state.buffer(item.bufferKey) ?? this.state.serverBuffer;
        this.state.removeEntry(buffer, item.entryId);
        this.changed();
        try {
          const reply = await conn.request(item.message);
          if (reply.type === 'error') this.state.error(buffer, describeError(reply));
        } catch (error) {
          this.state.error(buffer, t('client.queuedMayNotBeSent', { why: error instanceof Error ? error.message : String(error) }));
        }
      }
    } finally {
      this.sendingQueued = false;
      this.changed();
    }
  }

  private finish(): void {
    if (this.status.phase === 'closed') return;
    this.status = { phase: 'closed' };
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.reads.stop();
    this.wakeWaiters(false);
    this.changed();
    for (const listener of this.closeListeners) listener();
  }

  async quit(reason?: string): Promise<void> {
    this.quitting = true;
    this.files.stop();
    this.voice.shutdown();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const conn = this.conn;
    this.conn = null;
    if (conn) await conn.quit(reason);
    this.finish();
  }

  private loadingHistory = new Set<ChatBuffer>();

  /** Scrolled to the top of a room's log: fetch the page of history before it. Resolves with the entries added. */
  async loadOlder(buffer: ChatBuffer, limit = 100): Promise<number> {
    const conn = this.conn;
    if (buffer.kind !== 'room' || !buffer.moreHistory || !conn || this.loadingHistory.has(buffer)) return 0;
    if (buffer.oldestSeq !== null && buffer.oldestSeq <= 1) {
      buffer.moreHistory = false;
      return 0;
    }
    this.loadingHistory.add(buffer);
    try {
      const reply = await conn.request({
        type: 'history',
        room: buffer.key,
        limit,
        ...(buffer.oldestSeq !== null ? { before: buffer.oldestSeq } : {}),
      });
      if (reply.type !== 'history' || !('room' in reply)) return 0;
      const added = this.state.prependHistory(buffer, reply.messages, reply.more);
      if (added > 0) this.changed();
      return added;
    } catch {
      return 0;
    } finally {
      this.loadingHistory.delete(buffer);
    }
  }

  /** Nicks for Tab completion: the active room's members and the people we talk to privately. */
  completionNicks(): string[] {
    const buffer = this.state.active;
    return [...buffer.members, ...this.state.buffers.filter((b) => b.kind === 'private').map((b) => b.name)];
  }

  /** What the user typed in the active buffer: a message or a command. */
  async submit(input: string): Promise<void> {
    const buffer = this.state.active;
    const parsed = parseInput(input);
    try {
      switch (parsed.kind) {
        case 'empty':
          return;
        case 'error':
          this.state.error(buffer, parsed.message);
          return;
        case 'text':
          await say(this.commands, buffer, parsed.text, false);
          return;
        case 'command':
          await runCommand(this.commands, buffer, parsed.command);
      }
    } catch (error) {
      this.state.error(buffer, sentence(error instanceof Error ? error.message : String(error)));
    } finally {
      this.changed();
    }
  }

  /** Resolves true once connected again, false if the client closes first. */
  private whenConnected(): Promise<boolean> {
    if (this.conn) return Promise.resolve(true);
    if (this.status.phase === 'closed' || this.quitting) return Promise.resolve(false);
    return new Promise((resolve) => this.reconnectWaiters.push(resolve));
  }

  private wakeWaiters(connected: boolean): void {
    const waiters = this.reconnectWaiters;
    this.reconnectWaiters = [];
    for (const resolve of waiters) resolve(connected);
  }

  private async request(buffer: ChatBuffer, message: Request): Promise<ServerMessage | null> {
    if (!this.conn && this.options.holdWhileReconnecting && this.status.phase === 'reconnecting') {
      await this.whenConnected();
    }
    // While disconnected, and until what was queued has gone out (to keep the order), messages wait in the outbox.
    const waiting = (!this.conn && this.status.phase === 'reconnecting') || this.outbox.size > 0 || this.sendingQueued;
    if (message.type === 'msg' && waiting && !this.options.holdWhileReconnecting) {
      this.queue(buffer, message);
      if (this.conn) void this.sendQueued();
      return null;
    }
    if (!this.conn) {
      this.state.error(buffer, t('client.notConnected'));
      return null;
    }
    const reply = await this.conn.request(message);
    if (reply.type === 'error') {
      this.state.error(buffer, describeError(reply));
      return null;
    }
    return reply;
  }

  /** The attach token for a new transfer, or null after saying in `buffer` why there is none. */
  private transferToken(buffer: ChatBuffer): string | null {
    if (!this.conn) {
      this.state.error(buffer, t('client.notConnected'));
      return null;
    }
    if (!this.token) {
      this.state.error(buffer, t('client.noAttachToken'));
      return null;
    }
    return this.token;
  }
}
