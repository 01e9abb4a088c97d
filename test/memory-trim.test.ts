// After a burst of joins, a quiet server gives the young generation V8 grew for it back (src/server/memory-trim.ts).

import t from 'tap';
import net from 'node:net';
import { createInterface } from 'node:readline';
import {
  GROWN_YOUNG_BYTES,
  QUIET_UTILIZATION,
  RETRIES,
  RETRY_GAP_MS,
  SLOW_GAP_MS,
  shouldTrim,
} from '../src/server/memory-trim.js';
import { startServerBinary } from './helpers/server-binary.js';

t.test('a collection is asked for only when the loop is quiet and the young generation has grown', async (t) => {
  const quiet = QUIET_UTILIZATION / 2;
  const grown = GROWN_YOUNG_BYTES * 4;
  const base = { utilization: quiet, youngBytes: grown, msSinceLastRequest: Infinity, requestsWithoutShrink: 0 };
  t.ok(shouldTrim(base), 'quiet, grown, never asked');
  t.notOk(shouldTrim({ ...base, utilization: QUIET_UTILIZATION * 5 }), 'busy: never');
  t.notOk(shouldTrim({ ...base, youngBytes: GROWN_YOUNG_BYTES }), 'young generation at its usual size: nothing to give back');
  t.notOk(shouldTrim({ ...base, msSinceLastRequest: RETRY_GAP_MS - 1, requestsWithoutShrink: 1 }), 'asked a moment ago');
  t.ok(shouldTrim({ ...base, msSinceLastRequest: RETRY_GAP_MS, requestsWithoutShrink: 1 }), 'asked again after the gap');
  t.notOk(
    shouldTrim({ ...base, msSinceLastRequest: RETRY_GAP_MS * 2, requestsWithoutShrink: RETRIES }),
    'after the retries without a shrink, it backs off',
  );
  t.ok(shouldTrim({ ...base, msSinceLastRequest: SLOW_GAP_MS, requestsWithoutShrink: RETRIES }), 'to one a minute');
});

// 800 connections: under the common limit of 1024 open files, and enough to grow the young generation past 4 MiB.
t.test('the real server shrinks its young generation once 800 joined connections sit idle', async (t) => {
  const { child, port } = startServerBinary(t, ['--memory', '--log-level', 'debug', '--max-per-address', '0', '--connect-rate', '0']);
  const messages: { msg: string; youngMiB?: number }[] = [];
  const shrunk = new Promise<void>((resolve) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; youngMiB?: number };
      if (entry.msg.includes('collection') || entry.msg.includes('young')) messages.push(entry);
      if (entry.msg === 'young generation shrunk') resolve();
    });
  });
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((socket) => socket.destroy()));
  const serverPort = await port;
  for (let batch = 0; batch < 800; batch += 200) {
    const joined: Promise<unknown>[] = [];
    for (let i = batch; i < batch + 200; i++) {
      const socket = net.connect(serverPort, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => {});
      socket.write(`${JSON.stringify({ type: 'join', room: `r${i % 20}`, nick: `n${i}` })}\n`);
      joined.push(new Promise((resolve) => socket.once('data', resolve)));
    }
    await Promise.all(joined);
  }
  await shrunk;
  const [request] = messages;
  t.equal(request?.msg, 'quiet: asked for a full collection to give memory back', 'asked first');
  t.ok(request!.youngMiB! > GROWN_YOUNG_BYTES / 1048576, `the joins grew it (${request!.youngMiB} MiB)`);
  t.ok(messages.at(-1)!.youngMiB! <= GROWN_YOUNG_BYTES / 1048576, `then it shrank (${messages.at(-1)!.youngMiB} MiB)`);
  t.equal(sockets.filter((socket) => socket.destroyed).length, 0, 'no connection was touched');
});
