// Scale-out through Redis (docs/scale-out.md): each test starts its own redis-server on a free loopback port and
// chat-server nodes joined through it, in-process or as real processes where a node has to die.

import t from 'tap';
import net from 'node:net';
import { Redis } from 'ioredis';
import { ChatServer, type ServerOptions } from '../src/server/server.js';
import type { ClusterBackend } from '../src/server/cluster/backend.js';
import { Peer, peer, type Event } from './helpers/wire.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { startServerBinary } from './helpers/server-binary.js';

/** A real node, with a short heartbeat and no history on disk. */
function startBinary(t: Tap, args: string[]) {
  return startServerBinary(t, ['--memory', '--cluster-heartbeat', String(HEARTBEAT_MS), ...args]);
}

// Short, so that a dead node is given up quickly; not so short that a busy test machine looks dead.
const HEARTBEAT_MS = 400;

interface Tap {
  teardown(fn: () => unknown): void;
}

async function node(t: Tap, redis: RedisServer, options: ServerOptions = {}): Promise<{ server: ChatServer; port: number }> {
  const server = new ChatServer({ redisUrl: redis.url, clusterHeartbeatMs: HEARTBEAT_MS, ...options });
  t.teardown(() => server.close());
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port };
}

/** The first event that matches, whether it came already or is still to come. */
async function seen(p: Peer, match: (e: Event) => boolean): Promise<Event> {
  return p.received.find(match) ?? p.next(match);
}

/** Poll until `probe` holds: nothing announces a change of Redis subscriptions. */
async function until(probe: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function msgs(events: Event[]): Event[] {
  return events.filter((e) => e.type === 'msg');
}

/** Send and wait for every ok; the seqs given. */
async function say(p: Peer, room: string, texts: string[]): Promise<number[]> {
  const ids = texts.map((text, i) => {
    const id = `${room}:${i}:${text}`;
    p.send({ type: 'msg', room, text, id });
    return id;
  });
  const seqs: number[] = [];
  for (const id of ids) seqs.push((await p.next({ type: 'ok', id })).seq);
  return seqs;
}

t.test('two nodes: room chat, members, seq shared and in the same order everywhere', async (t) => {
  const redis = await startRedis(t);
  const one = await node(t, redis);
  const two = await node(t, redis);
  const alice = await peer(t, one.port);
  const bob = await peer(t, two.port);
  const carol = await peer(t, two.port);
  await alice.join('test', 'alice');
  const bobJoin = await bob.join('test', 'bob');
  t.same(bobJoin.find((e) => e.type === 'members')?.nicks, ['alice', 'bob'], 'members across nodes');
  t.match(bobJoin.at(-1), { type: 'notice', text: /1 other is here/ });
  t.match(await alice.next({ type: 'join' }), { nick: 'bob' }, 'a join on node two reaches node one');
  await carol.join('other', 'carol');

  // Both nodes send at once: seq comes from Redis, so every member sees one order, with no gaps.
  const sent = Promise.all([say(alice, 'test', ['a1', 'a2', 'a3']), say(bob, 'test', ['b1', 'b2', 'b3'])]);
  const [aliceSeqs, bobSeqs] = await sent;
  t.same([...aliceSeqs, ...bobSeqs].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6]);
  for (const p of [alice, bob]) {
    while (msgs(p.received).length < 6) await p.next({ type: 'msg' });
  }
  const order = (p: Peer) => msgs(p.received).map((e) => `${e.seq}:${e.text}`);
  t.same(order(alice), order(bob), 'both nodes deliver the same order');
  t.same(msgs(alice.received).map((e) => e.seq), [1, 2, 3, 4, 5, 6], 'in seq order');
  t.notOk(carol.received.some((e) => e.type === 'msg'), 'another room hears nothing');

  carol.send({ type: 'rooms', id: 'r' });
  t.same((await carol.next({ type: 'rooms' })).rooms, [
    { room: 'other', members: 1 },
    { room: 'test', members: 2 },
  ]);
  bob.send({ type: 'leave', room: 'test', id: 'l' });
  t.match(await alice.next({ type: 'leave' }), { nick: 'bob' });
  t.same(await bob.next({ type: 'ok', id: 'l' }), { type: 'ok', id: 'l' });
  alice.send({ type: 'who', room: 'test', id: 'w' });
  t.same((await alice.next({ type: 'members', id: 'w' })).nicks, ['alice']);
  alice.destroy();
  carol.send({ type: 'join', room: 'test' });
  await carol.next({ type: 'notice', room: 'test' });
  carol.send({ type: 'who', room: 'test', id: 'w2' });
  const afterDisconnect = await carol.next({ type: 'members', id: 'w2' });
  t.same(afterDisconnect.nicks, ['carol'], 'a disconnect leaves the shared member list');
});

t.test('a connection\'s messages are pipelined in order, and half-close (`printf | nc -N`) still gets every reply', async (t) => {
  const redis = await startRedis(t);
  const one = await node(t, redis);
  const two = await node(t, redis);
  const watcher = await peer(t, two.port);
  await watcher.join('ops', 'watcher');
  const raw = net.connect({ port: one.port, host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => raw.destroy());
  let output = '';
  raw.setEncoding('utf8').on('data', (text) => (output += text));
  const closed = new Promise((resolve) => raw.on('close', resolve));
  const lines = [{ type: 'join', room: 'ops', nick: 'ci' }];
  for (let i = 1; i <= 30; i++) lines.push({ type: 'msg', room: 'ops', text: `step ${i}`, id: i } as never);
  raw.end(lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
  await closed;
  const got = output.trim().split('\n').map((line) => JSON.parse(line) as Event);
  t.same(got.filter((e) => e.type === 'ok').map((e) => e.id), lines.slice(1).map((_, i) => i + 1), 'every ok, in order');
  t.same(msgs(got).map((e) => e.text), lines.slice(1).map((_, i) => `step ${i + 1}`), 'every echo, in order');
  t.same(msgs(got).map((e) => e.seq), msgs(got).map((_, i) => i + 1));
  t.match(got.at(-1), { type: 'bye', code: 'quit' }, 'bye comes last');
  for (let i = 1; i <= 30; i++) await seen(watcher, (e) => e.type === 'msg' && e.text === `step ${i}`);
  t.match(await watcher.next({ type: 'leave' }), { nick: 'ci' });
});

t.test('private messages and nick uniqueness across nodes', async (t) => {
  const redis = await startRedis(t);
  const one = await node(t, redis);
  const two = await node(t, redis);
  const alice = await peer(t, one.port);
  const bob = await peer(t, two.port);
  alice.send({ type: 'hello', nick: 'alice' });
  await alice.next({ type: 'welcome' });
  bob.send({ type: 'hello', nick: 'bob' });
  await bob.next({ type: 'welcome' });
  bob.send({ type: 'msg', to: 'ALICE', text: 'hi from two', id: 1 });
  t.match(await alice.next({ type: 'msg' }), { to: 'alice', from: 'bob', text: 'hi from two' });
  t.match(await bob.next({ type: 'msg' }), { to: 'alice', from: 'bob' }, 'echoed to the sender');
  t.same(await bob.next({ type: 'ok' }), { type: 'ok', id: 1, seq: 1 });
  bob.send({ type: 'msg', to: 'nobody', text: 'hi', id: 2 });
  t.match(await bob.next({ type: 'error' }), { code: 'no_such_user', id: 2 });

  const mallory = await peer(t, two.port);
  mallory.send({ type: 'hello', nick: 'Alice', id: 3 });
  t.match(await mallory.next({ type: 'error' }), { code: 'nick_taken', id: 3 }, 'taken on another node');
  bob.send({ type: 'nick', nick: 'alice', id: 4 });
  t.match(await bob.next({ type: 'error' }), { code: 'nick_taken', id: 4 });
  // Racing for one free nick from both nodes: exactly one wins.
  const racer = await peer(t, one.port);
  racer.send({ type: 'hello', nick: 'zed', id: 5 });
  mallory.send({ type: 'hello', nick: 'zed', id: 5 });
  const replies = await Promise.all([racer.next({ id: 5 }), mallory.next({ id: 5 })]);
  t.same(replies.map((r) => r.type).sort(), ['error', 'welcome']);

  alice.send({ type: 'quit' });
  await alice.closed;
  for (;;) {
    mallory.send({ type: 'nick', nick: 'alice', id: 'again' });
    const reply = await mallory.next({ id: 'again' });
    if (reply.type === 'ok') break;
  }
  t.pass('a nick is free on every node once its owner quits');
  const guests = await Promise.all([peer(t, one.port), peer(t, two.port)]);
  const names = await Promise.all(
    guests.map(async (g) => {
      g.send({ type: 'hello' });
      return (await g.next({ type: 'welcome' })).nick as string;
    }),
  );
  t.not(names[0], names[1], `guest nicks differ across nodes (${names.join(', ')})`);
});

t.test('history after every node restarts comes from Redis; paging reads past the in-memory window', async (t) => {
  const redis = await startRedis(t);
  const first = await node(t, redis, { historyPerRoom: 3 });
  const a = await peer(t, first.port);
  await a.join('log', 'alice');
  t.same(await say(a, 'log', ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']), [1, 2, 3, 4, 5, 6]);
  await first.server.close();

  const second = await node(t, redis, { historyPerRoom: 3 });
  const b = await peer(t, second.port);
  const joined = msgs(await b.join('log', 'bob', { since: 4 }));
  t.same(joined.map((e) => [e.seq, e.text, e.history]), [[5, 'm5', true], [6, 'm6', true]]);
  t.same(await say(b, 'log', ['m7']), [7], 'seq continues');
  b.send({ type: 'history', room: 'log', before: 5, limit: 3, id: 'h' });
  const page = await b.next({ type: 'history', id: 'h' });
  t.same(page.messages.map((m: Event) => m.text), ['m2', 'm3', 'm4']);
  t.equal(page.more, true);
  b.send({ type: 'history', room: 'log', before: 2, id: 'h2' });
  const last = await b.next({ type: 'history', id: 'h2' });
  t.same(last.messages.map((m: Event) => m.seq), [1]);
  t.equal(last.more, false);
});

t.test('Redis restarts empty during traffic: no seq is ever given twice, nothing acknowledged is lost', async (t) => {
  const redis = await startRedis(t);
  const one = await node(t, redis, { rateLimit: 0 });
  const two = await node(t, redis, { rateLimit: 0 });
  const alice = await peer(t, one.port);
  const bob = await peer(t, two.port);
  const late = await peer(t, two.port);
  await alice.join('live', 'alice');
  await bob.join('live', 'bob');
  await say(alice, 'live', ['before']);
  await bob.next({ type: 'msg', text: 'before' });
  // Both nodes keep talking through the outage, one message after the other, each answered ok or refused.
  let talking = true;
  const acked = new Map<number, string>();
  let refused = 0;
  const talk = (p: Peer, who: string) =>
    (async () => {
      for (let i = 0; talking; i++) {
        const id = `${who}-${i}`;
        p.send({ type: 'msg', room: 'live', text: id, id });
        const reply = await p.next((e) => e.id === id && (e.type === 'ok' || e.type === 'error'), 15_000);
        if (reply.type === 'ok') {
          t.notOk(acked.has(reply.seq), `seq ${reply.seq} given once (${id})`);
          acked.set(reply.seq, id);
        } else {
          t.equal(reply.code, 'unavailable', `${id} refused while the link is down`);
          refused++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();
  const traffic = Promise.all([talk(alice, 'a'), talk(bob, 'b')]);
  await new Promise((resolve) => setTimeout(resolve, 200));

  await redis.stop();
  // seen(), not next(): the talkers' own waits move alice's cursor past the notice.
  t.match(await seen(alice, (e) => e.type === 'notice' && /down/.test(e.text)), { type: 'notice' }, 'clients are told');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await redis.restart(); // empty: it kept nothing
  const restored = (e: Event) => e.type === 'notice' && e.text === 'The link between chat servers is back.';
  await seen(alice, restored);
  await seen(bob, restored);
  await new Promise((resolve) => setTimeout(resolve, 300));
  talking = false;
  await traffic;
  t.ok(refused > 0, `${refused} messages were refused while Redis was away`);
  t.ok(acked.size > 10, `${acked.size} messages were acknowledged`);

  // Every acknowledged message reached both nodes' members, under the seq its sender was given.
  const last = Math.max(...acked.keys());
  for (const p of [alice, bob]) await seen(p, (e) => e.type === 'msg' && e.seq === last);
  for (const [who, p] of [['alice', alice], ['bob', bob]] as const) {
    const bySeq = new Map(msgs(p.received).map((e) => [e.seq as number, e.text as string]));
    const missing = [...acked].filter(([seq, text]) => bySeq.get(seq) !== text);
    t.same(missing, [], `${who} saw every acknowledged message under its seq`);
  }
  // And history, rebuilt in the empty Redis from the nodes' rings, still has them for a late joiner.
  const history = (await late.join('live', 'late')).filter((e) => e.history);
  const inHistory = new Map(history.map((e) => [e.seq as number, e.text as string]));
  t.same([...acked].filter(([seq, text]) => inHistory.has(seq) && inHistory.get(seq) !== text), [], 'history agrees');
  t.ok([...acked.keys()].filter((seq) => seq >= last - 50).every((seq) => inHistory.has(seq)), 'the newest acknowledged messages are in history');
  bob.send({ type: 'msg', to: 'alice', text: 'dm after', id: 'dm' });
  t.match(await alice.next({ type: 'msg', to: 'alice' }), { text: 'dm after' }, 'nicks were registered again');
  bob.send({ type: 'who', room: 'live', id: 'w' });
  t.same((await bob.next({ type: 'members', id: 'w' })).nicks, ['alice', 'bob', 'late'], 'members were registered again');
});

t.test('a node is killed: its client reconnects to another node, takes its nick back and resumes with since', async (t) => {
  const redis = await startRedis(t);
  const doomed = startBinary(t, ['--redis', redis.url]);
  const survivor = startBinary(t, ['--redis', redis.url]);
  const [doomedPort, survivorPort] = await Promise.all([doomed.port, survivor.port]);
  const alice = await peer(t, doomedPort);
  const bob = await peer(t, survivorPort);
  await alice.join('ops', 'alice');
  await bob.join('ops', 'bob');
  await say(bob, 'ops', ['one', 'two']);
  while (msgs(alice.received).length < 2) await alice.next({ type: 'msg' });
  const lastSeen = Math.max(...msgs(alice.received).map((e) => e.seq as number));

  const exited = new Promise((resolve) => doomed.child.once('exit', resolve));
  doomed.child.kill('SIGKILL');
  await exited;
  await alice.closed;
  const missed = await say(bob, 'ops', ['three', 'four']);
  t.match(
    await seen(bob, (e) => e.type === 'leave' && e.nick === 'alice'),
    { room: 'ops', reason: 'server lost' },
    'the dead node\'s members are announced as gone',
  );

  const back = await peer(t, survivorPort);
  // The dead node's claim on "alice" lapses after three missed heartbeats.
  let joined: Event[];
  for (;;) {
    const start = back.received.length;
    back.send({ type: 'join', room: 'ops', nick: 'alice', since: lastSeen, id: 'j' });
    const reply = await back.next((e) => (e.type === 'error' && e.id === 'j') || (e.type === 'notice' && e.room === 'ops'));
    if (reply.type === 'notice') {
      joined = back.received.slice(start);
      break;
    }
  }
  t.same(msgs(joined).map((e) => [e.seq, e.text]), [[missed[0], 'three'], [missed[1], 'four']], 'nothing lost');
  t.same(joined.find((e) => e.type === 'members')?.nicks, ['alice', 'bob'], 'the dead node\'s members are gone');
});

t.test('--workers 2: two processes behind one port, joined through Redis', async (t) => {
  const redis = await startRedis(t);
  const server = startBinary(t, ['--redis', redis.url, '--workers', '2']);
  const port = await server.port;
  const check = new Redis(redis.url);
  t.teardown(() => check.disconnect());
  const peers = await Promise.all(Array.from({ length: 4 }, () => peer(t, port)));
  for (const [i, p] of peers.entries()) await p.join('w', `u${i}`);
  const [seq] = await say(peers[0]!, 'w', ['to everyone']);
  for (const p of peers) t.match(await seen(p, (e) => e.type === 'msg' && e.text === 'to everyone'), { seq });
  peers[3]!.send({ type: 'who', room: 'w', id: 'who' });
  t.same((await peers[3]!.next({ type: 'members', id: 'who' })).nicks, ['u0', 'u1', 'u2', 'u3']);
  for (;;) {
    if ((await check.zcard('chat:nodes')) === 2) break;
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
  }
  t.pass('two nodes registered');
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  server.child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops the workers and the primary');
});

t.test('two nodes sharing a data dir: a file shared on one is numbered through Redis and fetched from the other', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { BytesPeer } = await import('./helpers/bytes-peer.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-cluster-files-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const redis = await startRedis(t);
  const one = await node(t, redis, { dataDir });
  const two = await node(t, redis, { dataDir });
  const bob = await peer(t, two.port);
  await bob.join('test', 'bob');
  const alice = await BytesPeer.connect(one.port);
  t.teardown(() => alice.destroy());
  alice.send({ type: 'join', room: 'test', nick: 'alice' });
  await alice.line((e) => e.type !== 'notice');
  alice.send({ type: 'msg', room: 'test', text: 'a file follows' });
  const bytes = Buffer.from('shared across nodes');
  alice.send({ type: 'upload', room: 'test', name: 'x.txt', size: bytes.length });
  alice.socket.write(bytes);
  const ok = await alice.line((e) => e.type !== 'ok');
  t.match(ok, { type: 'ok', seq: 2 });
  t.match(await seen(bob, (e) => e.type === 'file'), { file: ok.file, from: 'alice', seq: 2 });
  const fetcher = await BytesPeer.connect(two.port);
  t.teardown(() => fetcher.destroy());
  fetcher.send({ type: 'download', file: ok.file });
  const header = await fetcher.line();
  t.match(header, { type: 'file_data', size: bytes.length });
  t.ok((await fetcher.bytes(header.length)).equals(bytes), 'the other node serves the bytes');
});

t.test('a node follows only rooms that have members on it: it unsubscribes when the last one leaves', async (t) => {
  const redis = await startRedis(t);
  const one = await node(t, redis);
  const two = await node(t, redis);
  const watcher = new Redis(redis.url);
  t.teardown(() => watcher.disconnect());
  const subscribers = async (room: string) => ((await watcher.pubsub('NUMSUB', `chat:room:${room}`)) as [string, number])[1];

  const alice = await peer(t, one.port);
  const bob = await peer(t, two.port);
  await alice.join('test', 'alice');
  await bob.join('test', 'bob');
  t.equal(await subscribers('test'), 2, 'both nodes follow the room');

  // 60 history requests for rooms nobody is in: read from Redis, followed by nobody.
  for (let i = 0; i < 60; i++) alice.send({ type: 'history', room: `empty-${i}`, id: i });
  await alice.next({ type: 'history', id: 59 });
  const channels = (await watcher.pubsub('CHANNELS', 'chat:room:*')) as string[];
  t.same(channels, ['chat:room:test'], 'history of an empty room subscribes to nothing');

  bob.send({ type: 'leave', room: 'test', id: 'bye' });
  await bob.next({ type: 'ok', id: 'bye' });
  await until(async () => (await subscribers('test')) === 1, 'node two to unsubscribe');
  t.pass('the node whose last member left stops following the room');
  alice.send({ type: 'msg', room: 'test', text: 'still here', id: 'm' });
  t.match(await alice.next({ type: 'ok', id: 'm' }), { seq: 1 });

  // Rejoining follows the room again, and catches up with what was said meanwhile.
  const rejoin = await bob.join('test', 'bob', { since: 0 });
  t.match(rejoin.find((e) => e.history), { text: 'still here', seq: 1 });
  t.equal(await subscribers('test'), 2);
  alice.send({ type: 'msg', room: 'test', text: 'welcome back' });
  t.match(await bob.next({ type: 'msg', text: 'welcome back' }), { seq: 2 });
});

t.test('retention on a cluster: --retain-messages and --retain-days trim the rooms\' streams, their search and their change log; seq goes on', async (t) => {
  const redis = await startRedis(t);
  const watcher = new Redis(redis.url);
  t.teardown(() => watcher.disconnect());
  // A room written 40, 35 and 0 days ago, as the nodes write records.
  const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000).toISOString();
  for (const [seq, days] of [[1, 40], [2, 35], [3, 0]] as const) {
    await watcher.xadd('chat:hist:old', `${seq}-0`, 'r', JSON.stringify({ type: 'msg', room: 'old', from: 'x', text: `old needle ${seq}`, ts: daysAgo(days), seq }));
  }
  await watcher.set('chat:seq:old', 3);

  const options = { retainMessages: 5, retainDays: 30, rateBurst: 1000 };
  const one = await node(t, redis, options);
  const two = await node(t, redis, options);
  const ids = async (stream: string) => (await watcher.xrange(stream, '-', '+')).map(([id]) => id);
  await until(async () => (await ids('chat:hist:old')).length === 1, 'a node to trim history when it starts');
  const alice = await peer(t, one.port);
  await alice.join('kept', 'alice');
  t.same(await say(alice, 'kept', Array.from({ length: 12 }, (_, i) => `needle ${i + 1}`)), Array.from({ length: 12 }, (_, i) => i + 1));
  for (const request of [
    { type: 'edit', room: 'kept', seq: 2, text: 'needle 2 edited' },
    { type: 'edit', room: 'kept', seq: 10, text: 'needle 10 edited' },
    { type: 'react', room: 'kept', seq: 3, emoji: '👍' },
  ]) {
    alice.send({ ...request, id: `change ${request.seq}` });
    await alice.next({ type: 'ok', id: `change ${request.seq}` });
  }

  // (The next turn comes in a minute: run it now.)
  await (one.server.backend as ClusterBackend).retention.run();
  t.same(await ids('chat:hist:kept'), ['8-0', '9-0', '10-0', '11-0', '12-0'], 'the newest 5 are kept');
  t.same(await ids('chat:hist:old'), ['3-0'], 'and none older than 30 days');
  t.same(await watcher.hkeys('chat:changes:kept'), ['10'], 'the changes of what went, gone');
  t.same(await watcher.zrange('chat:changelog:kept', 0, -1), ['10'], 'and their change log');

  const bob = await peer(t, two.port);
  alice.send({ type: 'search', room: 'kept', text: 'needle', limit: 50, id: 's' });
  t.same((await alice.next({ type: 'search', id: 's' })).hits.map((hit: Event) => hit.record.seq), [12, 11, 10, 9, 8], 'search finds only what is kept');
  const resumed = await bob.join('kept', 'bob', { since: 11 });
  t.same(
    resumed.filter((e) => e.history && e.type !== 'msg').map((e) => [e.type, e.seq]),
    [['edit', 10], ['react', 10]],
    'a resume brings no change of a message no longer kept',
  );
  const fresh = await peer(t, two.port);
  const replayed = msgs(await fresh.join('old', 'carol'));
  t.same(replayed.map((e) => e.seq), [3], 'a node opening the room reads only what is kept');
  t.same(await say(fresh, 'old', ['new']), [4], 'seq goes on');
});
