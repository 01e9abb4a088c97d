// Attach and download tokens (docs/protocol.md "hello", "WebSocket"; state/session-tokens.ts) are good on every
// node: a one-shot that lands on another node than the user's window acts for the window all the same, and a
// private file comes down from any node's gateway. Run on one node and (cluster-protocol.test.ts) on two nodes on
// one Redis, where each test's connections alternate between the nodes; and the Redis store's bounds themselves.

import t from 'tap';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { RedisSessionTokens } from '../src/server/cluster/session-tokens.js';
import type { ChatServer } from '../src/server/server.js';
import { startRedis } from './helpers/redis.js';
import { backendUnderTest, peer, server, type Event, type Peer } from './helpers/wire.js';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

/** A new connection (on a cluster, the next node in turn) that attaches with `token`: its reply. */
async function attachWith(t: Tap, port: number, token: string): Promise<{ conn: Peer; reply: Event }> {
  const conn = await peer(t, port);
  return { conn, reply: await ask(conn, { type: 'attach', token, id: 'attach' }) };
}

type Tap = Parameters<typeof peer>[0];

/** Ask again (each time anew) until `check` holds: a connection's close reaches the other nodes a moment later. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; !(await check()); tries++) if (tries > 200) throw new Error(`never: ${what}`);
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test("a one-shot on any node acts for the window: posts, shares a file in the window's room, writes in private", async (t) => {
  const { port } = await server(t);
  const window = await peer(t, port);
  window.send({ type: 'hello', nick: 'alice' });
  const { token } = await window.next({ type: 'welcome' });
  await window.join('class');
  const script = await peer(t, port); // on a cluster: the other node
  const carol = await peer(t, port);
  await carol.join('class', 'carol');

  t.match(await ask(script, { type: 'attach', token, id: 'a' }), { type: 'welcome', nick: 'alice' });
  t.notOk('token' in script.received[0]!, 'an attached connection gets no token of its own');
  t.match(await ask(script, { type: 'post', room: 'class', text: 'from my script', id: 'p' }), { type: 'ok' });
  t.match(await carol.next({ type: 'msg', text: 'from my script' }), { from: 'alice' });

  const bytes = Buffer.from('notes for the class');
  script.send({ type: 'upload', room: 'class', name: 'notes.txt', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), id: 'u' });
  script.write(bytes);
  t.match(await script.next({ id: 'u' }), { type: 'ok' }, "a file into the window's room: the window is a member there");
  t.match(await carol.next({ type: 'file' }), { from: 'alice', name: 'notes.txt' });
  t.match(await ask(script, { type: 'upload', room: 'elsewhere', name: 'x', size: 1, id: 'v' }), { type: 'error', code: 'not_in_room' });
  script.write('x');

  t.match(await ask(script, { type: 'msg', to: 'carol', text: 'psst', id: 'm' }), { type: 'ok' });
  t.match(await carol.next({ type: 'msg', text: 'psst' }), { to: 'carol', from: 'alice' });
  t.match(await window.next({ type: 'msg', text: 'psst' }), { to: 'carol', from: 'alice' }, "the window gets the sender's copy");
  t.notOk(carol.received.some((e) => e.type === 'join' && e.nick !== 'carol' && e.nick !== 'alice'), 'nobody else joined');

  t.match((await attachWith(t, port, 'x'.repeat(22))).reply, { type: 'error', code: 'bad_request' }, 'a made-up token attaches nowhere');
  window.destroy();
  await eventually(async () => (await attachWith(t, port, token)).reply.type === 'error', 'the closed window\'s token to be good nowhere');
  await eventually(async () => (await attachWith(t, port, token)).reply.type === 'error', 'nor on the other node');
});

t.test("a one-shot's away is news in the window's rooms, on whichever node the one-shot lands", async (t) => {
  const { port } = await server(t);
  const window = await peer(t, port);
  const { token } = await ask(window, { type: 'hello', nick: 'alice', id: 'hello' });
  await window.join('class');
  const script = await peer(t, port); // on a cluster: the other node
  const carol = await peer(t, port);
  await carol.join('class', 'carol');

  t.match(await ask(script, { type: 'attach', token, id: 'a' }), { type: 'welcome', nick: 'alice' });
  t.match(await ask(script, { type: 'away', message: 'at lunch', id: 'away' }), { type: 'ok' });
  t.match(await carol.next({ type: 'away' }), { room: 'class', nick: 'alice', away: true, message: 'at lunch' });
  t.match(await window.next({ type: 'away' }), { room: 'class', nick: 'alice', away: true });
  t.same((await ask(carol, { type: 'who', room: 'class', id: 'who' })).away, ['alice']);

  t.match(await ask(script, { type: 'back', id: 'back' }), { type: 'ok' });
  t.match(await carol.next({ type: 'away', away: false }), { room: 'class', nick: 'alice' });
  t.same((await ask(carol, { type: 'who', room: 'class', id: 'who2' })).away ?? [], []);
});

t.test('a token is good on every node as soon as the client can know it, even when keeping it is slow', async (t) => {
  const { port, nodes } = await server(t);
  // A slow Redis: each node keeps a token a while after it was asked to.
  for (const node of nodes) {
    const { tokens } = node.backend;
    const keep = tokens.keep.bind(tokens);
    tokens.keep = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return keep(...args);
    };
  }
  // On a cluster: the window on one node, both one-shots on the other.
  const window = await peer(t, port);
  const first = await peer(t, port);
  await peer(t, port);
  const second = await peer(t, port);
  const { token } = await ask(window, { type: 'hello', nick: 'alice', id: 'hello' });
  t.match(await ask(first, { type: 'attach', token, id: 'attach' }), { type: 'welcome', nick: 'alice' }, 'the welcome\'s token, at once');
  t.match(await ask(window, { type: 'nick', nick: 'alicia', id: 'nick' }), { type: 'ok' });
  t.match(await ask(second, { type: 'attach', token, id: 'attach' }), { type: 'welcome', nick: 'alicia' }, 'and who it is now, once the nick change is answered');
});

t.test("a private file comes down from any node's gateway with the token of a live connection of its recipient", async (t) => {
  const { port, nodes } = await server(t, { webPort: 0 });
  const gatewayOf = (node: ChatServer) => node.webAddress!.port;
  const bob = await peer(t, port);
  bob.send({ type: 'hello', nick: 'bob' });
  const { token } = await bob.next({ type: 'welcome' });
  const alice = await peer(t, port);
  await ask(alice, { type: 'hello', nick: 'alice', id: 'h' });
  const body = Buffer.from('for bob only');
  alice.send({ type: 'upload', to: 'bob', name: 'secret.txt', size: body.length, id: 'u' });
  alice.write(body);
  const { file } = await alice.next({ type: 'ok', id: 'u' });
  await bob.next({ type: 'file', file });

  for (const node of nodes) {
    const fetched = await get(gatewayOf(node), `/files/${file}`, { Authorization: `Bearer ${token}` });
    t.equal(fetched.status, 200, "the recipient's token fetches it from every node");
    t.ok(fetched.body.equals(body));
    t.equal((await get(gatewayOf(node), `/files/${file}`, { Authorization: `Bearer ${'y'.repeat(22)}` })).status, 404);
  }
  bob.destroy();
  const last = nodes.at(-1)!;
  await eventually(async () => (await get(gatewayOf(last), `/files/${file}`, { Authorization: `Bearer ${token}` })).status === 404, 'a closed connection\'s token to open nothing');
});

t.test('the Redis store: tokens of live nodes only, an owner\'s oldest forgotten past its bound, an expiry on each', { skip: backendUnderTest === 'cluster' && 'once is enough' }, async (t) => {
  const redisServer = await startRedis(t);
  const redis = new Redis(redisServer.url);
  t.teardown(() => redis.disconnect());
  const [seconds] = await redis.time();
  await redis.zadd('chat:nodes', Number(seconds) * 1000 + 60_000, 'alive');
  const deadMs = () => 10_000;
  const alive = new RedisSessionTokens(() => redis, 'alive', 'chat:nodes', deadMs);
  const gone = new RedisSessionTokens(() => redis, 'gone', 'chat:nodes', deadMs);
  const elsewhere = new RedisSessionTokens(() => redis, 'elsewhere', 'chat:nodes', deadMs);
  t.teardown(() => [alive, gone, elsewhere].forEach((tokens) => tokens.close()));
  const holder = (nick: string) => ({ nick, principal: `g:${nick}`, account: null });
  const token = (i: number) => `token-${String(i).padStart(16, '0')}`;

  for (let i = 0; i < 70; i++) await alive.keep(token(i), holder(`guest${i}`), 'addr:192.0.2.1');
  await alive.keep(token(100), { nick: 'alice', principal: 'a:1', account: { id: '1', nick: 'alice' } }, 'a:1');
  t.equal(await redis.zcard('chat:attach-of:addr:192.0.2.1'), 64, 'an address has at most 64 tokens');
  t.equal(await elsewhere.find(token(0)), null, 'its oldest are forgotten');
  t.equal(await redis.exists(`chat:attach:${token(0)}`), 0, 'records and all');
  t.same(await elsewhere.find(token(69)), holder('guest69'), 'its newest are good on the other nodes');
  t.same(await elsewhere.find(token(100)), { nick: 'alice', principal: 'a:1', account: { id: '1', nick: 'alice' } }, "an account's own count");
  t.equal(await alive.find(token(69)), null, "a node's own tokens are in its own map, never taken from Redis");
  t.ok((await redis.ttl(`chat:attach:${token(69)}`)) > 0, 'a token expires unless its node keeps it again');
  t.ok((await redis.ttl('chat:attach-of:addr:192.0.2.1')) > 0, 'and so does its owner\'s list');

  await alive.drop(token(69), 'addr:192.0.2.1');
  t.equal(await elsewhere.find(token(69)), null, 'a dropped token is good nowhere');
  t.equal(await redis.zscore('chat:attach-of:addr:192.0.2.1', token(69)), null);
  await gone.keep(token(200), holder('ghost'), 'addr:192.0.2.2');
  t.equal(await elsewhere.find(token(200)), null, 'the token of a node that stopped beating is good nowhere');
  t.equal(await elsewhere.find('bad token!'), null, 'a token of another shape is not looked up');
});
