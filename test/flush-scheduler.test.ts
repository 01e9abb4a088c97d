import t from 'tap';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FlushScheduler, PASS_LINES_MAX } from '../src/server/flush-scheduler.js';

type Gc = (options?: { type?: 'major' | 'minor' }) => void;

function exposedGc(): Gc {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as Gc;
}

const oldSpaceUsed = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')!.space_used_size;

t.test("a pass's lists die young: nothing the scheduler kept from a pass outlives it in V8's old generation", async (t) => {
  // The scheduler lives as long as the server, so it and what it keeps are in the old generation. What it keeps of
  // a pass must not be reachable from there once the pass is over, even from a dead object not yet collected (a
  // Map's table after clear()): each scavenge would keep the pass's lists and Buffers and promote them, and the
  // server would run a mark-compact every few scavenges (bench/README.md, "Server CPU per message, round 4").
  const gc = exposedGc();
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const scheduler = new FlushScheduler();
  let parts: Buffer[] = [];
  const bytes = () => parts.reduce((sum, part) => sum + part.length, 0);
  // Two members owed the same list: the second is served the first one's joined Buffer, kept for the pass.
  const members = [0, 1].map(() => ({ flush: () => void scheduler.write(sink, parts, bytes(), false) }));
  const pass = async () => {
    for (const member of members) scheduler.mark(member);
    await nextTurn();
  };
  parts = [Buffer.from('a'), Buffer.from('b')];
  await pass();
  gc();
  gc();
  const before = oldSpaceUsed();
  const passes = 40;
  for (let n = 0; n < passes; n++) {
    parts = Array.from({ length: 500 }, (_, i) => Buffer.from(`message ${n} ${i} ${'x'.repeat(40)}`));
    await pass();
    parts = [];
    // About what traffic does: passes come far more often than scavenges, so a pass is over by the next one.
    gc({ type: 'minor' });
  }
  const grew = oldSpaceUsed() - before;
  // Promoted, the passes' lists and Buffers are ~2 MB here.
  t.ok(grew < 500_000, `the old generation grew by ${grew} bytes over ${passes} passes`);
});

t.test('a turn that reads many lines writes what they owe as it goes, not all at its end', async (t) => {
  // Many rooms with a publisher each run in lock step: one turn reads every publisher's window. Written only at the
  // turn's end, the whole turn's messages stayed alive through its scavenges and were promoted (bench/README.md,
  // "Server CPU per message, round 5"). The history commit still follows the turn's last writes, once per turn.
  const scheduler = new FlushScheduler();
  const written: string[] = [];
  let commits = 0;
  scheduler.afterPass = () => {
    written.push('commit');
    commits++;
  };
  const member = (name: string) => ({ flush: () => void written.push(name) });
  scheduler.mark(member('a'));
  scheduler.readLines(PASS_LINES_MAX - 1);
  t.same(written, [], 'fewer lines than a pass holds: the pass waits for the turn to end');
  scheduler.readLines(1);
  t.same(written, ['a'], 'written within the turn, as soon as the lines since the last pass reach PASS_LINES_MAX');
  scheduler.mark(member('b'));
  scheduler.readLines(PASS_LINES_MAX - 1);
  t.same(written, ['a'], 'counted again from the early pass');
  scheduler.readLines(PASS_LINES_MAX);
  t.same(written, ['a', 'b']);
  scheduler.readLines(PASS_LINES_MAX);
  t.same(written, ['a', 'b'], 'nothing owed: no pass');
  scheduler.mark(member('c'));
  await nextTurn();
  t.same(written, ['a', 'b', 'c', 'commit'], "what is left is written at the turn's end as always, then the turn's records committed");
  t.equal(commits, 1, 'one commit per turn');
});
