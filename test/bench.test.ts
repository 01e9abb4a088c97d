// The benchmark's own parts on a tiny workload: the reader counts and parses markers however the bytes are
// split, and the harness, the naive floor server, our server and Redis (when installed) lose nothing.
// No timed assertions: only counts.

import { spawnSync } from 'node:child_process';
import t from 'tap';
import { benchText, DeliveryReader, newTally } from '../bench/load.js';
import { startTarget, type ServerKind } from '../bench/targets.js';
import { traffic } from '../bench/workloads.js';
import { FlushScheduler } from '../src/server/flush-scheduler.js';

t.test('the reader counts every marker and parses publisher and seq across any split', async (t) => {
  const lines = [
    `{"type":"join","room":"r","nick":"n1","ts":"2026-01-01T00:00:00.000Z"}\n`,
    `{"type":"msg","room":"r","from":"n1","text":"${benchText(12, 345, 40)}","seq":1}\n`,
    `*3\r\n$7\r\nmessage\r\n$1\r\nr\r\n$40\r\n${benchText(3, 7, 40)}\r\n`,
    `{"type":"msg","room":"r","from":"n2","text":"${benchText(3, 8, 40)}","seq":2}\n`,
  ];
  const bytes = Buffer.from(lines.join(''));
  for (let cut = 0; cut <= bytes.length; cut++) {
    const tally = newTally();
    tally.recording = true;
    tally.sendTimes[3] = [];
    tally.sendTimes[3][7] = 0;
    tally.sendTimes[3][8] = 0;
    tally.sendTimes[12] = [];
    tally.sendTimes[12][345] = 0;
    const reader = new DeliveryReader(tally, true);
    reader.ownPublisher = 3;
    const acks = reader.push(bytes.subarray(0, cut)) + reader.push(bytes.subarray(cut));
    if (reader.received !== 3 || acks !== 2 || tally.latencies.length !== 3) {
      t.fail(`split at ${cut}: received ${reader.received}, acks ${acks}, latencies ${tally.latencies.length}`);
      return;
    }
  }
  const counting = new DeliveryReader(newTally(), false);
  counting.push(bytes);
  t.equal(counting.received, 3, 'counting mode sees the same three');
  t.pass('every split agrees');
});

t.test('the fan-out output path joins the same parts once and never mixes different ones', async (t) => {
  const scheduler = new FlushScheduler();
  const [a, b, c] = [Buffer.from('a\n'), Buffer.from('b\n'), Buffer.from('c\n')];
  const first = scheduler.join([a, b], 4);
  t.equal(first.toString(), 'a\nb\n');
  t.equal(scheduler.join([a, b], 4), first, 'a second member owed the same Buffers gets the same joined Buffer');
  const other = scheduler.join([a, c], 4);
  t.equal(other.toString(), 'a\nc\n', 'different parts are joined anew');
  t.not(other, first);
  t.equal(scheduler.join([a, c, b], 6).toString(), 'a\nc\nb\n', 'a longer list is not mistaken for a shorter one');
  t.equal(scheduler.join([Buffer.from('a\n'), b], 4).toString(), 'a\nb\n', 'equal bytes in another Buffer are joined anew');
});

const servers: ServerKind[] = ['ours', 'floor'];
if (spawnSync('redis-server', ['--version']).status === 0) servers.push('redis');

// The servers run side by side (each in its own process) to keep this file fast.
t.test(`a tiny fan-out against ${servers.join(', ')} loses nothing`, async (t) => {
  const results = await Promise.all(
    servers.map(async (kind) => {
      const target = await startTarget(kind);
      try {
        return await traffic(target, {
          rooms: 2, membersPerRoom: 5, publishersPerRoom: 2, window: 4, seconds: 0.2, textBytes: 100, sampledPerRoom: 1, warmupSeconds: 0.2,
        });
      } finally {
        await target.stop();
      }
    }),
  );
  servers.forEach((kind, i) => {
    const result = results[i]!;
    t.ok(result.sent > 0, `${kind}: sent ${result.sent}`);
    t.equal(result.expected, result.sent * 5, `${kind}: every member of a room is owed every message of its room`);
    t.equal(result.delivered, result.expected, `${kind}: all delivered`);
    t.equal(result.lost, 0, `${kind}: none lost`);
    t.ok(result.latencyMs.samples > 0, `${kind}: latencies were measured`);
    t.ok(result.serverCpuSeconds >= 0 && result.serverPeakRssMiB > 0, `${kind}: server figures come from /proc`);
  });
});
