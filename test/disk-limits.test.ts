// Hard limits of the disk (the issue "Hard limits", cases 6 to 8): a disk too small or filling up during an upload,
// seq reservations the disk refuses, and uploads that announce much and send little. The file store's disk is
// replaced by a small one (files/disk.ts), and SQLite's writes are refused with `query_only`, which fails them the
// way a full disk does: no root and no mount needed.

import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { localDisk, type Disk } from '../src/server/files/disk.js';
import { ChatServer, type ServerOptions } from '../src/server/server.js';
import { SqliteHistoryStore } from '../src/server/storage/sqlite.js';
import { BytesPeer } from './helpers/bytes-peer.js';
import { Peer, type Event } from './helpers/wire.js';

interface Tap {
  teardown(fn: () => unknown): void;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function tempDir(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-disk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t: Tap, options: ServerOptions): Promise<{ chat: ChatServer; port: number }> {
  const chat = new ChatServer({ rateLimit: 0, ...options });
  t.teardown(() => chat.close());
  const { port } = await chat.listen(0, '127.0.0.1');
  return { chat, port };
}

async function uploader(t: Tap, port: number, nick: string): Promise<BytesPeer> {
  const p = await BytesPeer.connect(port);
  t.teardown(() => p.destroy());
  p.send({ type: 'join', room: 'r', nick });
  await p.line((e) => e.type !== 'notice');
  return p;
}

/** The reply to an upload (ok or error), skipping the room's file events. */
const reply = (p: BytesPeer) => p.line((e) => e.type !== 'ok' && e.type !== 'error');

/** A disk that says it has `free` bytes, and really writes (to the test's directory). */
function diskWithFree(free: number): Disk {
  return { freeBytes: () => free, openWrite: localDisk.openWrite };
}

/** A disk that claims plenty of room but fills after `capacity` bytes, as when something else fills it meanwhile. */
function diskFillingAfter(capacity: number): Disk {
  let written = 0;
  return {
    freeBytes: () => 2 ** 40,
    openWrite(path, start) {
      const file = localDisk.openWrite(path, start);
      return new Writable({
        write(chunk: Buffer, _encoding, done) {
          written += chunk.length;
          if (written > capacity) done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
          else file.write(chunk, done);
        },
        final(done) {
          file.end(done);
        },
        destroy(error, done) {
          file.destroy();
          done(error);
        },
      });
    },
  };
}

t.test('case 6: an upload bigger than the free disk gets no_space at once, keeping --disk-reserve free', async (t) => {
  const { chat, port } = await start(t, { diskReserveBytes: 1_000_000 });
  chat.files.disk = diskWithFree(1_500_000);
  const big = await uploader(t, port, 'big');
  big.send({ type: 'upload', room: 'r', name: 'big.bin', size: 5_000_000, id: 1 });
  t.match(await big.line(), { type: 'error', code: 'no_space', id: 1 });
  t.match(await big.line(), { type: 'bye', code: 'protocol' }, 'closed like quota_exceeded: the bytes are not worth reading');

  const p = await uploader(t, port, 'p');
  const fits = randomBytes(400_000);
  const eatsReserve = randomBytes(600_000);
  p.send({ type: 'upload', room: 'r', name: 'eats.bin', size: eatsReserve.length });
  t.match(await reply(p), { type: 'error', code: 'no_space' }, '600 kB + the 1 MB reserve is more than 1.5 MB free');
  const q = await uploader(t, port, 'q');
  q.send({ type: 'upload', room: 'r', name: 'fits.bin', size: fits.length, sha256: sha256(fits) });
  q.socket.write(fits);
  t.match(await reply(q), { type: 'ok' }, '400 kB + the reserve fits');
});

t.test('case 6: the disk filling during an upload is answered with no_space at once; the partial is gone and the content can come again', async (t) => {
  const dir = tempDir(t);
  const { chat, port } = await start(t, { dataDir: dir });
  chat.files.disk = diskFillingAfter(1_000_000);
  const bytes = randomBytes(3_000_000);
  const p = await uploader(t, port, 'p');
  p.send({ type: 'upload', room: 'r', name: 'x.bin', size: bytes.length, sha256: sha256(bytes), id: 'up' });
  p.socket.write(bytes.subarray(0, 1_500_000)); // the rest only after the answer: it must not wait for the end
  t.match(await reply(p), { type: 'error', code: 'no_space', id: 'up' });
  t.same(readdirSync(join(dir, 'files', 'partial')), [], 'the partial file is removed');
  p.socket.write(bytes.subarray(1_500_000));
  p.send({ type: 'ping', id: 'after' });
  t.match(await p.line(), { type: 'pong', id: 'after' }, 'the rest of the bytes were skipped: the connection goes on');

  chat.files.disk = localDisk; // space freed
  const again = await uploader(t, port, 'again');
  again.send({ type: 'upload', room: 'r', name: 'x.bin', size: bytes.length, sha256: sha256(bytes) });
  again.socket.write(bytes);
  t.match(await reply(again), { type: 'ok' }, 'not "being uploaded on another connection"');
});

t.test('case 8: uploads that announce much and send little hold no quota; the quota still holds for bytes received', async (t) => {
  const { port } = await start(t, { fileQuotaBytes: 1_000_000 });
  const first = randomBytes(500_000);
  const second = randomBytes(500_000);
  const a = await uploader(t, port, 'a');
  const b = await uploader(t, port, 'b');
  a.send({ type: 'upload', room: 'r', name: 'a.bin', size: first.length });
  a.socket.write(first.subarray(0, 1));
  b.send({ type: 'upload', room: 'r', name: 'b.bin', size: second.length });
  b.socket.write(second.subarray(0, 1));

  const small = randomBytes(100_000);
  const c = await uploader(t, port, 'c');
  c.send({ type: 'upload', room: 'r', name: 'c.bin', size: small.length });
  c.socket.write(small);
  t.match(await reply(c), { type: 'ok' }, 'the third user\'s 100 kB fits beside two stalled 500 kB uploads');

  a.socket.write(first.subarray(1));
  t.match(await reply(a), { type: 'ok' });
  b.socket.write(second.subarray(1));
  t.match(await reply(b), { type: 'error', code: 'quota_exceeded' }, '500 + 100 + 500 kB is past the quota: the upload that passes it fails');
  b.send({ type: 'ping', id: 'after' });
  t.match(await b.line((e) => e.type !== 'pong'), { type: 'pong', id: 'after' }, 'the rest was skipped; the connection goes on');
});

/** Send `count` messages with ids; the replies (ok, or an error without id when a room refuses), in order. */
async function flood(p: Peer, room: string, count: number): Promise<Event[]> {
  for (let i = 0; i < count; i++) p.send({ type: 'msg', room, text: `m${i}`, id: i });
  const replies: Event[] = [];
  while (replies.length < count) replies.push(await p.next((e) => e.type === 'ok' || e.type === 'error'));
  return replies;
}

/** A logger whose lines are kept, to check what the server reported. */
function capturingLogger(): { log: ServerOptions['log']; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

t.test('case 7: a room refuses what it cannot reserve seqs for, and no seq is given twice across a crash', async (t) => {
  const dir = tempDir(t);
  const { log, lines } = capturingLogger();
  const { chat, port } = await start(t, { dataDir: dir, log, retainMessages: 10 });
  const store = chat.historyStore as SqliteHistoryStore;
  const p = await Peer.connect(port);
  t.teardown(() => p.destroy());
  await p.join('r', 'p');
  p.send({ type: 'msg', room: 'r', text: 'first', id: 'first' });
  t.match(await p.next({ type: 'ok', id: 'first' }), { seq: 1 }, 'seqs up to 1000 are reserved on disk');

  store.db.pragma('query_only = ON'); // the disk is full: every write fails
  const replies = await flood(p, 'r', 1100);
  const given = replies.filter((e) => e.type === 'ok').map((e) => e.seq as number);
  const refused = replies.filter((e) => e.type === 'error');
  t.equal(Math.max(...given), 1000, 'no seq beyond the reservation on disk');
  t.equal(given.length, 999);
  t.equal(refused.length, 101);
  t.ok(refused.every((e) => e.code === 'unavailable'), 'refused with unavailable');
  t.ok(lines.some((l) => l.msg === 'history not written: records dropped'), 'the dropped history is in the log');
  t.doesNotThrow(() => store.prune(), 'retention on a full disk waits');

  // A kill -9 now: what survives is what is committed. Restart on that.
  const crashed = tempDir(t);
  await store.db.backup(join(crashed, 'history.sqlite'));
  const restarted = await start(t, { dataDir: crashed });
  const q = await Peer.connect(restarted.port);
  t.teardown(() => q.destroy());
  await q.join('r', 'q');
  q.send({ type: 'msg', room: 'r', text: 'after the crash', id: 'next' });
  const next = (await q.next({ type: 'ok', id: 'next' })).seq as number;
  t.ok(next > Math.max(...given), `${next}: above every seq given out`);

  store.db.pragma('query_only = OFF'); // space freed: the same server goes on without a restart
  p.send({ type: 'msg', room: 'r', text: 'space again', id: 'again' });
  t.equal((await p.next({ type: 'ok', id: 'again' })).seq, 1001);
});

t.test('case 7: a clean stop after history was dropped keeps every seq given out', async (t) => {
  const dir = tempDir(t);
  const first = await start(t, { dataDir: dir });
  const store = first.chat.historyStore as SqliteHistoryStore;
  const p = await Peer.connect(first.port);
  t.teardown(() => p.destroy());
  await p.join('r', 'p');
  await flood(p, 'r', 1);
  store.db.pragma('query_only = ON');
  const dropped = await flood(p, 'r', 3);
  t.same(dropped.map((e) => e.seq), [2, 3, 4], 'numbered and sent, never stored');
  store.db.pragma('query_only = OFF');
  await first.chat.close();

  const second = await start(t, { dataDir: dir });
  const q = await Peer.connect(second.port);
  t.teardown(() => q.destroy());
  await q.join('r', 'q');
  t.same((await flood(q, 'r', 1)).map((e) => e.seq), [5]);
});
