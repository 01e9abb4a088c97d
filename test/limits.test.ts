// Hard limits (docs/protocol.md "Limits and flow control"): no client, address or burst of requests exhausts the
// server or shuts others out. Each test is one attack, with the limits a real deployment uses unless it says so,
// and is bounded in time and count.

import t from 'tap';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { Peer, peer, server, type Event } from './helpers/wire.js';
import { startServerBinary } from './helpers/server-binary.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return Number(kib) / 1024;
}

/** A raw socket that writes and never reads. */
function deafSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
    socket.pause();
  });
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

t.test('case 1: clients that ask for megabytes of history and never read cannot grow the server', async (t) => {
  const { child, port: portPromise } = startServerBinary(t, ['--memory', '--max-text', '8000']);
  const port = await portPromise;
  const seeder = await peer(t, port);
  await seeder.join('big', 'seeder');
  // 200 messages of 8000 control characters: each is ~48 kB on the wire (\u0001), the room's history ~9.6 MB.
  const text = '\u0001'.repeat(8000);
  for (let i = 1; i <= 200; i++) seeder.send({ type: 'msg', room: 'big', text, id: i });
  await seeder.next({ type: 'ok', id: 200 }, 20_000);
  const before = rssMiB(child.pid!);

  const greedy = await Promise.all([0, 1, 2].map(() => deafSocket(port)));
  for (const socket of greedy) {
    for (let i = 0; i < 60; i++) socket.write(`${JSON.stringify({ type: 'history', room: 'big', limit: 200 })}\n`);
  }
  await sleep(3000);
  const after = rssMiB(child.pid!);
  t.ok(after - before < 100, `RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB: within +100 MiB`);

  const newcomer = await peer(t, port);
  const joined = await newcomer.join('big', 'newcomer');
  const replayed = joined.filter((e) => e.history);
  t.ok(replayed.length > 0 && replayed.length < 200, `the join replays what fits in one reply (${replayed.length} of 200)`);
  t.match(joined.at(-1), { type: 'notice', text: /earlier messages are not repeated here: page back with .*"before":\d+/ }, 'the banner says how to page back');
  newcomer.send({ type: 'history', room: 'big', before: replayed[0]!.seq, limit: 200, id: 'page' });
  const page = await newcomer.next({ type: 'history', id: 'page' });
  t.ok(page.messages.length > 0 && page.more === true, `a history page is bounded in bytes too (${page.messages.length}), with more`);
  for (const socket of greedy) socket.destroy();
});

t.test('case 1: a client that asks faster than it reads is slowed, one that reads gets every reply', async (t) => {
  const { port } = await server(t, { rateLimit: 0, sendqBytes: 256 * 1024, maxTextChars: 8000 });
  const seeder = await peer(t, port);
  await seeder.join('big', 'seeder');
  for (let i = 1; i <= 50; i++) seeder.send({ type: 'msg', room: 'big', text: 'x'.repeat(8000), id: i });
  await seeder.next({ type: 'ok', id: 50 });
  const reader = await peer(t, port);
  // 40 pages of ~400 kB in one write: far more than the sendq, but the reader reads, so none is lost.
  for (let i = 0; i < 40; i++) reader.send({ type: 'history', room: 'big', limit: 200, id: i });
  await reader.next({ type: 'history', id: 39 }, 20_000);
  t.equal(reader.received.filter((e) => e.type === 'history').length, 40, 'every page came');
  t.notOk(reader.received.some((e) => e.type === 'bye'), 'and the reader was not cut off');
});

t.test('case 5: every line counts for flood control: invalid UTF-8, blank and too long lines', async (t) => {
  for (const [what, line] of [
    ['invalid UTF-8', Buffer.from([0xff, 0x0a])],
    ['blank', Buffer.from(' \n')],
    ['too long', Buffer.from(`${'x'.repeat(2000)}\n`)],
  ] as const) {
    // A server each: the first kick bans the address for a while. Lines over 1 KiB are too long there, so that
    // thousands of them arrive far faster than the rate gives tokens back (the kick counts refusals in a row).
    const { port } = await server(t, { maxLineBytes: 1024 });
    const flooder = await peer(t, port);
    const lines = 5000;
    const started = Date.now();
    flooder.write(Buffer.concat(Array.from({ length: lines }, () => line)));
    const bye = await flooder.next({ type: 'bye' }, 10_000);
    t.match(bye, { code: 'flood' }, `${what} lines: cut off as a flood`);
    const answered = flooder.received.filter((e) => e.type === 'error' && e.code !== 'rate_limited').length;
    // The burst of 100, and what the rate (20 a second) gave back while the lines arrived.
    const allowed = 100 + Math.ceil((20 * (Date.now() - started)) / 1000);
    t.ok(answered <= allowed, `${what}: only the burst was answered (${answered} of ${lines}, at most ${allowed})`);
  }
});

t.test('case 3: a flooder that reconnects, from many connections at once, is held back per address', async (t) => {
  const { port } = await server(t);
  const member = await peer(t, port);
  await member.join('room', 'member');
  let delivered = 0;
  member.socket.on('data', (text: string) => {
    for (let i = text.indexOf('"flood'); i !== -1; i = text.indexOf('"flood', i + 1)) delivered++;
  });
  let connections = 0;
  let refused = 0;
  const until = Date.now() + 5000;
  // Eight at once, each sending one burst (which a single connection's limit lets through) and reconnecting.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < until) {
        const socket = await new Promise<net.Socket>((resolve) => {
          const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
          s.on('error', () => {});
        });
        connections++;
        socket.on('data', (chunk) => {
          if (/"code":"(throttled|too_many_connections)"/.test(String(chunk))) refused++;
        });
        const lines = [JSON.stringify({ type: 'join', room: 'room' })];
        for (let i = 0; i < 99; i++) lines.push(JSON.stringify({ type: 'msg', room: 'room', text: 'flood' }));
        socket.write(lines.join('\n') + '\n');
        await Promise.race([closed(socket), sleep(50)]);
        socket.destroy();
      }
    }),
  );
  await sleep(200);
  t.ok(delivered < 2000, `${delivered} flood messages reached the member in 5 s (${connections} connections, ${refused} refused)`);
  member.send({ type: 'ping', id: 'alive' });
  t.match(await member.next({ type: 'pong' }), { id: 'alive' }, 'the member was never cut off');
});

t.test('case 3: connections per address are limited, and their lines share one rate', async (t) => {
  const { port } = await server(t, { maxConnectionsPerAddress: 3, connectRatePerAddress: 0 });
  const held = await Promise.all([0, 1, 2].map(() => peer(t, port)));
  for (const p of held) {
    p.send({ type: 'ping', id: 'in' });
    await p.next({ type: 'pong' });
  }
  const fourth = await peer(t, port);
  t.match(await fourth.next({ type: 'bye' }), { code: 'too_many_connections' });
  held[0]!.destroy();
  await held[0]!.closed;
  await sleep(50);
  const again = await peer(t, port);
  again.send({ type: 'ping', id: 'again' });
  t.match(await again.next(), { type: 'pong', id: 'again' }, 'a slot freed is a slot to take');
});

t.test('case 3: new connections per address per second are limited after a burst', async (t) => {
  const { port } = await server(t, { connectRatePerAddress: 2, maxConnectionsPerAddress: 4 });
  // A burst of 4 (the connection limit), closed again at once: the count is back to 0, the bucket is not.
  for (const p of await Promise.all(Array.from({ length: 4 }, () => peer(t, port)))) {
    p.send({ type: 'ping' });
    t.match(await p.next(), { type: 'pong' });
    p.destroy();
    await p.closed;
  }
  const late = await peer(t, port);
  t.match(await late.next(), { type: 'bye', code: 'throttled', reason: /new connections a second/ });
  await sleep(600);
  const patient = await peer(t, port);
  patient.send({ type: 'ping' });
  t.match(await patient.next(), { type: 'pong' }, 'half a second later (2 a second) there is room again');
});

t.test('case 4: slow connections cannot hold the server\'s slots: a newcomer gets in within 30 s', async (t) => {
  const { port, server: chat } = await server(t, { maxConnections: 60 });
  const slow = await Promise.all(Array.from({ length: 60 }, () => deafSocket(port)));
  // One byte a second, never a newline: a slowloris.
  const drip = setInterval(() => {
    for (const socket of slow) if (!socket.destroyed) socket.write('{');
  }, 1000);
  t.teardown(() => clearInterval(drip));
  const started = Date.now();
  let admitted: Peer | null = null;
  while (!admitted && Date.now() - started < 30_000) {
    const candidate = await peer(t, port);
    candidate.send({ type: 'ping', id: 'me' });
    const answer = await candidate.next();
    if (answer.type === 'pong') admitted = candidate;
    else await sleep(500);
  }
  const seconds = (Date.now() - started) / 1000;
  t.ok(admitted, `a newcomer got in after ${seconds.toFixed(1)} s`);
  t.equal(chat.sessions.size, 1, 'the slow connections were closed, the newcomer stays');
  clearInterval(drip);
  for (const socket of slow) socket.destroy();
});

t.test('case 4: a connection that never says anything is closed', async (t) => {
  const { port } = await server(t, { firstLineTimeoutMs: 500 });
  const silent = await peer(t, port);
  t.match(await silent.next({ type: 'bye' }, 5000), { code: 'timeout', reason: /nothing was said/ });
  const chatty = await peer(t, port);
  chatty.send({ type: 'hello', nick: 'chatty' });
  await chatty.next({ type: 'welcome' });
  await sleep(800);
  chatty.send({ type: 'ping', id: 'still' });
  t.match(await chatty.next({ type: 'pong' }), { id: 'still' }, 'one that spoke stays');
});

t.test('case 12: a join into a 5000-member room lists some members with the count, and announces nothing to all', async (t) => {
  const { port, server: chat } = await server(t, { maxConnectionsPerAddress: 0, connectRatePerAddress: 0, rateLimit: 0 });
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((socket) => socket.destroy()));
  const early = await peer(t, port);
  await early.join('hall', 'early');
  // 5000 members, 100 at a time, each waiting for its own banner.
  for (let batch = 0; batch < 50; batch++) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect({ port, host: '127.0.0.1' }, () => {
            socket.write(`${JSON.stringify({ type: 'join', room: 'hall', nick: `m${batch * 100 + i}` })}\n`);
          });
          let seen = '';
          const onData = (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.includes('Welcome to hall')) {
              socket.off('data', onData);
              socket.resume();
              resolve();
            }
          };
          socket.on('data', onData);
          socket.once('error', reject);
          sockets.push(socket);
        }),
      ),
    );
  }
  t.equal(chat.rooms.get('hall')?.members.size, 5001);
  const joinsSeenEarly = () => early.received.filter((e) => e.type === 'join').length;
  const before = joinsSeenEarly();
  t.ok(before <= 1000, `early saw ${before} joins: none once the room passed 1000 members`);

  const newcomer = await peer(t, port);
  const started = process.hrtime.bigint();
  const joined = await newcomer.join('hall', 'newcomer');
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const members = joined.find((e) => e.type === 'members')!;
  t.equal(members.count, 5002, `the count of all members (the join took ${ms.toFixed(1)} ms)`);
  t.equal(members.nicks.length, 500, 'and --members-list nicks of them');
  t.match(joined.find((e) => e.type === 'join'), { nick: 'newcomer' }, 'the joiner still gets its own join');
  t.match(joined.at(-1), { type: 'notice', text: /5001 others are here/ });
  early.send({ type: 'ping', id: 'after' });
  await early.next({ type: 'pong', id: 'after' });
  t.equal(joinsSeenEarly(), before, 'nobody else was told');
  newcomer.send({ type: 'leave', room: 'hall', id: 'bye' });
  t.match(await newcomer.next({ type: 'leave' }), { nick: 'newcomer' }, 'the leaver still gets its own leave');
});

t.test('case 2: one address cannot fill the room table; empty rooms leave it and come back with their history', async (t) => {
  const dataDir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/chat-limits-`);
  t.teardown(() => import('node:fs').then((fs) => fs.rmSync(dataDir, { recursive: true, force: true })));
  const { port, server: chat } = await server(t, { dataDir, emptyRoomExpiryMs: 300, pingIntervalMs: 200 });
  const squatters = [await Peer.connect(port), await Peer.connect(port)];
  t.teardown(() => squatters.forEach((p) => p.destroy()));
  squatters.forEach((p, n) => {
    for (let i = 0; i < 100; i++) p.send({ type: 'join', room: `s${n}-${i}`, nick: `squat${n}` });
  });
  for (const [n, p] of squatters.entries()) await p.next((e) => e.type === 'notice' && e.room === `s${n}-99`);
  const third = await Peer.connect(port);
  t.teardown(() => third.destroy());
  third.send({ type: 'join', room: 'one-more', nick: 'squat2', id: 'more' });
  t.match(await third.next({ id: 'more' }), { type: 'error', code: 'too_many_rooms', message: /one address may open at most 200 rooms/ });
  third.send({ type: 'join', room: 's0-5', id: 'existing' });
  t.match(await third.next({ type: 'members', id: 'existing' }), { room: 's0-5' }, 'an existing room is still open to it');

  const elsewhere = await Peer.connect(port, '127.0.0.2');
  t.teardown(() => elsewhere.destroy());
  const joined = await elsewhere.join('class', 'teacher');
  t.match(joined.at(-1), { type: 'notice', text: /Welcome to class/ }, 'another address still opens rooms');
  elsewhere.send({ type: 'msg', room: 'class', text: 'remember me', id: 'm' });
  t.match(await elsewhere.next({ type: 'ok', id: 'm' }), { seq: 1 });

  // Everyone leaves: the empty rooms leave the table, and the squatters' share with them.
  for (const p of [...squatters, third, elsewhere]) p.destroy();
  const deadline = Date.now() + 5000;
  while (chat.rooms.get('class') && Date.now() < deadline) await sleep(50);
  t.notOk(chat.rooms.get('class'), 'an empty room left the table');
  const back = await peer(t, port);
  const again = await back.join('class', 'teacher');
  t.match(again.find((e) => e.history), { text: 'remember me', seq: 1 }, 'and came back with its history from disk');
  back.send({ type: 'join', room: 'one-more', id: 'now' });
  t.match(await back.next({ type: 'members', id: 'now' }), { room: 'one-more' }, 'the address may open rooms again');
});

t.test('case 9: a downloader that never reads holds little and is cut off once it stalls', async (t) => {
  const { port, server: chat } = await server(t, { pingTimeoutMs: 1500, rateLimit: 0 });
  const uploader = await peer(t, port);
  await uploader.join('files', 'up');
  const bytes = Buffer.alloc(24 * 1024 * 1024, 7);
  uploader.write(`${JSON.stringify({ type: 'upload', room: 'files', name: 'big.bin', size: bytes.length })}\n`);
  uploader.write(bytes);
  const ok = await uploader.next({ type: 'ok' }, 20_000);

  const deaf = await deafSocket(port);
  t.teardown(() => deaf.destroy());
  deaf.write(`${JSON.stringify({ type: 'download', file: ok.file })}\n`);
  await sleep(700);
  const session = [...chat.sessions].find((s) => s.remote.endsWith(`:${deaf.localPort}`))!;
  t.ok(session, 'the downloader is connected');
  const held = session.stream.writableLength;
  t.ok(held <= 128 * 1024, `the server holds ${Math.round(held / 1024)} KiB of the file for it (kernel buffers aside)`);
  // The client reads nothing, so it would not see the close: watch the server's side.
  const deadline = Date.now() + 10_000;
  while (!session.closed && Date.now() < deadline) await sleep(50);
  t.ok(session.closed, 'it was cut off after taking nothing for the stall time');
  uploader.send({ type: 'ping', id: 'fine' });
  t.match(await uploader.next({ type: 'pong' }), { id: 'fine' }, 'others are unaffected');
});
