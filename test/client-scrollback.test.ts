// The client's bounded scrollback (issue 18): a busy room keeps the last screens in memory, and what it dropped
// is paged in again from the server's history when the user scrolls above it. The log's layout from the bottom
// up is the same as the whole layout's last rows.

import t from 'tap';
import { ClientState, type Entry } from '../src/client/core/state.js';
import { KEPT_ENTRIES, MAX_ENTRIES } from '../src/client/core/scrollback-bound.js';
import { LogLayout } from '../src/client/view/log-rows.js';
import { makeChalk } from '../src/client/view/format.js';
import { peer } from './helpers/wire.js';
import { connectClient, serve, until } from './helpers/client-harness.js';
import { Tmux } from './helpers/client-tmux.js';
import { boundOldSpace, GROWTH_BYTES, shouldCollect } from '../src/client/cli/old-space-bound.js';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import vm from 'node:vm';

const TS = '2026-12-01T12:00:00.000Z';

t.test('a room following the newest keeps the last KEPT_ENTRIES; the log then starts at the oldest kept seq', async (t) => {
  const state = new ClientState();
  state.nick = 'me';
  const room = state.openRoom('busy');
  const total = KEPT_ENTRIES * 2;
  for (let seq = 1; seq <= total; seq++) state.apply({ type: 'msg', room: 'busy', from: 'bob', text: `m${seq}`, ts: TS, seq });
  t.ok(room.entries.length <= KEPT_ENTRIES + 200, `bounded (${room.entries.length})`);
  t.equal(room.entries.at(-1)!.text, `m${total}`, 'the newest is kept');
  t.equal(room.oldestSeq, room.entries[0]!.seq, 'the log starts at the oldest entry kept');
  t.ok(room.oldestSeq! > 1);
  t.equal(room.moreHistory, true, 'older pages are on the server');

  // Scrolled back, up to MAX_ENTRIES stay, so what the user reads is not dropped from under them.
  room.scroll = { entryId: room.entries[0]!.id, part: 0 };
  const first = room.entries[0]!;
  for (let seq = total + 1; seq <= total + 500; seq++) state.apply({ type: 'msg', room: 'busy', from: 'bob', text: `m${seq}`, ts: TS, seq });
  t.equal(room.entries[0], first, 'nothing dropped while scrolled back');
  t.ok(KEPT_ENTRIES + 500 <= MAX_ENTRIES);
});

t.test('tail: the last rows of the whole layout, day lines included, laid out from the bottom', async (t) => {
  const layout = new LogLayout(makeChalk(false));
  const day = 24 * 3600 * 1000;
  const now = Date.parse('2026-12-03T12:00:00Z');
  const entries: Entry[] = [];
  for (let i = 0; i < 60; i++) {
    entries.push({ id: i + 1, ts: now - 2 * day + i * 3600 * 1000, kind: 'msg', from: 'bob', text: `${i} ${'word '.repeat(i % 7)}` });
  }
  const all = layout.all(entries, 30, now);
  t.ok(all.some((row) => row.part === -1), 'the fixture has day lines');
  for (const count of [1, 5, 17, 40, all.length, all.length + 10]) {
    t.same(layout.tail(entries, 30, count, now), all.slice(Math.max(0, all.length - count)), `the last ${count}`);
  }
});

t.test('over real sockets: older messages dropped from memory come back from the server with `before`', async (t) => {
  const { port } = await serve(t, { rateLimit: 0, historyPerRoom: 5000 });
  const alice = await connectClient(t, port, 'alice', ['busy']);
  const bob = await peer(t, port);
  await bob.join('busy', 'bob');
  const total = KEPT_ENTRIES + 400;
  let lines = '';
  for (let i = 1; i <= total; i++) lines += JSON.stringify({ type: 'msg', room: 'busy', text: `m${i}` }) + '\n';
  bob.write(lines);
  const room = alice.state.room('busy')!;
  await until(() => room.entries.at(-1)?.text === `m${total}`, 'the last message');
  t.notOk(room.entries.some((e) => e.text === 'm1'), 'the oldest were dropped');
  const oldest = room.oldestSeq!;
  t.ok(oldest > 1);
  t.ok((await alice.loadOlder(room)) > 0, 'a page came');
  t.ok(room.oldestSeq! < oldest, 'the log starts earlier');
  const texts = room.entries.filter((e) => e.kind === 'msg').map((e) => e.text);
  t.same(texts.slice(0, 3), [`m${room.oldestSeq}`, `m${room.oldestSeq! + 1}`, `m${room.oldestSeq! + 2}`], 'in order, above what was there');
});

t.test('in the terminal: PageUp past the kept scrollback shows the room\'s first messages again', async (t) => {
  const { port } = await serve(t, { rateLimit: 0, historyPerRoom: 5000 });
  const tmux = new Tmux(t);
  const alice = await tmux.chat('alice', ['join', 'busy', '--host', '127.0.0.1', '--port', String(port), '--nick', 'alice'], { columns: 80, rows: 24 });
  await alice.waitFor((lines) => lines.at(-2)!.includes('| connected |'));
  const bob = await peer(t, port);
  await bob.join('busy', 'bob');
  const total = KEPT_ENTRIES + 400;
  let lines = '';
  for (let i = 1; i <= total; i++) lines += JSON.stringify({ type: 'msg', room: 'busy', text: `message number ${i}.` }) + '\n';
  bob.write(lines);
  await alice.waitFor(`message number ${total}.`);
  // Page up until the first message shows (a loaded machine may take its time over each page and each fetch).
  let screen = '';
  const deadline = Date.now() + 90_000;
  while (!/message number 1\./.test(screen) && Date.now() < deadline) {
    await alice.keys(...Array<string>(5).fill('PageUp'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    screen = (await alice.lines()).join('\n');
  }
  t.match(screen, /message number 1\./, 'the first message, fetched again from the server');
  t.match(screen, /message number 2\./);
});

t.test('the old generation: a full collection is asked for once it grew past its low point, and it runs', async (t) => {
  t.notOk(shouldCollect(10 << 20, 10 << 20), 'no growth');
  t.notOk(shouldCollect((10 << 20) + GROWTH_BYTES, 10 << 20), 'up to the bound');
  t.ok(shouldCollect((10 << 20) + GROWTH_BYTES + 1, 10 << 20), 'past it');
  const majors: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (((entry as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  t.teardown(() => observer.disconnect());
  let askedAt = -1;
  const stop = boundOldSpace(() => (askedAt = performance.now()));
  t.teardown(stop);
  // Garbage that lives long enough to be promoted, as a burst of messages leaves it, then is dropped.
  let kept: string[][] = [];
  for (let round = 0; round < 60 && askedAt < 0; round++) {
    kept.push(Array.from({ length: 20_000 }, (_, i) => `message ${round} ${i} ${'x'.repeat(40)}`));
    if (kept.length > 4) kept = kept.slice(-2);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(askedAt >= 0, 'a collection was asked for');
  // A flag left changed would have V8 reject every code cache made afterwards (cli/launch.cts).
  t.equal(vm.runInNewContext('typeof gc'), 'undefined', 'and --expose-gc is set back');
  kept = [];
  await until(() => majors.some((at) => at >= askedAt), 'a full collection after the request', 10_000);
  t.pass('and it ran');
});
