// One TCP connection to a chat-server, for chat and for file transfers alike: lines framed by the protocol's
// LineDecoder, requests matched to replies by id, and a file's raw bytes both ways (docs/protocol.md "Files").

import { t } from '../text/i18n/index.js';
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
import { checkServer, connectTls, describeTlsFailure, type TlsSettings } from './tls.js';

/** Far above any server line (the server caps client lines at 64 KiB; a history page is larger). */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 10_000;
/** A download that receives no byte for this long fails instead of hanging. */
const RAW_STALL_TIMEOUT_MS = 30_000;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Request = DistributiveOmit<ClientMessage, 'id'>;

export interface ConnectionHandlers {
  /** Every server message, with its raw line (replies to requests too). */
  message?(message: ServerMessage, line: string): void;
  /** Called once, when the socket is gone. */
  close?(reason: string): void;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Also settle on an `error` without an id: on a transfer's connection that is the server's last word. */
  unaddressedErrors?: boolean;
}

interface Waiter {
  match(message: ServerMessage): boolean;
  resolve(message: ServerMessage): void;
  reject(error: Error): void;
}

export class Connection {
  closed = false;
  private readonly decoder: LineDecoder;
  private nextId = 1;
  private readonly waiters = new Set<Waiter>();
  private closeReason = t('conn.closed');

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

  /**
   * Connect (over TLS with `tls`: the server's certificate checked before anything is sent), or fail with a
   * ClientError that says which host:port and how to start a server.
   */
  static connect(host: string, port: number, handlers: ConnectionHandlers = {}, tls?: TlsSettings): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = tls ? connectTls(host, port, tls) : net.connect({ host, port });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
      const onError = (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const failure = tls && describeTlsFailure(host, port, error, tls);
        reject(failure || new ClientError('connect_failed', describeConnectError(host, port, error), { cause: error }));
      };
      socket.once('error', onError);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        try {
          if (tls) checkServer(socket as ReturnType<typeof connectTls>, host, port, tls);
        } catch (error) {
          socket.destroy();
          return reject(error);
        }
        resolve(new Connection(socket, handlers));
      });
    });
  }

  send(message: ClientMessage): void {
    if (this.closed) return;
    this.socket.write(encodeLine(message));
  }

  /** Send with a fresh id; resolves with the reply that carries it (an `error` reply too). */
  request(message: Request, { timeoutMs = REQUEST_TIMEOUT_MS, unaddressedErrors = false }: RequestOptions = {}): Promise<ServerMessage> {
    if (this.closed) return Promise.reject(new ClientError('connection_lost', t('conn.notConnected', { reason: this.closeReason })));
    const id = this.nextId++;
    const reply = new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new ClientError('timeout', t('conn.noReply', { type: message.type, seconds: timeoutMs / 1000 })));
      }, timeoutMs);
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        match: (m) => (m as { id?: RequestId }).id === id || (unaddressedErrors && m.type === 'error' && m.id === undefined),
        resolve: (m) => (settle(), resolve(m)),
        reject: (e) => (settle(), reject(e)),
      };
      this.waiters.add(waiter);
    });
    this.send({ ...message, id } as ClientMessage);
    return reply;
  }

  /**
   * Hand the next `length` raw bytes (a download's body, after its `file_data` header) to `data`; resolves when all
   * arrived. Fails when the connection goes, or when nothing arrives for `stallTimeoutMs` while we are reading.
   */
  receiveRaw(length: number, data: (chunk: Buffer) => void, stallTimeoutMs = RAW_STALL_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ClientError('connection_lost', this.closeReason));
      let arrived = 0;
      let seen = 0;
      const watchdog = setInterval(() => {
        // Our own pause (a slow disk) is not a stall.
        if (arrived === seen && !this.socket.isPaused()) {
          this.closeReason = t('conn.stalled', { seconds: stallTimeoutMs / 1000 });
          this.socket.destroy();
        }
        seen = arrived;
      }, stallTimeoutMs);
      this.decoder.takeRaw(length, {
        data: (chunk) => {
          arrived += chunk.length;
          data(chunk);
        },
        end: () => {
          clearInterval(watchdog);
          resolve();
        },
        abort: () => {
          clearInterval(watchdog);
          reject(new ClientError('connection_lost', t('conn.lost', { reason: this.closeReason })));
        },
      });
      this.decoder.resume();
    });
  }

  /** Raw bytes (an upload's body). Resolves at once, or once the socket has room again when its buffer is full. */
  async sendRaw(chunk: Buffer): Promise<void> {
    if (this.closed) throw new ClientError('connection_lost', t('conn.lost', { reason: this.closeReason }));
    if (this.socket.write(chunk)) return;
    // Both listeners go when either fires: one pair per full buffer would pile up (and warn) on a long upload.
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(new ClientError('connection_lost', t('conn.lostUpload')));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /** Stop reading from the socket while what it sent cannot be written out (a download into a slow sink). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Close after what was sent (a finished transfer). */
  end(): void {
    if (!this.closed) this.socket.end();
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
    // A file's bytes may follow in this very chunk: hold them until receiveRaw() is ready to take them.
    if (message.type === 'file_data' && message.length > 0) this.decoder.pause();
    this.handlers.message?.(message, line);
    for (const waiter of [...this.waiters]) if (waiter.match(message)) waiter.resolve(message);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.discard();
    for (const waiter of [...this.waiters]) {
      waiter.reject(new ClientError('connection_lost', t('conn.lost', { reason: this.closeReason })));
    }
    this.handlers.close?.(this.closeReason);
  }
}
