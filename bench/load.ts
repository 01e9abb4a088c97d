// The load generator's connections. The reader is deliberately cheap so that it is never the bottleneck:
// every benchmark text carries one marker `~<publisher>.<seq>.` and no other byte on the wire is a `~`,
// so counting deliveries is a scan for one byte, whatever the server's framing (JSON lines or RESP).
// Only publishers and a few sampled members parse the two numbers after the marker (acks and latency).

import net from 'node:net';
import { performance } from 'node:perf_hooks';

const MARKER = 0x7e; // '~'
const DOT = 0x2e; // '.'
// Every read lands here; each callback is done with it before the next read (one thread).
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Shared by every connection of one workload run. */
export interface Tally {
  /** Markers seen on every member connection since the last reset. */
  delivered: number;
  /** Latency samples (ms), recorded while `recording`. */
  latencies: number[];
  recording: boolean;
  /** Send times (performance.now() ms) per publisher, indexed by seq. */
  sendTimes: number[][];
}

export function newTally(): Tally {
  return { delivered: 0, latencies: [], recording: false, sendTimes: [] };
}

/** Counts the markers in a byte stream; when parsing, also reads publisher and seq after each (acks, latency). */
export class DeliveryReader {
  /** Markers seen. */
  received = 0;
  /** Publisher index whose echoes are this connection's acks, or -1. */
  ownPublisher = -1;
  // Parser state across chunks: 0 = looking for a marker, 1 = reading the publisher, 2 = reading the seq.
  private state = 0;
  private publisher = 0;
  private seq = 0;

  constructor(
    private readonly tally: Tally,
    public parse: boolean,
  ) {}

  /** Take one chunk; returns how many of the messages in it were this connection's own echoes. */
  push(chunk: Buffer): number {
    if (!this.parse) {
      let count = 0;
      let at = chunk.indexOf(MARKER);
      while (at !== -1) {
        count++;
        at = chunk.indexOf(MARKER, at + 1);
      }
      this.received += count;
      this.tally.delivered += count;
      return 0;
    }
    const now = performance.now();
    const tally = this.tally;
    let acks = 0;
    let count = 0;
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.state === 0) {
        const at = chunk.indexOf(MARKER, i);
        if (at === -1) break;
        count++;
        this.state = 1;
        this.publisher = 0;
        this.seq = 0;
        i = at + 1;
        continue;
      }
      const byte = chunk[i++]!;
      if (byte === DOT) {
        if (this.state === 1) {
          this.state = 2;
          continue;
        }
        this.state = 0;
        const sent = tally.sendTimes[this.publisher]?.[this.seq];
        if (sent !== undefined && tally.recording) tally.latencies.push(now - sent);
        if (this.publisher === this.ownPublisher) acks++;
      } else if (this.state === 1) {
        this.publisher = this.publisher * 10 + (byte - 48);
      } else {
        this.seq = this.seq * 10 + (byte - 48);
      }
    }
    this.received += count;
    tally.delivered += count;
    return acks;
  }
}

/** One load-generator connection (a room member or subscriber). */
export class Member {
  readonly socket: net.Socket;
  readonly reader: DeliveryReader;
  bytes = 0;
  /** Resolves at the first byte the server sends after connecting (join or subscribe confirmed). */
  readonly answered: Promise<void>;
  /** Called with the number of own echoes seen in a read. */
  onAcks: ((count: number) => void) | null = null;
  private resolveAnswered!: () => void;

  constructor(port: number, tally: Tally, parse: boolean) {
    this.reader = new DeliveryReader(tally, parse);
    let rejectAnswered!: (error: Error) => void;
    this.answered = new Promise((resolve, reject) => {
      this.resolveAnswered = resolve;
      rejectAnswered = reject;
    });
    this.answered.catch(() => {}); // a connection that fails later is not an unhandled rejection
    // `onread` reads into one shared buffer and calls back directly: no Buffer per read, no stream events.
    this.socket = net.connect({
      port,
      host: '127.0.0.1',
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (length: number, buffer: Uint8Array) => this.onRead(length, buffer) },
    });
    // Before its first answer, a connection that fails fails the run (EMFILE, refused, reset) instead of hanging it.
    this.socket.on('error', (error) => {
      if (this.bytes === 0) rejectAnswered(error);
    });
    this.socket.on('close', () => {
      if (this.bytes === 0) rejectAnswered(new Error('the server closed the connection before answering'));
    });
  }

  get received(): number {
    return this.reader.received;
  }

  set received(value: number) {
    this.reader.received = value;
  }

  private onRead(length: number, buffer: Uint8Array): boolean {
    if (this.bytes === 0) this.resolveAnswered();
    this.bytes += length;
    const acks = this.reader.push((buffer as Buffer).subarray(0, length));
    if (acks > 0 && this.onAcks) this.onAcks(acks);
    return true;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Open `count` connections with at most `concurrency` still waiting for their first answer. */
export async function openMembers(
  count: number,
  concurrency: number,
  open: (index: number) => Member,
): Promise<Member[]> {
  const members: Member[] = new Array(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const index = next++;
      const member = open(index);
      members[index] = member;
      await member.answered;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return members;
}

/** A benchmark text of `size` bytes: the marker, publisher and seq, then padding. */
export function benchText(publisher: number, seq: number, size: number): string {
  const head = `~${publisher}.${seq}.`;
  return head + PADDING.slice(0, Math.max(0, size - head.length));
}

const PADDING = 'x'.repeat(4096);

/** A plain socket that only sends (Redis publishers); what it is answered is read and dropped. */
export function openSender(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    socket.on('data', () => {});
    socket.once('error', reject);
    socket.once('connect', () => resolve(socket));
  });
}

/** Wait until no connection has received a byte for `quietMs` (join storms settle), at most `maxMs`. */
export async function settle(members: Member[], quietMs = 150, maxMs = 15_000): Promise<void> {
  const total = () => members.reduce((sum, member) => sum + member.bytes, 0);
  const deadline = Date.now() + maxMs;
  let last = total();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = total();
    if (now === last || Date.now() > deadline) return;
    last = now;
  }
}
