// A raw WebSocket peer of the browser gateway (/ws): sends protocol objects as text frames (or bytes as binary
// frames) and awaits what comes back, one JSON object per text frame, binary frames kept apart.

import { WebSocket } from 'ws';
import { matches, type Event } from './wire.js';

export class WsPeer {
  readonly received: Event[] = [];
  readonly binary: Buffer[] = [];
  /** Every text frame as it came, to check that each is exactly one JSON object. */
  readonly textFrames: string[] = [];
  private waiters: { match: (event: Event) => boolean; resolve: (event: Event) => void }[] = [];
  private cursor = 0;
  readonly closed: Promise<void>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.binary.push(data);
        return;
      }
      const text = data.toString('utf8');
      this.textFrames.push(text);
      this.received.push(JSON.parse(text));
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Open ws://127.0.0.1:port/ws with the gateway's own Origin (as its page would), unless told otherwise. */
  static connect(port: number, options: { origin?: string | null; localAddress?: string; tls?: boolean } = {}): Promise<WsPeer> {
    const scheme = options.tls ? 'wss' : 'ws';
    const origin = options.origin === undefined ? `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}` : options.origin;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${scheme}://127.0.0.1:${port}/ws`, {
        ...(origin !== null && { origin }),
        ...(options.localAddress && { localAddress: options.localAddress }),
        rejectUnauthorized: false,
      });
      socket.once('open', () => resolve(new WsPeer(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  send(message: object): void {
    this.socket.send(JSON.stringify(message));
  }

  sendText(text: string): void {
    this.socket.send(text);
  }

  sendBytes(bytes: Buffer): void {
    this.socket.send(bytes, { binary: true });
  }

  next(match: Partial<Event> | ((event: Event) => boolean) = () => true, ms = 5000): Promise<Event> {
    const test = typeof match === 'function' ? match : (event: Event) => matches(event, match);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(match)}; got ${JSON.stringify(this.received.slice(this.cursor))}`)), ms);
      this.waiters.push({
        match: test,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
      this.wake();
    });
  }

  async join(room: string, nick?: string): Promise<void> {
    this.send({ type: 'join', room, ...(nick && { nick }) });
    await this.next({ type: 'notice', room });
  }

  close(): void {
    this.socket.terminate();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      const index = this.received.slice(this.cursor).findIndex(waiter.match);
      if (index === -1) continue;
      const event = this.received[this.cursor + index]!;
      this.cursor += index + 1;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  }
}

export async function wsPeer(t: { teardown(fn: () => void): void }, port: number, options?: Parameters<typeof WsPeer.connect>[1]): Promise<WsPeer> {
  const peer = await WsPeer.connect(port, options);
  t.teardown(() => peer.close());
  return peer;
}
