// File transfers on a connection of their own (so chat goes on meanwhile): upload with automatic resume,
// download with resume, both verified by sha256 (docs/protocol.md "Files").

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import {
  decodeServerLine,
  encodeLine,
  LineDecoder,
  type ClientMessage,
  type FileDataEvent,
  type ServerMessage,
} from '../../../protocol/index.js';
import { clearingTimer } from '../connection.js';
import { ClientError } from '../errors.js';
import { describeConnectError, describeError } from '../../text/wording.js';
import { availablePath, safeFileName } from './safe-name.js';

const REPLY_TIMEOUT_MS = 30_000;

/**
 * Who the transfer acts for: a nick (with the room to join for a room upload), or a chat session's attach token.
 * `guestIfTaken`: when the nick is in use (the user's own chat is open), go on as a guest (room files need no nick).
 */
export type Identity = { nick: string; join?: string; guestIfTaken?: boolean } | { token: string };

export interface Endpoint {
  host: string;
  port: number;
}

export interface Progress {
  done: number;
  total: number;
}

type Pending = { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void; reject: (e: Error) => void };

/** One connection that can send lines and raw bytes, and read lines and raw bytes. */
class TransferConnection {
  private readonly decoder: LineDecoder;
  private pending: Pending | null = null;
  private closed = false;
  private closeReason = 'the connection was closed';
  private nextId = 1;

  private constructor(readonly socket: net.Socket) {
    this.decoder = new LineDecoder(16 * 1024 * 1024, {
      line: (line) => this.onLine(line),
      invalidUtf8: () => {},
      tooLong: () => {},
    });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('error', (error) => (this.closeReason = error.message));
    socket.on('close', () => {
      this.closed = true;
      this.decoder.discard();
      this.pending?.reject(new ClientError('connection_lost', `the connection was lost (${this.closeReason})`));
      this.pending = null;
    });
  }

  static connect({ host, port }: Endpoint): Promise<TransferConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('error', (error: NodeJS.ErrnoException) =>
        reject(new ClientError('connect_failed', describeConnectError(host, port, error), { cause: error })),
      );
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new TransferConnection(socket));
      });
    });
  }

  send(message: ClientMessage): void {
    this.socket.write(encodeLine(message));
  }

  /** Send `message` with an id; resolve with the first reply carrying it, or an error. */
  async request(message: ClientMessage): Promise<ServerMessage> {
    const id = this.nextId++;
    const reply = this.waitFor((m) => (m as { id?: unknown }).id === id);
    this.send({ ...message, id } as ClientMessage);
    return reply;
  }

  waitFor(match: (m: ServerMessage) => boolean, timeoutMs = REPLY_TIMEOUT_MS): Promise<ServerMessage> {
    if (this.closed) return Promise.reject(new ClientError('connection_lost', this.closeReason));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClientError('timeout', 'no reply from the server')), timeoutMs);
      this.pending = { match, ...clearingTimer(timer, resolve, reject) };
    });
  }

  /** Hand the next `length` raw bytes to `data`; resolves when all arrived. */
  receiveRaw(length: number, data: (chunk: Buffer) => void, stallTimeoutMs = REPLY_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ClientError('connection_lost', this.closeReason));
      const onClose = () => {
        clearInterval(watchdog);
        reject(new ClientError('connection_lost', `the connection was lost (${this.closeReason})`));
      };
      // A server that stops sending mid-file ends the transfer instead of hanging it; our own pause is not a stall.
      let arrived = 0;
      let seen = 0;
      const watchdog = setInterval(() => {
        if (arrived === seen && !this.socket.isPaused()) {
          this.closeReason = `no data from the server for ${stallTimeoutMs / 1000} s`;
          this.socket.destroy();
        }
        seen = arrived;
      }, stallTimeoutMs);
      this.socket.once('close', onClose);
      this.decoder.takeRaw(length, {
        data: (chunk) => {
          arrived += chunk.length;
          data(chunk);
        },
        end: () => {
          clearInterval(watchdog);
          this.socket.off('close', onClose);
          resolve();
        },
        abort: () => {},
      });
      this.decoder.resume();
    });
  }

  private onLine(line: string): void {
    const message = decodeServerLine(line);
    if (!message) return;
    if (message.type === 'bye') this.closeReason = message.reason;
    // The file's bytes may follow in this very chunk: hold them until receiveRaw() is ready to take them.
    if (message.type === 'file_data' && message.length > 0) this.decoder.pause();
    const pending = this.pending;
    if (pending && (pending.match(message) || (message.type === 'error' && (message as { id?: unknown }).id === undefined))) {
      this.pending = null;
      pending.resolve(message);
    }
  }

  close(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function failOn(reply: ServerMessage, expected: ServerMessage['type']): void {
  if (reply.type === 'error') throw new ClientError('server_error', describeError(reply));
  if (reply.type !== expected) throw new ClientError('server_error', `unexpected reply from the server: ${reply.type}`);
}

async function identify(conn: TransferConnection, identity: Identity): Promise<void> {
  if ('token' in identity) {
    failOn(await conn.request({ type: 'attach', token: identity.token }), 'welcome');
    return;
  }
  let hello = await conn.request({ type: 'hello', nick: identity.nick });
  if (hello.type === 'error' && hello.code === 'nick_taken' && identity.guestIfTaken) {
    hello = await conn.request({ type: 'hello' });
  }
  if (hello.type === 'error' && hello.code === 'nick_taken') {
    throw new ClientError('nick_taken', `the nick ${identity.nick} is taken; choose another with --nick NAME or CHAT_NICK`);
  }
  failOn(hello, 'welcome');
  if (identity.join !== undefined) failOn(await conn.request({ type: 'join', room: identity.join }), 'members');
}

export function sha256OfFile(path: string, onProgress?: (done: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let done = 0;
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (chunk: Buffer | string) => {
        hash.update(chunk);
        done += chunk.length;
        onProgress?.(done);
      })
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

export interface UploadOptions {
  endpoint: Endpoint;
  identity: Identity;
  path: string;
  /** The name others see (default: the file's own name). */
  name: string;
  room?: string;
  to?: string;
  onProgress?: (progress: Progress) => void;
  /** Progress of reading the file for its sha256, before anything is sent. */
  onHashProgress?: (progress: Progress) => void;
  /** Aborting closes the transfer's connection (the chat client quitting). */
  signal?: AbortSignal;
}

export interface UploadResult {
  file: string;
  size: number;
  sha256: string;
  /** Bytes the server already had from an earlier, interrupted upload. */
  resumedFrom: number;
}

/** Upload a file; continues an interrupted upload of the same content where the server has it. */
export async function uploadFile(options: UploadOptions): Promise<UploadResult> {
  const size = statSync(options.path).size;
  const sha256 = await sha256OfFile(options.path, options.onHashProgress && ((done) => options.onHashProgress!({ done, total: size })));
  const conn = await TransferConnection.connect(options.endpoint);
  const stop = abortWith(conn, options.signal);
  try {
    await identify(conn, options.identity);
    const status = await conn.request({ type: 'upload_status', sha256, size });
    failOn(status, 'upload_status');
    const offset = status.type === 'upload_status' ? status.have : 0;
    const target = options.to !== undefined ? { to: options.to } : { room: options.room! };
    const id = `upload-${sha256.slice(0, 8)}`;
    const reply = conn.waitFor((m) => (m as { id?: unknown }).id === id, 10 * 60_000);
    conn.send({ type: 'upload', ...target, name: options.name, size, sha256, offset, id });
    await sendBytes(conn.socket, options.path, offset, size, options.onProgress);
    const ok = await reply;
    failOn(ok, 'ok');
    return { file: (ok as { file: string }).file, size, sha256, resumedFrom: offset };
  } finally {
    stop();
    conn.close();
  }
}

async function sendBytes(
  socket: net.Socket,
  path: string,
  offset: number,
  size: number,
  onProgress?: (progress: Progress) => void,
): Promise<void> {
  if (offset >= size) return;
  let done = offset;
  const source = createReadStream(path, { start: offset, highWaterMark: 256 * 1024 });
  for await (const chunk of source) {
    done += (chunk as Buffer).length;
    if (!socket.write(chunk)) {
      // Both listeners go when either fires: one pair per full buffer would pile up (and warn) on a long upload.
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          socket.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          socket.off('drain', onDrain);
          reject(new ClientError('connection_lost', 'the connection was lost during the upload'));
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    }
    onProgress?.({ done, total: size });
  }
}

export interface DownloadOptions {
  endpoint: Endpoint;
  identity: Identity;
  file: string;
  /** A directory to save into (under the file's own, made-safe name), a file path, or a Writable (stdout). */
  output: { dir: string } | { path: string } | { stream: Writable };
  /** Continue from a partial download (`<final name>.part`) left by an earlier attempt. */
  resume?: boolean;
  onProgress?: (progress: Progress) => void;
  /** Aborting closes the transfer's connection (the chat client quitting). */
  signal?: AbortSignal;
  /** A download that receives no byte for this long fails (default 30 s). */
  stallTimeoutMs?: number;
}

export interface DownloadResult {
  /** Where it was saved (undefined for a stream). */
  path?: string;
  name: string;
  size: number;
  sha256: string;
  resumedFrom: number;
}

/** Download a file: saved under a safe, new name, kept only when its sha256 matches. */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const conn = await TransferConnection.connect(options.endpoint);
  const stop = abortWith(conn, options.signal);
  try {
    await identify(conn, 'token' in options.identity ? options.identity : { nick: options.identity.nick, guestIfTaken: true });
    // Ask for the header alone first: the name decides where the bytes go, and a partial file where to resume.
    const info = await conn.request({ type: 'download', file: options.file, length: 0 });
    failOn(info, 'file_data');
    const meta = info as FileDataEvent;
    if ('stream' in options.output) return await downloadToStream(conn, meta, options.output.stream, options);
    const partial = partialPath(options.output, meta);
    const offset = options.resume ? existingSize(partial, meta.size) : 0;
    const header = await conn.request({ type: 'download', file: options.file, offset });
    failOn(header, 'file_data');
    const { length } = header as FileDataEvent;
    const sink = createWriteStream(partial, offset > 0 ? { flags: 'r+', start: offset } : { flags: 'w' });
    sink.on('drain', () => conn.socket.resume());
    let done = offset;
    try {
      await conn.receiveRaw(length, (chunk) => {
        done += chunk.length;
        if (!sink.write(chunk)) conn.socket.pause();
        options.onProgress?.({ done, total: meta.size });
      }, options.stallTimeoutMs);
    } finally {
      await closeStream(sink); // what arrived stays in the .part file, for --continue
    }
    const actual = await sha256OfFile(partial);
    if (actual !== meta.sha256) {
      rmSync(partial, { force: true });
      throw new ClientError('server_error', `the download does not match its sha256 (${actual}); nothing was kept`);
    }
    const finalPath =
      'dir' in options.output
        ? availablePath(options.output.dir, safeFileName(meta.name))
        : availablePath(dirname(options.output.path), basename(options.output.path));
    renameSync(partial, finalPath);
    return { path: finalPath, name: meta.name, size: meta.size, sha256: meta.sha256, resumedFrom: offset };
  } finally {
    stop();
    conn.close();
  }
}

/** Destroy the connection when `signal` aborts; returns the function that stops listening. */
function abortWith(conn: TransferConnection, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = () => conn.destroy();
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Where an unfinished download of this file waits: beside its final place, named after the file and its id. */
function partialPath(output: { dir: string } | { path: string }, meta: FileDataEvent): string {
  const dir = 'dir' in output ? output.dir : dirname(output.path);
  return join(dir, `${safeFileName(meta.name)}.${meta.file.slice(0, 8)}.part`);
}

function existingSize(path: string, max: number): number {
  try {
    return Math.min(statSync(path).size, max);
  } catch {
    return 0;
  }
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

async function downloadToStream(
  conn: TransferConnection,
  meta: FileDataEvent,
  out: Writable,
  { onProgress, stallTimeoutMs }: Pick<DownloadOptions, 'onProgress' | 'stallTimeoutMs'>,
): Promise<DownloadResult> {
  const header = await conn.request({ type: 'download', file: meta.file });
  failOn(header, 'file_data');
  const hash = createHash('sha256');
  let done = 0;
  await conn.receiveRaw(meta.size, (chunk) => {
    hash.update(chunk);
    done += chunk.length;
    if (!out.write(chunk)) {
      conn.socket.pause();
      out.once('drain', () => conn.socket.resume());
    }
    onProgress?.({ done, total: meta.size });
  }, stallTimeoutMs);
  const actual = hash.digest('hex');
  if (actual !== meta.sha256) {
    throw new ClientError('server_error', `the bytes written do not match the file's sha256 (${actual})`);
  }
  return { name: meta.name, size: meta.size, sha256: meta.sha256, resumedFrom: 0 };
}
