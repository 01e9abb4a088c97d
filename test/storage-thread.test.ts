// `--storage-thread` (storage/history-thread.ts): room history and its search index written by a thread of their
// own. What it must keep: every record handed to the thread is written (a clean stop drains it, a thread that dies
// is started again and given what it had not written), reads come after the writes handed over before them, and
// a search finds what was just said. The protocol tests run against it too (thread-protocol.test.ts).

import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatServer, type ServerOptions } from '../src/server/server.js';
import { ThreadedHistoryStore } from '../src/server/storage/history-thread.js';
import type { Logger } from '../src/server/log.js';
import { Peer, peer } from './helpers/wire.js';
import { startServerBinary } from './helpers/server-binary.js';

function dataDir(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-thread-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Tap {
  teardown(fn: () => unknown): void;
  ok(value: unknown, ...rest: any[]): unknown;
}

async function start(t: Tap, options: ServerOptions): Promise<{ server: ChatServer; port: number; store: ThreadedHistoryStore }> {
  const server = new ChatServer({ storageThread: true, rateLimit: 0, rateLimitPerAddress: 0, ...options });
  t.teardown(() => server.close());
  const { port } = await server.listen(0, '127.0.0.1');
  t.ok(server.historyStore instanceof ThreadedHistoryStore, 'history is written by the thread');
  return { server, port, store: server.historyStore as ThreadedHistoryStore };
}

/** Send `count` messages without waiting, then wait for every `ok`: their seqs. */
async function say(p: Peer, room: string, count: number, tag: string): Promise<number[]> {
  for (let i = 0; i < count; i++) p.send({ type: 'msg', room, text: `${tag} ${i}`, id: `${tag}-${i}` });
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) seqs.push((await p.next({ type: 'ok', id: `${tag}-${i}` })).seq);
  return seqs;
}

function storedSeqs(dir: string, room: string): number[] {
  const db = new Database(join(dir, 'history.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT seq FROM records WHERE room = ? ORDER BY seq').pluck().all(room) as number[];
  } finally {
    db.close();
  }
}

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

t.test('a page older than the ring is read after the writes handed over before it, all of them', async (t) => {
  const dir = dataDir(t);
  const { port } = await start(t, { dataDir: dir, historyPerRoom: 10 });
  const a = await peer(t, port);
  await a.join('deep', 'alice');
  t.same(await say(a, 'deep', 300, 'm'), oneTo(300));
  // Right after the last ok: the newest records may still be on their way to the thread.
  a.send({ type: 'history', room: 'deep', before: 291, limit: 200, id: 'page' });
  const page = await a.next({ type: 'history', id: 'page' });
  t.same(page.messages.map((r: { seq: number }) => r.seq), Array.from({ length: 200 }, (_, i) => 91 + i));
});

t.test('a clean stop drains the thread: every record is on disk and seq goes on after a restart', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, { dataDir: dir, historyPerRoom: 5 });
  const a = await peer(t, first.port);
  await a.join('drain', 'alice');
  t.same(await say(a, 'drain', 500, 'm'), oneTo(500));
  await first.server.close();
  t.equal(first.store.behind, 0, 'nothing left unwritten');
  t.same(storedSeqs(dir, 'drain'), oneTo(500), 'all 500 records written');

  const second = await start(t, { dataDir: dir, historyPerRoom: 5 });
  const b = await peer(t, second.port);
  const joined = await b.join('drain', 'bob');
  t.same(joined.filter((e) => e.type === 'msg').map((e) => e.seq), [496, 497, 498, 499, 500], 'the ring is loaded from the thread');
  t.same(await say(b, 'drain', 1, 'next'), [501]);
});

t.test('a search finds what was said just before it', async (t) => {
  const dir = dataDir(t);
  const { port } = await start(t, { dataDir: dir });
  const a = await peer(t, port);
  await a.join('finds', 'alice');
  await say(a, 'finds', 50, 'filler');
  a.send({ type: 'msg', room: 'finds', text: 'the quokka smiles', id: 'q' });
  await a.next({ type: 'ok', id: 'q' });
  a.send({ type: 'search', text: 'quokka', id: 's' });
  const result = await a.next({ type: 'search', id: 's' });
  t.same(result.hits.map((hit: { record: { text: string } }) => hit.record.text), ['the quokka smiles']);
});

t.test('a thread that dies is started again and given every record it had not written; it is logged', async (t) => {
  const dir = dataDir(t);
  const errors: string[] = [];
  const log = {
    error: (fields: { err?: string }, msg: string) => errors.push(`${msg}: ${fields.err}`),
    warn: () => {},
    info: () => {},
    debug: () => {},
  } as unknown as Logger;
  const { server, port, store } = await start(t, { dataDir: dir, historyPerRoom: 5, log });
  const a = await peer(t, port);
  await a.join('crash', 'alice');
  const firstThread = store.thread;
  for (let i = 0; i < 400; i++) a.send({ type: 'msg', room: 'crash', text: `before ${i}`, id: `b-${i}` });
  await a.next({ type: 'ok', id: 'b-0' });
  await firstThread.terminate(); // as a crash would: whatever it was doing is cut short
  t.same(await say(a, 'crash', 100, 'after'), Array.from({ length: 100 }, (_, i) => 401 + i));
  t.not(store.thread, firstThread, 'a new thread');
  t.ok(errors.some((line) => /history thread stopped/.test(line)), 'the death is logged');
  await server.close();
  t.equal(store.behind, 0);
  t.same(storedSeqs(dir, 'crash'), oneTo(500), `nothing lost, nothing twice (logged: ${errors.join('; ')})`);
});

t.test('a data dir another server uses is refused at start, as without the thread', async (t) => {
  const dir = dataDir(t);
  await start(t, { dataDir: dir });
  t.throws(() => new ChatServer({ storageThread: true, dataDir: dir }), /in use/);
});

t.test('chat-server --storage-thread: SIGTERM drains the thread before the process exits', async (t) => {
  const dir = dataDir(t);
  const running = startServerBinary(t, ['--storage-thread', '--data-dir', dir, '--history', '10', '--address-rate-limit', '0']);
  const a = await peer(t, await running.port);
  await a.join('binary', 'alice');
  t.same(await say(a, 'binary', 1000, 'm'), oneTo(1000));
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean exit');
  t.same(storedSeqs(dir, 'binary'), oneTo(1000), 'every record the server acknowledged is on disk');
});
