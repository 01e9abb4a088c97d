// TLS and plain TCP on one port (docs/protocol.md "TLS"). The first byte a client sends tells them apart: 0x16
// opens a TLS handshake, while an NDJSON line starts with `{` or white space, and the server never speaks first.
// So `nc` keeps working on the port that serves TLS, and one port needs one firewall rule.
// Until its first byte and its handshake are through, a connection is no session yet, and waits at the door: a
// silent one as long as a session may stay silent (--first-line-timeout; it then gets the same `bye`), a TLS
// handshake --tls-handshake-timeout from its first byte (one that never completes holds a socket for nothing).
// A connection takes its place in its address's allowance (addresses.ts) as it reaches the door, and keeps it as
// a session: the same --max-per-address counts plain, TLS and WebSocket connections (and the web gateway's HTTP
// sockets) together, at the door or past it. One over the allowance still waits for its first byte, to be told why in words (plain or TLS); one
// address may have at most --max-per-address connections at the door, and all together --max-connections.

import net from 'node:net';
import tls from 'node:tls';
import { addressKey, type AddressBook, type Admission } from './addresses.js';
import { ByeCode, encode } from '../protocol/index.js';
import type { Logger } from './log.js';
import type { TlsMaterial } from './tls-cert.js';

/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;
/** How long a connection closed for silence may stay half-open while its peer reads the `bye`. */
const LINGER_MS = 2000;

export interface TlsDoorOptions {
  tls: TlsMaterial;
  /** How long a connection may stay without sending a byte; 0: no limit. */
  firstByteTimeoutMs: number;
  /** How long a TLS handshake may take from its first byte; 0: no limit. */
  handshakeTimeoutMs: number;
  /** Connections one address may have at the door at once; 0: no limit. */
  maxPerAddress: number;
  /** Connections at the door at once, from everywhere. */
  maxWaiting: number;
  log: Logger;
  /** The allowance of each address, shared with every other way in. */
  addresses: AddressBook;
  /**
   * A connection through the door: a TLSSocket once its handshake is done, or the plain socket, paused, its first
   * bytes put back. `admission` is its place in its address's allowance (the session takes it over), or the refusal.
   */
  enter(stream: net.Socket, remote: string, admission: Admission): void;
}

export type { Admission } from './addresses.js';

interface Waiting {
  socket: net.Socket;
  address: string;
  admission: Admission;
  timer: NodeJS.Timeout | undefined;
}

/** The longest a timer can wait: "no limit". */
const NEVER = 2 ** 31 - 1;

export class TlsDoor {
  private readonly tlsServer: tls.Server;
  /** Connections at the door, by `address:port` (a raw socket and its TLSSocket report the same). */
  private readonly waiting = new Map<string, Waiting>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly options: TlsDoorOptions) {
    const { cert, key } = options.tls;
    this.tlsServer = tls.createServer({ cert, key, minVersion: 'TLSv1.2', handshakeTimeout: options.handshakeTimeoutMs || NEVER });
    this.tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
      const id = `${socket.remoteAddress}:${socket.remotePort}`;
      if (!this.waiting.has(id)) return socket.destroy(); // timed out meanwhile
      const { admission } = this.through(id)!;
      options.enter(socket, id, admission);
    });
    this.tlsServer.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      options.log.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}`, err: error.message }, 'TLS handshake failed');
      socket.destroy();
    });
  }

  /** A new TCP connection: wait for its first byte, then hand it on as plain or as TLS. */
  admit(socket: net.Socket): void {
    const id = `${socket.remoteAddress}:${socket.remotePort}`;
    const address = addressKey(socket.remoteAddress);
    const count = this.perAddress.get(address) ?? 0;
    const { maxPerAddress, maxWaiting, firstByteTimeoutMs, log } = this.options;
    if ((maxPerAddress > 0 && count >= maxPerAddress) || this.waiting.size >= maxWaiting) {
      log.warn({ remote: id }, 'connection refused: too many connections before their first line or handshake');
      socket.destroy();
      return;
    }
    this.perAddress.set(address, count + 1);
    const limits = this.options.addresses.get(socket.remoteAddress);
    const refusal = limits.admit();
    const entry: Waiting = { socket, address, admission: refusal ? { refusal } : { limits }, timer: undefined };
    this.waiting.set(id, entry);
    // Silent: most likely someone at `nc` (a TLS client says hello at once), told as a session would tell them.
    entry.timer = setTimeout(() => {
      socket.off('data', onFirstData);
      const seconds = Math.round(firstByteTimeoutMs / 1000);
      socket.end(encode({ type: 'bye', code: ByeCode.timeout, reason: `nothing was said in ${seconds} s` }));
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    }, firstByteTimeoutMs || NEVER);
    entry.timer.unref();
    const onError = () => {};
    const onEnd = () => socket.destroy(); // closed before saying anything
    const onClose = () => this.through(id, socket);
    socket.on('error', onError);
    socket.once('end', onEnd);
    socket.once('close', onClose);
    const onFirstData = (chunk: Buffer) => {
      socket.off('data', onFirstData);
      socket.pause();
      socket.unshift(chunk);
      socket.off('end', onEnd);
      if (chunk[0] === TLS_HANDSHAKE) {
        // From here the TLS server's handshakeTimeout keeps time (tlsClientError).
        clearTimeout(entry.timer);
        this.tlsServer.emit('connection', socket);
        return;
      }
      socket.off('error', onError);
      socket.off('close', onClose);
      this.through(id);
      this.options.enter(socket, id, entry.admission);
    };
    socket.on('data', onFirstData);
  }

  /** Shutting down: close every connection still at the door. */
  close(): void {
    for (const { socket } of this.waiting.values()) socket.destroy();
  }

  /**
   * The connection left the door: through it (its place in the allowance goes with it), or closed (`socket`: the
   * place is given back). It no longer counts at the door. Idempotent.
   */
  private through(id: string, socket?: net.Socket): Waiting | undefined {
    const entry = this.waiting.get(id);
    // A raw socket closing after its TLS session ended is long through; `id` may be a newer connection's by then.
    if (!entry || (socket && entry.socket !== socket)) return undefined;
    this.waiting.delete(id);
    if (socket && 'limits' in entry.admission) entry.admission.limits.release();
    clearTimeout(entry.timer);
    const left = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(entry.address, left);
    else this.perAddress.delete(entry.address);
    return entry;
  }
}

export { isLoopback, plainRefusal } from './plain.js';
