// SQLite persistence (docs/persistence.md): history, `since` and seq survive a restart, paging reads past the
// in-memory window, retention, and a kill -9 of the real binary mid-traffic loses no acknowledged message and
// leaves a database that opens and is whole.

import t from 'tap';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatServer, type ServerOptions } from '../src/server/server.js';
import type { SqliteHistoryStore } from '../src/server/storage/sqlite.js';
import type { ThreadedHistoryStore } from '../src/server/storage/history-thread.js';
import { Peer, peer, testServerOptions, type Event } from './helpers/wire.js';
import { SERVER_BIN, startServerBinary as startBinary } from './helpers/server-binary.js';


/** What these helpers need of a tap test. */
interface Tap {
  teardown(fn: () => unknown): void;
}

function dataDir(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-persist-'));
  // Servers first: one closed by a later teardown could still be starting its checkpoint thread, which would open
  // (create) history.sqlite again after the directory was emptied.
  t.teardown(async () => {
    await Promise.all([...started].map((server) => server.close()));
    for (let attempt = 1; ; attempt++) {
      try {
        rmSync(dir, { recursive: true, force: true });
        return;
      } catch (error) {
        if (attempt === 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
  return dir;
}


/** Every in-process server started here, closed before its data directory is removed. */
const started = new Set<ChatServer>();

async function start(t: Tap, options: ServerOptions): Promise<{ server: ChatServer; port: number }> {
  const server = new ChatServer(testServerOptions(options));
  started.add(server);
  t.teardown(() => server.close());
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port };
}

async function say(p: Peer, room: string, texts: string[]): Promise<number[]> {
  const ids = texts.map((text, i) => {
    const id = `${room}-${text}-${i}`;
    p.send({ type: 'msg', room, text, id });
    return id;
  });
  const seqs: number[] = [];
  for (const id of ids) seqs.push((await p.next({ type: 'ok', id })).seq);
  return seqs;
}

const texts = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `m${from + i}`);

t.test('a restarted server serves history, `since` resumes and seq continues', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, { dataDir: dir });
  const a = await peer(t, first.port);
  await a.join('test', 'alice');
  t.same(await say(a, 'test', texts(5)), [1, 2, 3, 4, 5]);
  await a.join('other');
  t.same(await say(a, 'other', ['x']), [1]);
  await first.server.close();

  const second = await start(t, { dataDir: dir });
  const b = await peer(t, second.port);
  const joined = (await b.join('test', 'bob', { since: 2 })).filter((e) => e.type === 'msg');
  t.same(joined.map((e) => [e.seq, e.text, e.history]), [[3, 'm3', true], [4, 'm4', true], [5, 'm5', true]]);
  t.same(await say(b, 'test', ['after restart']), [6], 'seq continues where it stopped');
  await b.join('other');
  t.same(await say(b, 'other', ['y']), [2], 'each room keeps its own seq');
  const full = (await (await peer(t, second.port)).join('test', 'carol')).filter((e) => e.type === 'msg');
  t.same(full.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
});

t.test('checkpoints run off the event loop: written history reaches the database file itself within seconds', async (t) => {
  const dir = dataDir(t);
  const { server, port } = await start(t, { dataDir: dir });
  const a = await peer(t, port);
  await a.join('test', 'alice');
  await say(a, 'test', texts(50));
  const dbPath = join(dir, 'history.sqlite');
  // A copy of the database file alone, without its WAL, holds only what has been checkpointed into it.
  const checkpointed = () => {
    const copy = join(dir, 'copy.sqlite');
    copyFileSync(dbPath, copy);
    const db = new Database(copy, { readonly: true });
    try {
      return db.prepare("SELECT count(*) FROM records WHERE room = 'test'").pluck().get() as number;
    } catch {
      return 0; // not even the schema checkpointed yet
    } finally {
      db.close();
      rmSync(copy);
    }
  };
  const deadline = Date.now() + 10_000;
  let count = checkpointed();
  while (count < 50 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    count = checkpointed();
  }
  t.equal(count, 50, 'every record is in the database file, with no checkpoint by the writer (its backstop is 16 MiB)');
  await server.close();
});

t.test('one server per history database: a second one is refused with a clear message; a dead owner\'s lock is taken over', async (t) => {
  const dir = dataDir(t);
  const lock = join(dir, 'history.sqlite.lock');
  const first = await start(t, { dataDir: dir });
  t.throws(() => new ChatServer({ dataDir: dir }), /history\.sqlite is in use by another server in this process; give this one its own --data-dir/);
  await first.server.close();
  t.notOk(existsSync(lock), 'a clean stop gives the lock back');

  const { spawnSync } = await import('node:child_process');
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(lock, `${gone}\n`);
  const second = await start(t, { dataDir: dir });
  t.equal(readFileSync(lock, 'utf8'), `${process.pid}\n`, 'the lock of a process that is gone is taken over');
  await second.server.close();

  const running = startBinary(t, ['--data-dir', dir]);
  await running.port;
  const refused = spawn(process.execPath, [SERVER_BIN, '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  refused.stderr!.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise((resolve) => refused.once('exit', resolve));
  t.equal(code, 1, 'the second chat-server exits 1');
  t.match(stderr, `is in use by another chat-server (pid ${running.child.pid})`);
});

t.test('history pages back past the in-memory window, also for a room nobody joined since the restart', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, { dataDir: dir, historyPerRoom: 3 });
  const a = await peer(t, first.port);
  await a.join('deep', 'alice');
  await say(a, 'deep', texts(10));
  const joined = (await (await peer(t, first.port)).join('deep', 'bob')).filter((e) => e.type === 'msg');
  t.same(joined.map((e) => e.seq), [8, 9, 10], 'a join gets the in-memory window only');
  a.send({ type: 'history', room: 'deep', before: 11, limit: 5, id: 1 });
  const page = await a.next({ type: 'history', id: 1 });
  t.same(page.messages.map((m: Event) => m.seq), [6, 7, 8, 9, 10]);
  t.equal(page.more, true);
  a.send({ type: 'history', room: 'deep', before: 6, limit: 5, id: 2 });
  const last = await a.next({ type: 'history', id: 2 });
  t.same(last.messages.map((m: Event) => [m.seq, m.text]), [[1, 'm1'], [2, 'm2'], [3, 'm3'], [4, 'm4'], [5, 'm5']]);
  t.equal(last.more, false);
  t.notOk(last.messages.some((m: Event) => 'history' in m), 'stored records carry no delivery flag');
  await first.server.close();

  const second = await start(t, { dataDir: dir, historyPerRoom: 3 });
  const c = await peer(t, second.port);
  c.send({ type: 'history', room: 'deep', limit: 4, id: 3 });
  const cold = await c.next({ type: 'history', id: 3 });
  t.same(cold.messages.map((m: Event) => m.seq), [7, 8, 9, 10]);
  t.equal(cold.more, true);
});

t.test('retention: --retain-messages keeps the newest per room; seq still continues', async (t) => {
  const dir = dataDir(t);
  const first = await start(t, { dataDir: dir, historyPerRoom: 2 });
  const a = await peer(t, first.port);
  await a.join('r', 'alice');
  await say(a, 'r', texts(10));
  await first.server.close();

  const second = await start(t, { dataDir: dir, historyPerRoom: 2, retainMessages: 4, retainDays: 30 });
  const b = await peer(t, second.port);
  await b.join('r', 'bob');
  b.send({ type: 'history', room: 'r', limit: 50, id: 1 });
  const kept = await b.next({ type: 'history', id: 1 });
  t.same(kept.messages.map((m: Event) => m.seq), [7, 8, 9, 10]);
  t.equal(kept.more, false);
  t.same(await say(b, 'r', ['next']), [11]);
});

t.test('retention takes the changes and change log of what went, as on a cluster: a resume brings none of them', async (t) => {
  const dir = dataDir(t);
  const { server, port } = await start(t, { dataDir: dir, retainMessages: 5, retainDays: 30, rateBurst: 1000 });
  const alice = await peer(t, port);
  await alice.join('kept', 'alice');
  await say(alice, 'kept', texts(12));
  for (const request of [
    { type: 'edit', room: 'kept', seq: 2, text: 'edited 2' },
    { type: 'edit', room: 'kept', seq: 10, text: 'edited 10' },
    { type: 'react', room: 'kept', seq: 3, emoji: '👍' },
  ]) {
    alice.send({ ...request, id: `change ${request.seq}` });
    await alice.next({ type: 'ok', id: `change ${request.seq}` });
  }

  // (The next run comes in a minute: run it now; with --storage-thread the thread runs it and answers when done.)
  (server.historyStore as SqliteHistoryStore | ThreadedHistoryStore).prune();
  const conversations = new Database(join(dir, 'conversations.sqlite'), { readonly: true });
  t.teardown(() => conversations.close());
  t.same(conversations.prepare("SELECT seq FROM changes WHERE room = 'kept'").pluck().all(), [10], 'the changes of what went, gone');
  t.same(conversations.prepare("SELECT seq FROM change_log WHERE conversation = 'kept'").pluck().all(), [10], 'and their change log');

  const bob = await peer(t, port);
  const resumed = await bob.join('kept', 'bob', { since: 11 });
  t.same(
    resumed.filter((e) => e.history && e.type !== 'msg').map((e) => [e.type, e.seq]),
    [['edit', 10], ['react', 10]],
    'a resume brings no change of a message no longer kept',
  );
});

t.test('the in-process default (dataDir null) writes nothing', async (t) => {
  const server = new ChatServer();
  t.teardown(() => server.close());
  t.equal(server.historyStore, undefined);
});

t.test('kill -9 of chat-server mid-traffic: the database opens whole, acknowledged messages survive, seq goes on', async (t) => {
  const dir = dataDir(t);
  const first = startBinary(t, ['--data-dir', dir, '--history', '50']);
  const a = await Peer.connect(await first.port);
  t.teardown(() => a.destroy());
  await a.join('crash', 'alice');
  const exited = new Promise((resolve) => first.child.once('exit', resolve));
  const ackedSoFar = () => Math.max(0, ...a.received.filter((e) => e.type === 'ok').map((e) => e.seq as number));
  let sent = 0;
  let committed = 0;
  // Keep traffic flowing in bursts; kill the server while later bursts are still in flight.
  for (let burst = 0; burst < 10; burst++) {
    for (let i = 0; i < 200; i++) a.send({ type: 'msg', room: 'crash', text: `burst ${burst} line ${i}`, id: ++sent });
    if (burst === 4) {
      await a.next({ type: 'ok', id: sent });
      // Only the batch of the turn the kill interrupts may be lost (docs/persistence.md): each turn commits its
      // batch right after writing its replies. A ping sent now is read in a later turn than every reply received so
      // far, so once its pong is here, all of those messages were committed. (Counting the client's reads instead
      // cannot tell turns apart: one write of replies may arrive in several reads.)
      a.send({ type: 'ping', id: 'sync' });
      await a.next({ type: 'pong', id: 'sync' });
      committed = ackedSoFar();
    }
  }
  first.child.kill('SIGKILL');
  await exited;
  const acked = ackedSoFar();
  t.ok(acked >= 1000, `the server acknowledged ${acked} messages before it was killed`);

  const db = new Database(join(dir, 'history.sqlite'), { readonly: true });
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'integrity_check');
  const seqs = db.prepare("SELECT seq FROM records WHERE room = 'crash' ORDER BY seq").pluck().all() as number[];
  db.close();
  const stored = seqs.length;
  t.same(seqs, Array.from({ length: stored }, (_, i) => i + 1), `seq 1..${stored} stored without gaps`);
  t.ok(committed >= 1000, `${committed} messages acknowledged before the pong`);
  t.ok(stored >= committed, `every message acknowledged before the pong (${committed}) is on disk (${stored}; ${acked} acknowledged in all)`);

  const second = startBinary(t, ['--data-dir', dir, '--history', '50']);
  const b = await Peer.connect(await second.port);
  t.teardown(() => b.destroy());
  const joined = (await b.join('crash', 'bob', { since: stored - 3 })).filter((e) => e.type === 'msg');
  t.same(joined.map((e) => e.seq), [stored - 2, stored - 1, stored]);
  b.send({ type: 'msg', room: 'crash', text: 'back', id: 'back' });
  const next = (await b.next({ type: 'ok', id: 'back' })).seq as number;
  t.ok(next > Math.max(stored, acked), `no seq is given out twice: ${next} after ${stored} stored, ${acked} acknowledged`);
  second.child.kill('SIGTERM');
  t.match(await b.next({ type: 'bye' }), { code: 'shutdown' });
});
