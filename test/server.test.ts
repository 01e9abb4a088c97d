import t from 'tap';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { duplexPair } from 'node:stream';
import { ChatServer } from '../src/server/server.js';
import { peer, peerAt, server, type Event } from './helpers/wire.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

t.test('hello gets welcome; the server says nothing before the first line', async (t) => {
  const { port } = await server(t, { motd: 'be nice' });
  const alice = await peer(t, port);
  alice.send({ type: 'hello', nick: 'alice', id: 1 });
  const welcome = await alice.next();
  t.match(welcome, { type: 'welcome', nick: 'alice', proto: 1, motd: 'be nice', id: 1 });
  t.match(welcome.server, /^chat-server \d+\.\d+\.\d+$/);
  t.equal(alice.received.length, 1, 'welcome is the first line');
});

t.test('join: everyone sees it, the joiner gets members, history and the banner', async (t) => {
  const { port } = await server(t);
  const bob = await peer(t, port);
  const alice = await peer(t, port);
  await bob.join('test', 'bob');
  const lines = await alice.join('Test', 'alice');
  t.match(lines[0], { type: 'join', room: 'test', nick: 'alice' });
  t.match(lines[0]!.ts, ISO_MS);
  t.same(lines[1], { type: 'members', room: 'test', nicks: ['alice', 'bob'] });
  t.match(lines.at(-1), { type: 'notice', room: 'test', text: /Welcome to test/ });
  t.match(await bob.next({ type: 'join' }), { room: 'test', nick: 'alice' });
});

t.test('join without a nick gets a guest nick', async (t) => {
  const { port } = await server(t);
  const anon = await peer(t, port);
  const [join] = await anon.join('test');
  t.match(join!.nick, /^guest-([0-9a-f]{4}-)?\d+$/, 'guest-N (on a cluster, with the node\'s tag)');
});

t.test('room isolation: two clients in "test" chat, one in "anothertest" sees nothing', async (t) => {
  const { port } = await server(t);
  const [a, b, other] = await Promise.all([peer(t, port), peer(t, port), peer(t, port)]);
  await a.join('test', 'a');
  await b.join('test', 'b');
  await other.join('anothertest', 'other');
  a.send({ type: 'msg', room: 'test', text: 'Hello world!' });
  const seen = await b.next({ type: 'msg' });
  t.match(seen, { type: 'msg', room: 'test', from: 'a', text: 'Hello world!', seq: 1 });
  t.match(seen.ts, ISO_MS);
  t.match(await a.next({ type: 'msg' }), { from: 'a', text: 'Hello world!', seq: 1 }, 'the sender gets its echo');
  other.send({ type: 'ping', id: 'sync' });
  await other.next({ type: 'pong', id: 'sync' });
  t.notOk(other.received.some((e) => e.type === 'msg' || (e.type === 'join' && e.nick !== 'other')));
});

t.test('seq increases by one per message in each room; ok carries the seq', async (t) => {
  const { port } = await server(t);
  const a = await peer(t, port);
  await a.join('one', 'a');
  await a.join('two');
  for (const room of ['one', 'one', 'two', 'one']) a.send({ type: 'msg', room, text: 'x', id: room });
  const oks: Event[] = [];
  for (let i = 0; i < 4; i++) oks.push(await a.next({ type: 'ok' }));
  t.same(oks.map((ok) => ok.seq), [1, 2, 1, 3]);
});

t.test('multi-line text and /me actions are kept as sent', async (t) => {
  const { port } = await server(t);
  const a = await peer(t, port);
  await a.join('test', 'a');
  a.send({ type: 'msg', room: 'test', text: 'line one\nline two\n你好 😀' });
  t.match(await a.next({ type: 'msg' }), { text: 'line one\nline two\n你好 😀' });
  a.send({ type: 'msg', room: 'test', text: 'waves', me: true });
  t.match(await a.next({ type: 'msg' }), { text: 'waves', me: true });
});

t.test('private messages reach the recipient and echo to the sender only', async (t) => {
  const { port } = await server(t);
  const [alice, bob, carol] = await Promise.all([peer(t, port), peer(t, port), peer(t, port)]);
  await alice.join('test', 'alice');
  await bob.join('test', 'bob');
  await carol.join('test', 'carol');
  bob.send({ type: 'msg', to: 'ALICE', text: 'hi', id: 9 });
  const expected = { type: 'msg', to: 'alice', from: 'bob', text: 'hi' };
  t.match(await alice.next({ type: 'msg' }), expected);
  t.match(await bob.next({ type: 'msg' }), expected);
  t.same(await bob.next({ type: 'ok' }), { type: 'ok', id: 9, seq: 1 });
  carol.send({ type: 'ping', id: 1 });
  await carol.next({ type: 'pong' });
  t.notOk(carol.received.some((e) => e.type === 'msg'));
  bob.send({ type: 'msg', to: 'nobody', text: 'hi', id: 10 });
  t.match(await bob.next({ type: 'error' }), { code: 'no_such_user', id: 10 });
});

t.test('history: late joiners get recent messages oldest first; since filters; the cap holds', async (t) => {
  const { port } = await server(t, { historyPerRoom: 3 });
  const a = await peer(t, port);
  await a.join('test', 'a');
  for (let i = 1; i <= 5; i++) a.send({ type: 'msg', room: 'test', text: `m${i}`, id: i });
  await a.next({ type: 'ok', id: 5 });
  const late = await peer(t, port);
  const got = (await late.join('test', 'late')).filter((e) => e.type === 'msg');
  t.same(got.map((e) => [e.text, e.seq, e.history]), [['m3', 3, true], ['m4', 4, true], ['m5', 5, true]]);
  const resumed = await peer(t, port);
  const since = (await resumed.join('test', 'resumed', { since: 4 })).filter((e) => e.type === 'msg');
  t.same(since.map((e) => e.seq), [5]);
});

t.test('retention: a join replays from memory only what --retain-messages and --retain-days keep', async (t) => {
  const { port, nodes } = await server(t, { retainMessages: 3, retainDays: 30, rateBurst: 1000 });
  const a = await peer(t, port);
  await a.join('kept', 'a');
  const b = await peer(t, port); // on the other node of a cluster: the room's ring is on both
  await b.join('kept', 'b');
  for (let i = 1; i <= 8; i++) a.send({ type: 'msg', room: 'kept', text: `m${i}`, id: i });
  await a.next({ type: 'ok', id: 8 });
  await b.next({ type: 'msg', text: 'm8' });
  const replayed = async (nick: string) =>
    (await (await peer(t, port)).join('kept', nick)).filter((e) => e.type === 'msg').map((e) => e.seq);

  // (Retention comes each minute: run it now, on every node.)
  for (const node of nodes) node.forgetExpiredHistory();
  t.same(await replayed('c'), [6, 7, 8], 'the newest 3');
  t.same(await replayed('d'), [6, 7, 8], 'on each node');
  for (const node of nodes) node.forgetExpiredHistory(Date.now() + 31 * 24 * 3600 * 1000);
  t.same(await replayed('e'), [], 'none older than 30 days');
  t.same(await replayed('f'), []);
  a.send({ type: 'msg', room: 'kept', text: 'm9', id: 9 });
  t.equal((await a.next({ type: 'msg', text: 'm9' })).seq, 9, 'seq goes on');
});

t.test('history request pages back through older messages', async (t) => {
  const { port } = await server(t);
  const a = await peer(t, port);
  await a.join('test', 'a');
  for (let i = 1; i <= 5; i++) a.send({ type: 'msg', room: 'test', text: `m${i}`, id: i });
  await a.next({ type: 'ok', id: 5 });
  a.send({ type: 'history', room: 'test', before: 5, limit: 2, id: 'h' });
  const page = await a.next({ type: 'history' });
  t.same(page.messages.map((m: Event) => m.seq), [3, 4]);
  t.equal(page.more, true);
  t.equal(page.id, 'h');
  a.send({ type: 'history', room: 'test', before: 3, limit: 5 });
  const last = await a.next({ type: 'history' });
  t.same(last.messages.map((m: Event) => m.seq), [1, 2]);
  t.equal(last.more, false);
});

t.test('nick: unique case-insensitively, changes announced to the rooms', async (t) => {
  const { port } = await server(t);
  const [a, b] = await Promise.all([peer(t, port), peer(t, port)]);
  await a.join('test', 'alice');
  await b.join('test', 'bob');
  b.send({ type: 'nick', nick: 'Alice', id: 1 });
  const taken = await b.next({ type: 'error' });
  t.match(taken, { code: 'nick_taken', id: 1, suggest: 'Alice2' });
  t.match(taken.message, /taken.*"Alice2"/);
  const c = await peer(t, port);
  c.send({ type: 'hello', nick: 'ALICE' });
  t.match(await c.next(), { type: 'error', code: 'nick_taken' });
  b.send({ type: 'nick', nick: 'robert', id: 2 });
  t.match(await a.next({ type: 'nick' }), { room: 'test', old: 'bob', nick: 'robert' });
  t.same(await b.next({ type: 'ok' }), { type: 'ok', id: 2 });
  b.send({ type: 'nick', nick: 'bad nick' });
  t.match(await b.next({ type: 'error' }), { code: 'bad_nick' });
  b.send({ type: 'who', room: 'test', id: 3 });
  t.same(await b.next({ type: 'members' }), { type: 'members', room: 'test', nicks: ['alice', 'robert'], id: 3 });
});

t.test('look-alikes of an online nick are taken: Cyrillic, fullwidth, mathematical, dotless i', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  const lookalikes = ['\u0430lice', '\uFF41\uFF4C\uFF49\uFF43\uFF45', '\u{1D5BA}lice', 'al\u0131ce', '\u0410LICE'];
  for (const nick of lookalikes) {
    const other = await peer(t, port); // on a cluster, each on the next node
    other.send({ type: 'hello', nick, id: 1 });
    const taken = await other.next({ type: 'error' });
    t.match(taken, { code: 'nick_taken', id: 1, suggest: `${nick}2` }, JSON.stringify(nick));
    other.send({ type: 'join', room: 'test', nick, id: 2 });
    t.match(await other.next({ type: 'error' }), { code: 'nick_taken', id: 2 }, `${JSON.stringify(nick)} joining`);
  }
  const bob = await peer(t, port);
  await bob.join('test', 'bob');
  bob.send({ type: 'nick', nick: '\u0430l\u0456ce', id: 3 });
  t.match(await bob.next({ type: 'error' }), { code: 'nick_taken', id: 3 }, 'a nick change to a look-alike');
  bob.send({ type: 'who', room: 'test', id: 4 });
  t.same((await bob.next({ type: 'members' })).nicks, ['alice', 'bob'], 'nobody became a second alice');
});

t.test('Chinese nicks are fine, each its own nick', async (t) => {
  const { port } = await server(t);
  const [a, b, c] = await Promise.all([peer(t, port), peer(t, port), peer(t, port)]);
  await a.join('test', '张三');
  await b.join('test', '张四');
  c.send({ type: 'hello', nick: '张三' });
  t.match(await c.next({ type: 'error' }), { code: 'nick_taken' });
  a.send({ type: 'msg', to: '张四', text: '你好' });
  t.match(await b.next({ type: 'msg' }), { from: '张三', to: '张四', text: '你好' });
  a.send({ type: 'who', room: 'test' });
  t.same((await a.next({ type: 'members' })).nicks.sort(), ['张三', '张四'].sort());
});

t.test('invisible characters in a nick are bad_nick, named in the message', async (t) => {
  const { port } = await server(t);
  const a = await peer(t, port);
  const cases: [string, RegExp][] = [
    ['al\u034Fice', /invisible.*U\+034F/], // combining grapheme joiner
    ['alice\uFE0F', /invisible.*U\+FE0F/], // variation selector 16
    ['al\u17B4ice', /invisible.*U\+17B4/], // Khmer inherent vowel
    ['\u3164', /invisible.*U\+3164/], // Hangul filler
    ['a\u200Bb', /invisible.*U\+200B/], // zero-width space
  ];
  for (const [nick, message] of cases) {
    a.send({ type: 'hello', nick });
    t.match(await a.next({ type: 'error' }), { code: 'bad_nick', message }, String(message));
  }
  await a.join('test', 'a');
  a.send({ type: 'nick', nick: 'a\uFE0F' });
  t.match(await a.next({ type: 'error' }), { code: 'bad_nick' }, 'nor can a nick change to one');
});

t.test('guest nicks are only handed out: asking for one by name is bad_nick', async (t) => {
  const { port } = await server(t);
  const anon = await peer(t, port);
  const [join] = await anon.join('test');
  const guest: string = join!.nick;
  t.match(guest, /^guest-/);
  const other = await peer(t, port);
  for (const nick of [guest, 'guest-7', 'GUEST-99', 'guest-1a2b-3', 'gu\u0435st-5']) {
    other.send({ type: 'hello', nick, id: nick });
    t.match(await other.next({ type: 'error' }), { code: 'bad_nick', id: nick, message: /guest-/ }, nick);
  }
  other.send({ type: 'join', room: 'test', nick: 'guest-8' });
  t.match(await other.next({ type: 'error' }), { code: 'bad_nick' });
  await other.join('test', 'other');
  other.send({ type: 'nick', nick: 'guest-8' });
  t.match(await other.next({ type: 'error' }), { code: 'bad_nick' });
  other.send({ type: 'msg', to: guest, text: 'hi guest' });
  t.match(await anon.next({ type: 'msg' }), { from: 'other', to: guest, text: 'hi guest' }, 'a guest can still be written to');
  const second = await peer(t, port);
  const [next] = await second.join('test');
  t.match(next!.nick, /^guest-/, 'the server still hands out guest nicks');
  t.not(next!.nick, guest);
});

t.test('a nick is free again once its owner disconnects', async (t) => {
  const { port } = await server(t);
  const a = await peer(t, port);
  a.send({ type: 'hello', nick: 'alice' });
  await a.next({ type: 'welcome' });
  a.destroy();
  await a.closed;
  const b = await peer(t, port);
  for (;;) {
    b.send({ type: 'hello', nick: 'alice' });
    const reply = await b.next((e) => e.type === 'welcome' || e.type === 'error');
    if (reply.type === 'welcome') break;
  }
  t.pass('alice taken again');
});

t.test('leave, quit and disconnect are announced to the rooms concerned', async (t) => {
  const { port } = await server(t);
  const [a, b, c, d] = await Promise.all([peer(t, port), peer(t, port), peer(t, port), peer(t, port)]);
  await a.join('test', 'a');
  await b.join('test', 'b');
  await c.join('test', 'c');
  await d.join('test', 'd');
  b.send({ type: 'leave', room: 'test', id: 1 });
  t.match(await a.next({ type: 'leave' }), { room: 'test', nick: 'b' });
  t.match(await b.next({ type: 'leave' }), { room: 'test', nick: 'b' }, 'the leaver sees its own leave');
  t.same(await b.next({ type: 'ok' }), { type: 'ok', id: 1 });
  b.send({ type: 'leave', room: 'test', id: 2 });
  t.match(await b.next({ type: 'error' }), { code: 'not_in_room', id: 2 });
  c.send({ type: 'quit', reason: 'lunch' });
  t.match(await c.next({ type: 'bye' }), { code: 'quit' });
  await c.closed;
  t.match(await a.next({ type: 'leave' }), { nick: 'c', reason: 'lunch' });
  d.socket.resetAndDestroy();
  t.match(await a.next({ type: 'leave' }), { nick: 'd', reason: 'connection lost' });
  a.send({ type: 'who', room: 'test' });
  t.same((await a.next({ type: 'members' })).nicks, ['a']);
});

t.test('news of two rooms and a message between it reach a member of both in the order made, each once', async (t) => {
  // A room's presence news is kept once for the room until the next presence pass (state/room-news.ts): a member
  // takes one room's lazily, another room's one by one; a message, a leave and a join again in between.
  const { port } = await server(t);
  const [w, a, b, c, e] = await Promise.all([peer(t, port), peer(t, port), peer(t, port), peer(t, port), peer(t, port)]);
  await w.join('one', 'w');
  await w.join('two');
  await c.join('one', 'c');
  await e.join('two', 'e');
  const start = w.received.indexOf(await w.next({ type: 'join', room: 'two', nick: 'e' })) + 1;
  await a.join('one', 'a');
  await b.join('two', 'b');
  c.send({ type: 'msg', room: 'one', text: 'between', id: 1 });
  await c.next({ type: 'ok', id: 1 });
  e.send({ type: 'leave', room: 'two', id: 2 });
  await e.next({ type: 'ok', id: 2 });
  await e.join('two');
  a.send({ type: 'leave', room: 'one', id: 3 });
  await a.next({ type: 'ok', id: 3 });
  await w.next({ type: 'leave', room: 'one', nick: 'a' });
  w.send({ type: 'ping', id: 'after' });
  await w.next({ type: 'pong', id: 'after' });
  const seen = w.received.slice(start).filter((event) => ['join', 'leave', 'msg'].includes(event.type));
  t.same(
    seen.map((event) => `${event.room} ${event.type} ${event.nick ?? event.from}`),
    ['one join a', 'two join b', 'one msg c', 'two leave e', 'two join e', 'one leave a'],
  );
});

t.test('rooms lists the occupied rooms with their member counts', async (t) => {
  const { port } = await server(t);
  const [a, b] = await Promise.all([peer(t, port), peer(t, port)]);
  await a.join('zeta', 'a');
  await a.join('alpha');
  await b.join('alpha', 'b');
  b.send({ type: 'rooms', id: 'r' });
  t.same(await b.next({ type: 'rooms' }), {
    type: 'rooms',
    rooms: [
      { room: 'alpha', members: 2 },
      { room: 'zeta', members: 1 },
    ],
    id: 'r',
  });
});

t.test('every error code, and the connection lives on after each', async (t) => {
  const { port } = await server(t, { maxLineBytes: 256, maxRoomsPerConnection: 1 });
  const a = await peer(t, port);
  const other = await peer(t, port);
  await other.join('x', 'taken');
  const cases: [string | object, string][] = [
    ['{not json', 'bad_json'],
    [{ nope: 1 }, 'bad_request'],
    [{ type: 'teleport' }, 'unknown_type'],
    ['x'.repeat(1000), 'line_too_long'],
    [{ type: 'hello', nick: 'has space' }, 'bad_nick'],
    [{ type: 'hello', nick: 'taken' }, 'nick_taken'],
    [{ type: 'join', room: 'bad room' }, 'bad_room'],
    [{ type: 'msg', room: 'test', text: 'hi' }, 'not_in_room'],
    [{ type: 'msg', to: 'ghost', text: 'hi' }, 'no_such_user'],
  ];
  for (const [line, code] of cases) {
    a.write(typeof line === 'string' ? line + '\n' : JSON.stringify(line) + '\n');
    const error = await a.next({ type: 'error' });
    t.equal(error.code, code, code);
    t.ok(error.message.length > 10, `${code} explains itself: ${error.message}`);
  }
  await a.join('one', 'a');
  a.send({ type: 'join', room: 'two' });
  t.match(await a.next({ type: 'error' }), { code: 'too_many_rooms' });
  a.write(Buffer.from([0xc3, 0x28, 0x0a]));
  t.match(await a.next({ type: 'error' }), { code: 'bad_json', message: /UTF-8/ });
  a.send({ type: 'ping', id: 'alive' });
  t.match(await a.next({ type: 'pong' }), { id: 'alive' });
});

t.test('rate_limited past the burst, and a persistent flood is disconnected', async (t) => {
  const { port } = await server(t, { rateLimit: 1, rateBurst: 5, floodKick: 20 });
  const a = await peer(t, port);
  const b = await peer(t, port);
  await b.join('test', 'b');
  a.write('{"type":"ping"}\n'.repeat(7));
  const limited = await a.next({ type: 'error' });
  t.match(limited, { code: 'rate_limited' });
  t.equal(a.received.filter((e) => e.type === 'pong').length, 5, 'the burst passed');
  a.write('{"type":"ping"}\n'.repeat(40));
  t.match(await a.next({ type: 'bye' }), { code: 'flood' });
  await a.closed;
  b.send({ type: 'ping', id: 1 });
  t.match(await b.next({ type: 'pong' }), { id: 1 }, 'others are unaffected');
});

t.test('--rate-limit 0 turns flood control off', async (t) => {
  const { port } = await server(t, { rateLimit: 0 });
  const a = await peer(t, port);
  a.write('{"type":"ping"}\n'.repeat(500) + '{"type":"ping","id":"last"}\n');
  await a.next({ type: 'pong', id: 'last' });
  t.notOk(a.received.some((e) => e.type === 'error'));
});

t.test('half-close: every line of `printf | nc -N` is acted on and answered, then the socket closes', async (t) => {
  const { port } = await server(t);
  const watcher = await peer(t, port);
  await watcher.join('ops', 'watcher');
  const raw = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => raw.destroy());
  let output = '';
  raw.setEncoding('utf8').on('data', (text) => (output += text));
  const closed = new Promise((resolve) => raw.on('close', resolve));
  raw.end('{"type":"join","room":"ops","nick":"ci"}\n{"type":"msg","room":"ops","text":"deploy done"}\n');
  await closed;
  const lines = output.trim().split('\n').map((line) => JSON.parse(line));
  t.match(lines.find((e) => e.type === 'msg'), { from: 'ci', text: 'deploy done' });
  t.match(lines.at(-1), { type: 'bye', code: 'quit' });
  t.match(await watcher.next({ type: 'msg' }), { from: 'ci', text: 'deploy done' });
  t.match(await watcher.next({ type: 'leave' }), { nick: 'ci' });
});

t.test('a client that disconnects mid-line disturbs nobody', async (t) => {
  const { port } = await server(t);
  const a = await peer(t, port);
  await a.join('test', 'a');
  const b = await peer(t, port);
  b.write('{"type":"join","room":"te');
  b.destroy();
  await b.closed;
  a.send({ type: 'msg', room: 'test', text: 'still here' });
  t.match(await a.next({ type: 'msg' }), { text: 'still here' });
});

t.test('a slow consumer is cut off past its sendq; the others keep receiving', async (t) => {
  const { port, nodes } = await server(t, { sendqBytes: 64 * 1024, rateLimit: 0 });
  const sessions = () => nodes.flatMap((node) => [...node.sessions]);
  const fast = await peer(t, port);
  await fast.join('busy', 'fast');
  let fastMessages = 0;
  fast.socket.on('data', (text: string) => {
    for (let i = text.indexOf('"type":"msg"'); i !== -1; i = text.indexOf('"type":"msg"', i + 1)) fastMessages++;
  });
  const slow = await peer(t, port);
  await slow.join('busy', 'slow');
  slow.socket.pause(); // stops reading: the kernel's buffers fill, then the server's sendq
  const publisher = await peer(t, port);
  await publisher.join('busy', 'pub');
  const slowSession = sessions().find((s) => s.nick === 'slow')!;
  const text = 'x'.repeat(1000);
  let sent = 0;
  while (!slowSession.closed && sent < 100_000) {
    // Bursts the publisher itself can take back (its echoes) within the hard sendq.
    for (let i = 0; i < 40; i++) publisher.send({ type: 'msg', room: 'busy', text, id: ++sent });
    await publisher.next({ type: 'ok', id: sent }, 20000);
    publisher.drain();
  }
  // On a cluster the leave comes back through Redis: it may still be on its way.
  const isSlowLeave = (e: Event) => e.type === 'leave' && e.nick === 'slow';
  const leave = publisher.received.find(isSlowLeave) ?? (await publisher.next(isSlowLeave));
  t.match(leave?.reason, /sendq_exceeded/, `cut off after ${sent} messages`);
  t.notOk(sessions().some((s) => s.nick === 'slow'), 'the slow session is gone');
  publisher.send({ type: 'ping', id: 'end' });
  await publisher.next({ type: 'pong', id: 'end' });
  fast.send({ type: 'ping', id: 'end' });
  await fast.next({ type: 'pong', id: 'end' }, 20000);
  t.equal(fastMessages, sent, 'the fast member received every message');
});

t.test('a client that neither answers pings nor says anything is reaped', async (t) => {
  const { port } = await server(t, { pingIntervalMs: 100, pingTimeoutMs: 100 });
  const quiet = await peer(t, port);
  const lively = await peer(t, port);
  quiet.send({ type: 'hello', nick: 'quiet' });
  lively.send({ type: 'hello', nick: 'lively' });
  await lively.next({ type: 'welcome' });
  const answer = (async () => {
    for (let i = 0; i < 3; i++) {
      await lively.next({ type: 'ping' });
      lively.send({ type: 'pong' });
    }
  })();
  t.match(await quiet.next({ type: 'ping' }), { type: 'ping' });
  t.match(await quiet.next({ type: 'bye' }), { code: 'ping_timeout' });
  await quiet.closed;
  await answer;
  t.notOk(lively.received.some((e) => e.type === 'bye'), 'a client that answers stays');
});

t.test('shutdown tells every client, flushes and closes', async (t) => {
  const chat = new ChatServer();
  const { port } = await chat.listen(0, '127.0.0.1');
  const a = await peer(t, port);
  await a.join('test', 'a');
  await chat.close();
  t.match(await a.next({ type: 'bye' }), { code: 'shutdown' });
  await a.closed;
  t.equal(chat.sessions.size, 0);
});

t.test('over max connections a newcomer gets bye server_full', async (t) => {
  // The limit is each node's own.
  const { port } = await server(t, { maxConnections: 1 });
  const first = await peerAt(t, port);
  first.send({ type: 'ping' });
  await first.next({ type: 'pong' });
  const second = await peerAt(t, port);
  t.match(await second.next(), { type: 'bye', code: 'server_full' });
});

t.test('every client connection has TCP_NODELAY, and keepalive probing after 60 s of silence', async (t) => {
  const { port, nodes } = await server(t);
  const client = await peer(t, port);
  await client.join('test', 'alice');
  const [session] = nodes.flatMap((node) => [...node.sessions]);
  const fd = (session!.stream as net.Socket & { _handle: { fd: number } })._handle.fd;
  // Node cannot read socket options back; python3 (needed to build better-sqlite3) reads the server's socket.
  const read = `import socket; s = socket.socket(fileno=3); print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)); s.detach()`;
  const result = spawnSync('python3', ['-c', read], { stdio: ['ignore', 'pipe', 'inherit', fd], encoding: 'utf8' });
  const [noDelay, keepAlive, idleSeconds] = result.stdout.trim().split(' ').map(Number);
  t.ok(noDelay, 'TCP_NODELAY');
  t.ok(keepAlive, 'SO_KEEPALIVE');
  t.equal(idleSeconds, 60, 'TCP_KEEPIDLE');
});

t.test('handleConnection serves any Duplex stream', async (t) => {
  const chat = new ChatServer();
  t.teardown(() => chat.close());
  const [clientSide, serverSide] = duplexPair();
  chat.handleConnection(serverSide);
  const got = new Promise<string>((resolve) => clientSide.once('data', (chunk) => resolve(String(chunk))));
  clientSide.write('{"type":"ping","id":1}\n');
  t.match(JSON.parse(await got), { type: 'pong', id: 1 });
  clientSide.destroy();
});

t.test('rooms come in pages: `next` says where the next page starts', async (t) => {
  const { port } = await server(t, { roomsPageMax: 10 });
  const p = await peer(t, port);
  for (let i = 0; i < 25; i++) p.send({ type: 'join', room: `r${String(i).padStart(2, '0')}`, nick: 'walker' });
  await p.next((e: Event) => e.type === 'notice' && e.room === 'r24');
  const seen: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 5; page++) {
    p.send({ type: 'rooms', id: page, ...(after && { after }) });
    const reply = await p.next({ type: 'rooms', id: page });
    t.ok(reply.rooms.length <= 10, `page ${page}: ${reply.rooms.length} rooms`);
    seen.push(...reply.rooms.map((r: { room: string }) => r.room));
    after = reply.next;
    if (!after) break;
  }
  t.same(seen, Array.from({ length: 25 }, (_, i) => `r${String(i).padStart(2, '0')}`), 'every room once, in order');
});
