// Test helpers: a real server on 127.0.0.1:0 and raw NDJSON peers that wait for events, never sleep.
// With CHAT_TEST_BACKEND=cluster, `server()` starts two nodes on one Redis instead, and the peers of a test are
// spread over both nodes in turn: the same protocol tests then prove that the cluster keeps the same rules.

import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatServer, type ServerOptions } from '../../src/server/server.js';
import { startRedis } from './redis.js';

export const backendUnderTest: 'local' | 'cluster' = process.env.CHAT_TEST_BACKEND === 'cluster' ? 'cluster' : 'local';
/**
 * CHAT_TEST_STORAGE_THREAD=1: one node whose history and search index are written by a thread of their own
 * (`--storage-thread`, storage/history-thread.ts); `server()` gives it a data dir, so that the thread is used.
 */
export const storageThreadUnderTest = process.env.CHAT_TEST_STORAGE_THREAD === '1';

/** The options a test asked for, with the storage thread when that is under test. */
export function testServerOptions(options: ServerOptions): ServerOptions {
  return storageThreadUnderTest && !options.redisUrl ? { storageThread: true, ...options } : options;
}

/** The nodes behind a cluster's first port, and which one the next peer goes to. */
const clusters = new Map<number, { ports: number[]; turn: number }>();

/** The port the next client of the server at `port` connects to: the same one, or on a cluster the next node. */
export function nodeFor(port: number): number {
  const cluster = clusters.get(port);
  if (!cluster) return port;
  return cluster.ports[cluster.turn++ % cluster.ports.length]!;
}

export type Event = Record<string, any> & { type: string };

export async function startServer(options: ServerOptions = {}): Promise<{ server: ChatServer; port: number }> {
  const server = new ChatServer(testServerOptions(options));
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port };
}

/** A raw protocol peer: sends objects or raw bytes, and awaits the lines the server sends. */
export class Peer {
  readonly received: Event[] = [];
  readonly socket: net.Socket;
  private buffered = '';
  private waiters: { match: (event: Event) => boolean; resolve: (event: Event) => void; from: number }[] = [];
  private cursor = 0;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffered += text;
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) !== -1) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        this.received.push(JSON.parse(line));
        this.wake();
      }
    });
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connect to 127.0.0.1:port, from `localAddress` (another loopback address is another host to the server). */
  static connect(port: number, localAddress?: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, localAddress }, () => resolve(new Peer(socket)));
      socket.once('error', reject);
    });
  }

  /** Connect over TLS to 127.0.0.1:port (any certificate accepted unless `options` say otherwise), once the handshake is done. */
  static connectTls(port: number, options: tls.ConnectionOptions = {}): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options }, () =>
        resolve(new Peer(socket)),
      );
      socket.once('error', reject);
    });
  }

  send(message: object): void {
    this.socket.write(JSON.stringify(message) + '\n');
  }

  write(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  /** The next event (after those already consumed) that matches; waits for it, rejects after `ms`. */
  next(match: Partial<Event> | ((event: Event) => boolean) = () => true, ms = 5000): Promise<Event> {
    const test = typeof match === 'function' ? match : (event: Event) => matches(event, match);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${JSON.stringify(match)}; got ${JSON.stringify(this.received.slice(this.cursor))}`)),
        ms,
      );
      this.waiters.push({
        match: test,
        from: this.cursor,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
      this.wake();
    });
  }

  /**
   * Join a room and wait until the welcome banner (the last line of the join reply): the reply's lines, up to the
   * banner. Lines after it (others' joins, in the next presence pass) may have come meanwhile; they are not its.
   */
  async join(room: string, nick?: string, extra: object = {}): Promise<Event[]> {
    const start = this.received.length;
    this.send({ type: 'join', room, ...(nick && { nick }), ...extra });
    const banner = await this.next({ type: 'notice', room: room.toLowerCase() });
    return this.received.slice(start, this.received.indexOf(banner, start) + 1);
  }

  /** Everything received since the last call, consuming it. */
  drain(): Event[] {
    const events = this.received.slice(this.cursor);
    this.cursor = this.received.length;
    return events;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      for (let i = waiter.from; i < this.received.length; i++) {
        if (waiter.match(this.received[i]!)) {
          this.cursor = i + 1;
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(this.received[i]!);
          break;
        }
      }
    }
  }
}

export function matches(event: Event, pattern: Partial<Event>): boolean {
  return Object.entries(pattern).every(([key, value]) => JSON.stringify(event[key]) === JSON.stringify(value));
}

/** Connect a peer (on a cluster, to the next node) and register its teardown. */
export async function peer(t: { teardown(fn: () => void): void }, port: number): Promise<Peer> {
  return peerAt(t, nodeFor(port));
}

/** Connect a peer to exactly this port and register its teardown. */
export async function peerAt(t: { teardown(fn: () => void): void }, port: number): Promise<Peer> {
  const p = await Peer.connect(port);
  t.teardown(() => p.destroy());
  return p;
}

/** Start a server and register its teardown. */
export async function server(
  t: { teardown(fn: () => unknown): void },
  options: ServerOptions = {},
): Promise<{ server: ChatServer; port: number; nodes: ChatServer[] }> {
  if (backendUnderTest === 'cluster') return twoNodes(t, options);
  if (storageThreadUnderTest && options.dataDir === undefined) {
    const dataDir = mkdtempSync(join(tmpdir(), 'chat-thread-'));
    const started = await startServer({ ...options, dataDir });
    t.teardown(async () => {
      await started.server.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    return { ...started, nodes: [started.server] };
  }
  const started = await startServer(options);
  t.teardown(() => started.server.close());
  return { ...started, nodes: [started.server] };
}

/**
 * Two nodes on a Redis of their own, sharing one data directory for files (as docs/scale-out.md asks); the first
 * node and its port stand for the pair.
 */
async function twoNodes(
  t: { teardown(fn: () => unknown): void },
  options: ServerOptions,
): Promise<{ server: ChatServer; port: number; nodes: ChatServer[] }> {
  const redis = await startRedis(t);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'chat-cluster-'));
  if (options.dataDir === undefined) t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const nodeOptions = { redisUrl: redis.url, dataDir, ...options };
  const started = [await startServer(nodeOptions), await startServer(nodeOptions)];
  for (const node of started) t.teardown(() => node.server.close());
  const ports = started.map((node) => node.port);
  clusters.set(ports[0]!, { ports, turn: 0 });
  // Once these nodes are gone their first port is free: a later server given the same number is not this cluster.
  t.teardown(() => clusters.delete(ports[0]!));
  return { ...started[0]!, nodes: started.map((node) => node.server) };
}
