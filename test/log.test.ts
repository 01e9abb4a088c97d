// JSON log lines leave in batches (src/server/log.ts): one write per batch, none lost at a flush.

import t from 'tap';
import { BatchedLines } from '../src/server/log.js';

function sink() {
  const writes: string[] = [];
  return { writes, write: (text: string) => writes.push(text) };
}

t.test('lines wait for the batch: one write for many, in order', async (t) => {
  const out = sink();
  const lines = new BatchedLines(out, 1024, 20);
  for (let i = 0; i < 10; i++) lines.write(`{"n":${i}}\n`);
  t.same(out.writes, [], 'nothing written yet');
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => out.writes.length > 0 && (clearInterval(poll), resolve()), 5);
  });
  t.same(out.writes, [Array.from({ length: 10 }, (_, i) => `{"n":${i}}\n`).join('')], 'one write, every line in order');
});

t.test('a full batch leaves at once; flush writes what waits', (t) => {
  const out = sink();
  const lines = new BatchedLines(out, 100, 60_000);
  const line = `${'x'.repeat(39)}\n`;
  lines.write(line);
  lines.write(line);
  t.equal(out.writes.length, 0);
  lines.write(line);
  t.same(out.writes, [line.repeat(3)], '120 bytes >= 100: written');
  lines.write('last\n');
  lines.flush();
  t.same(out.writes, [line.repeat(3), 'last\n']);
  lines.flush();
  t.equal(out.writes.length, 2, 'nothing waits: no write');
  t.end();
});
