// One client connection: framing in, batched output out, flood control, keepalive and the one close path.
// What each message means is in handlers/; what the server knows of everyone is in server.ts.

import { createReadStream } from 'node:fs';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  ByeCode,
  encode,
  ErrorCode,
  LineDecoder,
  ProtocolError,
  type ClientLineParser,
  type ClientMessage,
  type LineDecoderEvents,
  type RawSink,
  type RequestId,
  type ServerMessage,
} from '../protocol/index.js';
import type { Account } from './accounts/store.js';
import type { AddressLimits } from './addresses.js';
import type { ServerConfig } from './config.js';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';
import type { Logger } from './log.js';
import { accountPrincipal, guestPrincipal } from './state/principals.js';
import type { RoomNews } from './state/room-news.js';
import type { Member } from './state/rooms.js';
import type { ActingUser } from './state/session-tokens.js';
import { randomKey } from './random-key.js';
import { RoomNames } from './state/room-names.js';
import { TokenBucket } from './rate-limit.js';

/** What a connection needs of its server: the limits, the log, output batching, and where its lines go. */
export interface SessionHost {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly flushScheduler: FlushScheduler;
  /** Every connection's lines are read by the server's one parser (it remembers the room names it checked). */
  readonly parser: ClientLineParser;
  /** Act on one valid message from the session. */
  handle(session: Session, message: ClientMessage): void;
  /** The session is closing: take it out of every room and map. Called once, from the close path. */
  forget(session: Session, reason: string): void;
}

/** Bytes of a file read and written at a time during a download. */
const DOWNLOAD_CHUNK = 64 * 1024;
/** A download that moves no byte for this long is given up (unless --ping-timeout says otherwise). */
const DOWNLOAD_STALL_MS = 60_000;

/** Pipelined requests (room messages on a cluster) a connection may have in flight before its input waits. */
const OWED_WINDOW = 64;

const FLUSH_NONE = 0;
const FLUSH_LATER = 1;
const FLUSH_NOW = 2;

/** How long a closed connection may stay half-open while the peer reads the last lines. */
const LINGER_MS = 5000;

// Stream listeners are shared by every session (the stream is `this`; its session hangs off it), and the
// session is its own decoder sink: no closures per connection, which matters at 10 000 idle connections.
const kSession = Symbol('session');
type SessionStream = Duplex & { [kSession]: Session };

function streamOnData(this: SessionStream, chunk: Buffer): void {
  this[kSession].onData(chunk);
}

function streamOnEnd(this: SessionStream): void {
  this[kSession].onEnd();
}

function streamOnError(this: SessionStream, error: Error): void {
  const session = this[kSession];
  session.host.log.debug({ conn: session.id, err: error.message }, 'socket error');
}

function streamOnClose(this: SessionStream): void {
  const session = this[kSession];
  if (!session.closed) session.close(null, 'connection lost');
}

function streamOnDrain(this: SessionStream): void {
  this[kSession].onDrain();
}

/**
 * `address:port` of a TCP connection, from what Node keeps of the socket: made when asked (the log), not kept with
 * each of 10 000 idle connections.
 */
export function remoteOf(stream: Duplex): string {
  const { remoteAddress, remotePort } = stream as Partial<Socket>;
  return remoteAddress === undefined ? 'stream' : `${remoteAddress}:${remotePort}`;
}

/** An idle connection's output list: one shared empty array (frozen), not one each. */
const NOTHING_OWED: Buffer[] = Object.freeze([]) as unknown as Buffer[];
/** The largest size an output list is made at before anything is owed (a list may still grow past it). */
const PENDING_HINT_MAX = 1024;

const DISCARD: RawSink = { data() {}, end() {}, abort() {} };

/** Resolves when `stream` can take more bytes; rejects when it closes first. */
/** Resolves when `stream` can take more bytes; rejects when it closes first, or takes nothing for `stallMs`. */
function writable(stream: Duplex, stallMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('connection closed during download'));
    const timer = setTimeout(() => done(new Error(`the downloader took no bytes in ${Math.round(stallMs / 1000)} s`)), stallMs);
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

export class Session implements Member, Flushable, LineDecoderEvents {
  /** Empty until the client says hello or joins. */
  nick = '';
  /** Set on a connection attached to another user's session (file transfers beside the chat): it acts for them. */
  owner: ActingUser | null = null;
  /** The capability another connection presents to attach to this one; given out in `welcome`. */
  attachToken = '';
  /** The account this connection is logged in as (register or login), or null: a guest. */
  account: Account | null = null;
  /** The sha256 of the token this connection logged in with (or was given), revoked by a plain `logout`. */
  loginTokenHash: string | null = null;
  /**
   * What a guest's private files belong to: this connection alone, never a later holder of its nick. Its principal
   * (`g:<random key>`), made once: every room message asks for it.
   */
  private ownGuestPrincipal = '';
  /** Rooms this connection is in (canonical names). */
  readonly rooms = new RoomNames();
  closed = false;
  readonly connectedAt = Date.now();
  lastInputAt = this.connectedAt;
  pingSentAt = 0;
  /** When the line now arriving began; 0 between lines. A line must end within --line-timeout. */
  lineStartedAt = 0;
  /** Lines received, valid or not: a connection that sends none is closed after --first-line-timeout. */
  linesSeen = 0;

  private readonly decoder: LineDecoder;
  private readonly bucket: TokenBucket;
  private rejectedInARow = 0;
  private pending: Buffer[] = NOTHING_OWED;
  /** Parts in `pending` (the list is made at the size of the last pass's, so its length may be larger). */
  private pendingCount = 0;
  private pendingBytes = 0;
  /** Parts written in this connection's last flush: the size its next list is made at (PENDING_HINT_MAX at most). */
  private lastFlushParts = 0;
  /** Whether `pending` holds a reply of this connection's own (send), which no other member is owed. */
  private ownPending = false;
  /** The room news this connection takes lazily (at most one room's: the order between two would be lost). */
  private news: RoomNews | null = null;
  /** Parts of `news` already owed (in `pending`) or written. */
  private newsTaken = 0;
  /** Whether a flush pass is due for this connection: this turn's, the next presence pass, or none. */
  private flushMarked = FLUSH_NONE;
  private inputEnded = false;
  /** Reasons to stop reading: asynchronous work on earlier input (files), and output the peer is not taking. */
  private inputHolds = 0;
  private outputBlocked = false;
  /** Set while the lines already read wait for a large output to leave (holdWhileOwing). */
  private owingHold: (() => void) | null = null;
  /** Replies still owed for pipelined requests (room messages on a cluster): the end of input waits for them. */
  private owed = 0;
  private owedHold: (() => void) | null = null;
  /** File bytes are going out: queued lines wait so they cannot land inside the bytes. */
  private sendingFileBytes = false;

  constructor(
    readonly id: number,
    readonly stream: Duplex,
    readonly host: SessionHost,
    /** Where it comes from, when the stream cannot say (remoteOf): kept only then. */
    private readonly remoteName: string | undefined,
    /** The limits this connection shares with the others from its address. */
    readonly address: AddressLimits,
  ) {
    const { config } = host;
    this.bucket = new TokenBucket(config.rateLimit, config.rateBurst);
    this.decoder = new LineDecoder(config.maxLineBytes, this);
    (stream as SessionStream)[kSession] = this;
    stream.on('data', streamOnData);
    stream.on('end', streamOnEnd);
    stream.on('error', streamOnError);
    stream.on('close', streamOnClose);
    stream.on('drain', streamOnDrain);
  }

  /** Where it comes from, for the log: `address:port`, or what the gateway or door that made it said. */
  get remote(): string {
    return this.remoteName ?? remoteOf(this.stream);
  }

  /** The guest principal this connection has had, if any (its private conversations end with it). */
  get guestPrincipal(): string | null {
    return this.ownGuestPrincipal || null;
  }

  /** Who owns what this connection receives and sends in private (state/principals.ts). */
  get principal(): string {
    if (this.owner) return this.owner.principal;
    if (this.account) return accountPrincipal(this.account.id);
    return (this.ownGuestPrincipal ||= guestPrincipal(randomKey()));
  }

  // ---- output: the one write path ----

  /** `presence`: news of others (joins, leaves, nicks) that may wait for the next presence pass (flush-scheduler.ts). */
  deliver(bytes: Buffer, presence = false): void {
    if (this.closed) return;
    // What the room's news holds for this connection came before these bytes.
    if (this.news !== null) this.takeNews(true);
    if (this.owes(bytes.length, presence ? FLUSH_LATER : FLUSH_NOW)) this.push(bytes);
  }

  /**
   * Count `bytes` more as owed, and have this connection flushed by `due` (or sooner); false when that is more than
   * --sendq allows (the connection is cut off). `due` FLUSH_NONE: it is being flushed.
   */
  private owes(bytes: number, due: number): boolean {
    // Every byte owed counts, also what this very turn queued: a client that asks for more than it reads
    // (many history pages in one burst, say) is cut off before the server holds megabytes for it.
    const unsent = this.stream.writableLength + this.pendingBytes + bytes;
    if (unsent > this.host.config.sendqBytes) {
      this.host.log.warn({ conn: this.id, nick: this.nick, unsent }, 'client not reading: sendq exceeded');
      this.abort(ByeCode.sendq_exceeded, `more than ${this.host.config.sendqBytes} bytes of output were waiting`);
      return false;
    }
    if (due > this.flushMarked) {
      if (due === FLUSH_NOW) this.host.flushScheduler.mark(this);
      else if (this.flushMarked === FLUSH_NONE) this.host.flushScheduler.markPresence(this);
      this.flushMarked = due;
    }
    return true;
  }

  private push(bytes: Buffer): void {
    // A member of a busy room is owed about as many parts in each pass as in the last: a list grown from empty by
    // push() was three times that size in copies, a fifth of all the garbage of a fan-out to 20 (bench/README.md,
    // "Server CPU per message, round 4").
    if (this.pending === NOTHING_OWED) this.pending = this.lastFlushParts > 1 ? new Array<Buffer>(this.lastFlushParts) : [];
    this.pending[this.pendingCount++] = bytes;
    this.pendingBytes += bytes.length;
  }

  // ---- the news of one room (state/room-news.ts), taken lazily ----

  follow(news: RoomNews): boolean {
    if (this.news !== null) return false;
    this.news = news;
    this.newsTaken = news.parts.length;
    return true;
  }

  unfollow(news: RoomNews): void {
    if (this.news !== news) return;
    this.takeNews(true);
    this.news = null;
  }

  schedulePass(news: RoomNews): void {
    this.host.flushScheduler.markPresence(news);
  }

  /** Owe what the news this connection follows got since it last looked; `mark`: have it flushed for that. */
  private takeNews(mark: boolean): void {
    const news = this.news!;
    const from = this.newsTaken;
    if (from >= news.parts.length || this.closed) return;
    this.newsTaken = news.parts.length;
    if (!this.owes(news.bytesFrom(from), mark ? FLUSH_LATER : FLUSH_NONE)) return;
    for (const part of news.taken(from)) this.push(part);
  }

  send(message: ServerMessage): void {
    this.deliver(encode(message));
    this.ownPending = true;
  }

  reply(id: RequestId | undefined, message: ServerMessage): void {
    this.send(id === undefined ? message : ({ ...message, id } as ServerMessage));
  }

  error(code: ErrorCode, message: string, id?: RequestId): void {
    this.send(id === undefined ? { type: 'error', code, message } : { type: 'error', code, message, id });
  }

  flush(): void {
    this.flushMarked = FLUSH_NONE;
    if (this.news !== null) this.takeNews(false);
    if (this.pendingBytes === 0 || this.stream.destroyed || this.sendingFileBytes) return;
    const parts = this.pending;
    if (parts.length !== this.pendingCount) parts.length = this.pendingCount; // the slots left unused
    this.lastFlushParts = Math.min(this.pendingCount, PENDING_HINT_MAX);
    const bytes = this.pendingBytes;
    const own = this.ownPending;
    this.pending = NOTHING_OWED;
    this.pendingCount = 0;
    this.pendingBytes = 0;
    this.ownPending = false;
    if (!this.host.flushScheduler.write(this.stream, parts, bytes, own) && !this.closed) {
      // The peer is not keeping up with what we owe it: stop reading what it sends until it catches up.
      this.outputBlocked = true;
      this.updateReading();
    } else {
      this.stopOwing();
    }
  }

  onDrain(): void {
    this.outputBlocked = false;
    this.updateReading();
    this.stopOwing();
  }

  /**
   * Already owed a quarter of --sendq (the answers to a burst of requests): handle no more of its lines until that
   * has left. A client that reads is slowed down, never cut off; one that does not read stops being served.
   */
  private holdWhileOwing(): void {
    if (this.owingHold || this.closed) return;
    if (this.pendingBytes + this.stream.writableLength <= this.host.config.sendqBytes / 4) return;
    this.owingHold = this.holdInput();
  }

  private stopOwing(): void {
    const release = this.owingHold;
    this.owingHold = null;
    release?.();
  }

  private updateReading(): void {
    if (this.closed) return;
    if (this.inputHolds > 0 || this.outputBlocked) this.stream.pause();
    else if (!this.inputEnded) this.stream.resume();
  }

  /**
   * Write `length` bytes of the file at `path` from `start`, right after what is queued (a download).
   * Lines sent meanwhile wait, so they cannot land inside the bytes.
   */
  async sendFileBytes(path: string, start: number, length: number): Promise<void> {
    this.flush();
    if (length === 0) return;
    this.sendingFileBytes = true;
    try {
      // Small chunks: what a downloader that stops reading holds here is a chunk read ahead and one unsent.
      const source = createReadStream(path, { start, end: start + length - 1, highWaterMark: DOWNLOAD_CHUNK });
      const stallMs = this.host.config.pingTimeoutMs || DOWNLOAD_STALL_MS;
      try {
        for await (const chunk of source) {
          if (this.stream.destroyed) throw new Error('connection closed during download');
          if (!this.stream.write(chunk)) await writable(this.stream, stallMs);
        }
      } finally {
        source.destroy();
      }
    } finally {
      this.sendingFileBytes = false;
      this.flush();
    }
  }

  /** Stop handling input until the returned function is called (an upload is being stored, a download sent). */
  holdInput(): () => void {
    this.inputHolds++;
    this.decoder.pause();
    this.updateReading();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.inputHolds === 0) this.decoder.resume();
      this.updateReading();
      this.closeIfInputDone();
    };
  }

  /** A reply that will come later (a pipelined request): input goes on, but its end waits for the reply. */
  owe(reply: Promise<unknown>): void {
    // Past a window of replies owed, wait for some before reading more: what comes back at once stays bounded.
    if (++this.owed >= OWED_WINDOW && !this.owedHold) this.owedHold = this.holdInput();
    const settled = () => {
      if (--this.owed < OWED_WINDOW && this.owedHold) {
        const release = this.owedHold;
        this.owedHold = null;
        release();
      }
      this.closeIfInputDone();
    };
    reply.then(settled, settled);
  }

  /** The peer has finished sending and everything it sent is answered: close. */
  private closeIfInputDone(): void {
    if (this.inputEnded && !this.closed && !this.decoder.isPaused && this.owed === 0) this.close(ByeCode.quit, 'end of input');
  }

  /** Hand the next `length` bytes of input to `sink` (the body of an upload). */
  takeRaw(length: number, sink: RawSink): void {
    this.decoder.takeRaw(length, sink);
  }

  // ---- input ----

  onData(chunk: Buffer): void {
    const now = Date.now();
    this.lastInputAt = now;
    this.pingSentAt = 0;
    const linesBefore = this.linesSeen;
    this.decoder.push(chunk);
    this.host.flushScheduler.readLines(this.linesSeen - linesBefore);
    // A line that began in an earlier chunk keeps its start; one that began in this chunk starts now.
    if (!this.decoder.midLine) this.lineStartedAt = 0;
    else if (this.lineStartedAt === 0 || this.linesSeen !== linesBefore) this.lineStartedAt = now;
  }

  // LineDecoderEvents: what the decoder makes of the bytes.
  line(text: string): void {
    this.onLine(text);
  }

  // Flood control counts every line, whatever it holds: bad ones cost the server a reply too.
  invalidUtf8(): void {
    if (this.admitLine()) this.error(ErrorCode.bad_json, 'the line is not valid UTF-8; send UTF-8 JSON text');
  }

  tooLong(): void {
    if (!this.admitLine()) return;
    this.error(ErrorCode.line_too_long, `a line may have at most ${this.host.config.maxLineBytes} bytes; it was dropped up to the next newline`);
  }

  blank(): void {
    this.admitLine();
  }

  /**
   * Count a line against this connection's rate and its address's. False when over either: the line is refused
   * with rate_limited, and too many refused in a row cut the connection off as a flood.
   */
  private admitLine(): boolean {
    if (this.closed) return false;
    this.linesSeen++;
    if (this.host.config.rateLimit <= 0 || (this.bucket.take() && this.address.takeLine())) {
      this.rejectedInARow = 0;
      return true;
    }
    const { floodKick, rateLimit } = this.host.config;
    if (++this.rejectedInARow >= floodKick) {
      this.address.flooded();
      this.host.log.warn({ conn: this.id, nick: this.nick || undefined, address: this.address.key }, 'flooding: cut off');
      this.close(ByeCode.flood, 'flooding: too many lines over the rate limit');
    } else {
      this.error(ErrorCode.rate_limited, `too many lines; at most ${rateLimit} a second`);
    }
    return false;
  }

  private onLine(text: string): void {
    if (!this.admitLine()) {
      if (!this.closed) this.skipBytesOf(text); // a refused upload header is still followed by its bytes
      return;
    }
    let message: ClientMessage;
    try {
      message = this.host.parser.parse(text);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.error(error.code, error.message, error.id);
      if (error.followingBytes !== undefined) this.skipRaw(error.followingBytes);
      return;
    }
    try {
      this.host.handle(this, message);
    } catch (error) {
      this.failed(message, error);
    }
    this.holdWhileOwing();
  }

  /** A request the server could not carry out: the client is told, the server goes on. */
  failed(message: ClientMessage, error: unknown): void {
    if (error instanceof ProtocolError) {
      this.error(error.code, error.message, error.id ?? message.id);
      return;
    }
    this.host.log.error({ conn: this.id, type: message.type, err: String(error) }, 'request failed');
    this.error(ErrorCode.unavailable, 'the server could not do that just now; try again later', message.id);
    // An upload's bytes may follow, unread: the stream cannot be followed any more.
    if (message.type === 'upload') this.close(ByeCode.protocol, 'the upload could not be taken; reconnect');
  }

  /** Skip the raw bytes a refused upload header announced, so they are not read as lines. */
  skipRaw(length: number | 'unknown'): void {
    if (length === 'unknown' || length > this.host.config.maxFileBytes) {
      this.close(ByeCode.protocol, 'an upload header whose bytes cannot be skipped; reconnect');
    } else {
      this.decoder.takeRaw(length, DISCARD);
    }
  }

  private skipBytesOf(line: string): void {
    try {
      const message = this.host.parser.parse(line);
      if (message.type === 'upload') this.skipRaw(message.size - (message.offset ?? 0));
    } catch (error) {
      if (error instanceof ProtocolError && error.followingBytes !== undefined) this.skipRaw(error.followingBytes);
    }
  }

  onEnd(): void {
    // Half-close (`nc -N`): every complete line has been handled; answer, then close our side.
    this.inputEnded = true;
    this.decoder.end();
    this.closeIfInputDone();
  }

  // ---- the one close path ----

  /** Leave every room, say `bye` (unless the socket is gone), flush and end. Idempotent. */
  close(code: ByeCode | null, reason: string): void {
    if (this.closed) return;
    if (code && !this.stream.destroyed) this.send({ type: 'bye', code, reason });
    this.closed = true;
    this.decoder.discard();
    this.host.forget(this, code === ByeCode.quit || code === null ? reason : `${code}: ${reason}`);
    this.flush();
    if (!this.stream.destroyed) this.stream.end();
    this.stream.resume(); // drain whatever the peer still sends so that 'close' can come
    // A peer that never closes its side would hold the socket forever.
    setTimeout(() => this.stream.destroy(), LINGER_MS).unref();
  }

  /** Cut off a client that is not reading: nothing more is queued for it. */
  abort(code: ByeCode, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.discard();
    this.pending = [];
    this.pendingCount = 0;
    this.pendingBytes = 0;
    this.host.forget(this, `${code}: ${reason}`);
    this.stream.destroy();
  }
}
