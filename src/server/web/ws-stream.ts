// One WebSocket as the Duplex byte stream a Session reads and writes (docs/protocol.md "WebSocket"), so a browser
// goes through handleConnection like any TCP client: the same rules, limits, accounts and files.
// In: a text frame is one line (its line breaks, which JSON allows only as white space, become spaces, so a frame
// can never be two lines); a binary frame is raw bytes (an upload's body).
// Out: each line the server writes becomes one text frame; the `length` bytes after a `file_data` line, binary frames.

import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';

const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class WebSocketStream extends Duplex {
  /** The browser's address: what the per-address limits count. */
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** Served over https/wss: the session counts as TLS (--plain loopback lets it in). */
  readonly encrypted: boolean;
  /** Output written but not yet framed: the start of a line. */
  private unframed: Buffer = Buffer.alloc(0);
  /** Bytes still owed to binary frames after a `file_data` header. */
  private rawLeft = 0;

  constructor(
    private readonly socket: WebSocket,
    request: IncomingMessage,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = request.socket.remoteAddress;
    this.remotePort = request.socket.remotePort;
    this.encrypted = Boolean((request.socket as { encrypted?: boolean }).encrypted);
    socket.on('message', (data: RawData, isBinary: boolean) => this.socketOnMessage(asBuffer(data), isBinary));
    socket.on('close', () => {
      this.push(null);
      if (!this.writableFinished) this.destroy();
    });
    socket.on('error', (error) => this.destroy(error));
  }

  private socketOnMessage(data: Buffer, isBinary: boolean): void {
    let bytes = data;
    if (!isBinary) {
      if (data.length === 0) return;
      bytes = Buffer.allocUnsafe(data.length + 1);
      for (let i = 0; i < data.length; i++) {
        const byte = data[i]!;
        bytes[i] = byte === NEWLINE || byte === RETURN ? SPACE : byte;
      }
      bytes[data.length] = NEWLINE;
    }
    // The session is not keeping up (or holds its input during a download): stop reading frames.
    if (!this.push(bytes)) this.socket.pause();
  }

  override _read(): void {
    if (this.socket.isPaused) this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.socket.readyState !== WebSocket.OPEN) return done(new Error('the WebSocket is closed'));
    const frames: { data: Buffer | string; binary: boolean }[] = [];
    let bytes = this.unframed.length > 0 ? Buffer.concat([this.unframed, chunk]) : chunk;
    while (bytes.length > 0) {
      if (this.rawLeft > 0) {
        const take = Math.min(this.rawLeft, bytes.length);
        frames.push({ data: bytes.subarray(0, take), binary: true });
        this.rawLeft -= take;
        bytes = bytes.subarray(take);
        continue;
      }
      const end = bytes.indexOf(NEWLINE);
      if (end === -1) break;
      const line = bytes.toString('utf8', 0, end);
      bytes = bytes.subarray(end + 1);
      frames.push({ data: line, binary: false });
      this.rawLeft = bytesAfter(line);
    }
    this.unframed = Buffer.from(bytes);
    if (frames.length === 0) return done();
    // Done once the last frame is handed to the socket: the session's sendq sees what the browser has not taken.
    frames.forEach(({ data, binary }, i) => {
      this.socket.send(data, { binary }, i === frames.length - 1 ? (error) => done(error ?? null) : undefined);
    });
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.terminate();
    done(error);
  }
}

/** How many raw bytes follow this line from the server: a `file_data` header's `length`, else none. */
function bytesAfter(line: string): number {
  if (!line.startsWith('{"type":"file_data"')) return 0;
  const { length } = JSON.parse(line) as { length?: unknown };
  return typeof length === 'number' && length > 0 ? length : 0;
}
