// A raw peer for file transfer tests: reads JSON lines and exact byte counts from one socket.

import net from 'node:net';

export class BytesPeer {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.feedSink();
      this.waiting?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<BytesPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(new BytesPeer(socket)));
      socket.once('error', reject);
    });
  }

  private sink: { remaining: number; take: (chunk: Buffer) => void; done: () => void } | null = null;

  private feedSink(): void {
    const sink = this.sink;
    if (!sink || this.buffer.length === 0) return;
    const take = Math.min(sink.remaining, this.buffer.length);
    sink.take(this.buffer.subarray(0, take));
    this.buffer = this.buffer.subarray(take);
    sink.remaining -= take;
    if (sink.remaining === 0) {
      this.sink = null;
      sink.done();
    }
  }

  /** Stream the next `count` bytes to `take` without keeping them (large files). */
  stream(count: number, take: (chunk: Buffer) => void): Promise<void> {
    if (count === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.sink = { remaining: count, take, done: resolve };
      this.socket.once('close', () => this.sink && reject(new Error(`closed with ${this.sink.remaining} bytes to go`)));
      this.feedSink();
    });
  }

  send(message: object): void {
    this.socket.write(JSON.stringify(message) + '\n');
  }

  private async until(ready: () => boolean, what: string, ms = 20000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (this.ended) throw new Error(`connection ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = null;
    }
  }

  /**
   * The next line as JSON, skipping lines for which `skip` is true; by default the news of others joining, leaving
   * or changing nick in a room, which comes in presence passes a moment later (flush-scheduler.ts), in any order
   * with the replies a test waits for.
   */
  async line(skip: (event: Record<string, any>) => boolean = isRoomPresence): Promise<Record<string, any>> {
    for (;;) {
      await this.until(() => this.buffer.indexOf(0x0a) !== -1, 'a line');
      const newline = this.buffer.indexOf(0x0a);
      const event = JSON.parse(this.buffer.subarray(0, newline).toString('utf8'));
      this.buffer = this.buffer.subarray(newline + 1);
      if (!skip(event)) return event;
    }
  }

  /** Exactly `count` bytes. */
  async bytes(count: number): Promise<Buffer> {
    await this.until(() => this.buffer.length >= count, `${count} bytes`);
    const out = Buffer.from(this.buffer.subarray(0, count));
    this.buffer = this.buffer.subarray(count);
    return out;
  }

  /** Everything until the server closes. */
  async rest(): Promise<Buffer> {
    await this.until(() => this.ended, 'the end of the stream', 60000);
    return this.buffer;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A join, leave or nick change in a room: news of presence. */
export function isRoomPresence(event: Record<string, any>): boolean {
  return (event.type === 'join' || event.type === 'leave' || event.type === 'nick') && event.room !== undefined;
}
