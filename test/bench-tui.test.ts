// The bench's tui workload (bench/tui.ts) drives the real client in a tmux pane: at a small rate it sees every
// message reach the screen and reads its figures from /proc and from what the client wrote to its pane.

import t from 'tap';
import { resolve } from 'node:path';
import { startTarget } from '../bench/targets.js';
import { tuiWorkload } from '../bench/tui.js';

t.test('tui workload: every message on screen, the figures read', async (t) => {
  const target = await startTarget('ours');
  t.teardown(() => target.stop());
  const client = resolve(import.meta.dirname, '../bin/chat.js');
  const result = await tuiWorkload(target, { client, rate: 200, seconds: 1, columns: 100, rows: 30, starts: 1 });
  t.equal(result.messages, 200);
  t.ok(Number.isFinite(result.lastLagMs), 'the last message showed');
  t.ok(result.framesPerSecond > 0, 'redraws were counted');
  t.ok(result.cpuMsPer1000 >= 0 && result.peakRssMiB >= result.idleRssMiB && result.anonRssMiB > 0, 'CPU and memory were read');
  t.ok(result.startMs > 0 && result.startCpuMs > 0 && result.startBusyMs > 0, 'both starts were timed');
});
