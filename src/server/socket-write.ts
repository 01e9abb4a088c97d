// Bytes for a plain TCP socket with nothing queued go straight to its file descriptor: the same write(2) (writev)
// that socket.write() makes first, without Node's stream machinery around each write (a WriteWrap, the write
// callbacks, the after-write tick), which cost ~1 µs per write: a tenth of the server's time when every message
// goes to 10 members on its own (bench/README.md, "Server CPU per message, round 3"). Whatever the kernel does not
// take at once (a slow reader) goes through the stream as before, after what was written, so order and
// backpressure ('drain', writableLength) are the stream's.

import { writeSync, writevSync } from 'node:fs';
import type { Writable } from 'node:stream';

const kFd = Symbol('fd');

/** What is read of a net.Socket: its handle's descriptor (a TCP handle has one; TLS, WebSocket streams do not). */
interface MaybeSocket {
  _handle?: { fd?: unknown } | null;
  encrypted?: boolean;
  /** The handle's descriptor, read once (the getter is a call into C++, ~1% of a fan-out over small rooms). */
  [kFd]?: number;
}

/**
 * The socket's descriptor when a write to it now would come right after everything written before; else -1. Never
 * once it is destroyed: its descriptor is closed then, and the number may belong to another connection.
 */
function directFd(stream: Writable): number {
  if (stream.writableLength !== 0 || stream.writableCorked !== 0 || stream.writableEnded || stream.destroyed) return -1;
  const socket = stream as Writable & MaybeSocket;
  if (!socket._handle || socket.encrypted) return -1;
  let fd = socket[kFd];
  if (fd === undefined) {
    const handleFd = socket._handle.fd;
    socket[kFd] = fd = typeof handleFd === 'number' && handleFd >= 0 ? handleFd : -1;
  }
  return fd;
}

/** Bytes the kernel took (0 when it took none: full, or an error the stream will report itself). */
function tryWrite(fd: number, bytes: Buffer | Buffer[]): number {
  try {
    return Array.isArray(bytes) ? writevSync(fd, bytes) : writeSync(fd, bytes);
  } catch {
    return 0;
  }
}

/** Write `bytes`; false when the stream holds some of them (as stream.write returns). */
export function writeBytes(stream: Writable, bytes: Buffer): boolean {
  const fd = directFd(stream);
  const written = fd === -1 ? 0 : tryWrite(fd, bytes);
  if (written === bytes.length) return true;
  return stream.write(written === 0 ? bytes : bytes.subarray(written));
}

/** Write `parts` in order (one writev); false when the stream holds some of them. */
export function writeParts(stream: Writable, parts: Buffer[], totalBytes: number): boolean {
  const fd = directFd(stream);
  const written = fd === -1 ? 0 : tryWrite(fd, parts);
  if (written === totalBytes) return true;
  if (written > 0) return stream.write(Buffer.concat(parts, totalBytes).subarray(written));
  stream.cork();
  let ok = true;
  for (const part of parts) ok = stream.write(part);
  stream.uncork();
  return ok;
}
