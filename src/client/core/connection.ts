// One TCP connection to a chat-server: framing with the protocol's LineDecoder, requests matched to replies by id.

import net from 'node:net';
import {
  decodeServerLine,
  encodeLine,
  LineDecoder,
  type ClientMessage,
  type RequestId,
  type ServerMessage,
} from '../../protocol/index.js';
import { describeConnectError } from '../text/wording.js';
import { ClientError } from './errors.js';

/** Far above any server line (the server caps client lines at 64 KiB; a history page is larger). */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 10_000;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Request = DistributiveOmit<ClientMessage, 'id'>;

export interface ConnectionHandlers {
  /** Every server message, with its raw line (replies to requests too). */
  message(message: ServerMessage, line: string): void;
  /** Called once, when the socket is gone. */
  close(reason: string): void;
}

export class Connection {
  closed = false;
  private readonly decoder: LineDecoder;
  private nextId = 1;
  private readonly waiting = new Map<RequestId, { resolve(m: ServerMessage): void; reject(e: Error): void }>();
  private closeReason = 'connection closed';

  private constructor(
    private readonly socket: net.Socket,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.decoder = new LineDecoder(MAX_LINE_BYTES, {
      line: (line) => this.onLine(line),
      invalidUtf8: () => {},
      tooLong: () => {},
    });
    socket.setNoDelay(true);
    // A peer that vanished without a FIN (laptop lid, dropped Wi-Fi) is noticed, and reconnected to, in about a minute.
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('end', () => {
      this.decoder.end();
      socket.end();
    });
    socket.on('error', (error) => {
      this.closeReason = error.message;
    });
    socket.on('close', () => this.onClose());
  }

  /** Connect, or fail with a ClientError that says which host:port and how to start a server. */
  static connect(host: string, port: number, handlers: ConnectionHandlers): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
      const onError = (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ClientError('connect_failed', describeConnectError(host, port, error), { cause: error }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new Connection(socket, handlers));
      });
    });
  }

  send(message: ClientMessage): void {
    if (this.closed) return;
    this.socket.write(encodeLine(message));
  }

  /** Send with a fresh id; resolves with the reply that carries it (an `error` reply too). */
  request(message: Request, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ServerMessage> {
    if (this.closed) return Promise.reject(new ClientError('connection_lost', `not connected (${this.closeReason})`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ClientError('timeout', `no reply from the server to ${message.type} in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, clearingTimer(timer, resolve, reject));
      this.send({ ...message, id } as ClientMessage);
    });
  }

  /** Say goodbye and close; resolves when the socket is closed (or after a short grace). */
  quit(reason?: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.send(reason ? { type: 'quit', reason } : { type: 'quit' });
    this.socket.end();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 1000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onLine(line: string): void {
    const message = decodeServerLine(line);
    if (!message) return;
    if (message.type === 'bye') this.closeReason = message.reason;
    this.handlers.message(message, line);
    const id = (message as { id?: RequestId }).id;
    if (id !== undefined) {
      const waiter = this.waiting.get(id);
      if (waiter) {
        this.waiting.delete(id);
        waiter.resolve(message);
      }
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiting.values()) {
      waiter.reject(new ClientError('connection_lost', `the connection was lost (${this.closeReason})`));
    }
    this.waiting.clear();
    this.handlers.close(this.closeReason);
  }
}

/** A pending reply's two ways out, each of which first stops its timeout. */
export function clearingTimer<T>(
  timer: NodeJS.Timeout,
  resolve: (value: T) => void,
  reject: (error: Error) => void,
): { resolve(value: T): void; reject(error: Error): void } {
  return {
    resolve: (value) => {
      clearTimeout(timer);
      resolve(value);
    },
    reject: (error) => {
      clearTimeout(timer);
      reject(error);
    },
  };
}
