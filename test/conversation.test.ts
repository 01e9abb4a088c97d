// Conversations (docs/protocol.md "Conversations", "Read markers"): replies, edits, deletes and reactions by seq,
// refused to anyone but the author (checked against the account or guest connection, never the nick), current
// state for late joiners and history; read markers per account, synced across its connections, and `unread`.
// Run against one node and (cluster-protocol.test.ts) two nodes on one Redis, the peers spread over both.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendUnderTest, peer, server, type Event, type Peer } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

/** Send a room message and wait for its ok: its seq. */
async function say(p: Peer, room: string, text: string, extra: object = {}): Promise<number> {
  const id = `say ${text}`;
  const ok = await ask(p, { type: 'msg', room, text, id, ...extra });
  if (ok.type !== 'ok') throw new Error(`not sent: ${JSON.stringify(ok)}`);
  return ok.seq;
}

async function register(p: Peer, nick: string): Promise<string> {
  const ok = await ask(p, { type: 'register', nick, password: PASSWORD, id: `register ${nick}` });
  return ok.token;
}

t.test('a reply quotes the first line of the original; a reply to no message is refused', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const bob = await peer(t, port);
  await alice.join('test', 'alice');
  await bob.join('test', 'bob');
  const seq = await say(alice, 'test', 'lunch at noon?\nsecond line');
  await say(bob, 'test', 'yes!', { reply_to: seq });
  const reply = await alice.next({ type: 'msg', text: 'yes!' });
  t.same(reply.reply, { seq, from: 'alice', text: 'lunch at noon?' });
  t.match(await ask(bob, { type: 'msg', room: 'test', text: 'hm', reply_to: seq + 100, id: 'r' }), { type: 'error', code: 'no_such_message', id: 'r' });
  t.match(await ask(bob, { type: 'msg', room: 'test', text: 'hm', reply_to: 'x', id: 'r2' }), { type: 'error', code: 'bad_request', id: 'r2' });
});

t.test('edit and delete: members get events, late joiners and history the current state', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const bob = await peer(t, port);
  await alice.join('test', 'alice');
  await bob.join('test', 'bob');
  const typo = await say(alice, 'test', 'helo');
  const oops = await say(alice, 'test', 'wrong room');
  t.match(await ask(alice, { type: 'edit', room: 'test', seq: typo, text: 'hello', id: 'e' }), { type: 'ok', id: 'e' });
  t.match(await bob.next({ type: 'edit' }), { room: 'test', seq: typo, text: 'hello' });
  t.match(await ask(alice, { type: 'delete', room: 'test', seq: oops, id: 'd' }), { type: 'ok', id: 'd' });
  t.match(await bob.next({ type: 'delete' }), { room: 'test', seq: oops });

  const carol = await peer(t, port);
  const replay = (await carol.join('test', 'carol')).filter((e) => e.type === 'msg');
  t.match(replay.find((e) => e.seq === typo), { text: 'hello', edited: true, history: true });
  t.match(replay.find((e) => e.seq === oops), { text: '', deleted: true });
  const page = await ask(carol, { type: 'history', room: 'test', id: 'h' });
  t.match(page.messages.find((e: Event) => e.seq === typo), { text: 'hello', edited: true });
  t.match(page.messages.find((e: Event) => e.seq === oops), { text: '', deleted: true });

  t.match(await ask(alice, { type: 'edit', room: 'test', seq: oops, text: 'back', id: 'e2' }), { type: 'error', code: 'no_such_message' }, 'a deleted message stays deleted');
  t.match(await ask(alice, { type: 'delete', room: 'test', seq: 999, id: 'd2' }), { type: 'error', code: 'no_such_message' });
  t.match(await ask(alice, { type: 'edit', room: 'test', seq: typo, text: '', id: 'e3' }), { type: 'error', code: 'bad_request' });
});

t.test('editing or deleting someone else\'s message is refused, also under the nick its author had', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const bob = await peer(t, port);
  await alice.join('test', 'alice');
  await bob.join('test', 'bob');
  const seq = await say(alice, 'test', 'mine');
  t.match(await ask(bob, { type: 'edit', room: 'test', seq, text: 'yours', id: 1 }), { type: 'error', code: 'not_allowed', id: 1 });
  t.match(await ask(bob, { type: 'delete', room: 'test', seq, id: 2 }), { type: 'error', code: 'not_allowed', id: 2 });

  // alice was a guest: once she is gone, whoever takes her nick is someone else.
  alice.send({ type: 'quit' });
  await alice.closed;
  const eve = await peer(t, port);
  await eve.join('test', 'alice');
  t.match(await ask(eve, { type: 'edit', room: 'test', seq, text: 'forged', id: 3 }), { type: 'error', code: 'not_allowed', id: 3 });
  t.match(await ask(eve, { type: 'delete', room: 'test', seq, id: 4 }), { type: 'error', code: 'not_allowed', id: 4 });
  const page = await ask(bob, { type: 'history', room: 'test', id: 'h' });
  t.match(page.messages.find((e: Event) => e.seq === seq), { text: 'mine' });
  t.notOk(page.messages.find((e: Event) => e.seq === seq).edited, 'unchanged');
});

t.test('an account edits its message from another device', async (t) => {
  const { port } = await server(t);
  const laptop = await peer(t, port);
  const token = await register(laptop, 'alice');
  await laptop.join('test');
  const seq = await say(laptop, 'test', 'sent from the laptop');
  const phone = await peer(t, port);
  t.match(await ask(phone, { type: 'login', token, id: 'l' }), { type: 'ok', account: 'alice' });
  await phone.join('test');
  t.match(await ask(phone, { type: 'edit', room: 'test', seq, text: 'fixed on the phone', id: 'e' }), { type: 'ok' });
  t.match(await laptop.next({ type: 'edit', seq }), { text: 'fixed on the phone' });
});

t.test('reactions toggle, count people, show to late joiners; one who left the room cannot react', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const bob = await peer(t, port);
  const carol = await peer(t, port);
  await alice.join('test', 'alice');
  await bob.join('test', 'bob');
  await carol.join('test', 'carol');
  const seq = await say(alice, 'test', 'shipped!');
  t.match(await ask(bob, { type: 'react', room: 'test', seq, emoji: '👍', id: 1 }), { type: 'ok', id: 1 });
  t.match(await alice.next({ type: 'react' }), { seq, nick: 'bob', emoji: '👍', on: true, reactions: [{ emoji: '👍', count: 1 }] });
  await ask(carol, { type: 'react', room: 'test', seq, emoji: '👍', id: 2 });
  await ask(carol, { type: 'react', room: 'test', seq, emoji: '🎉', id: 3 });
  t.match(await alice.next({ type: 'react', emoji: '🎉' }), { reactions: [{ emoji: '👍', count: 2 }, { emoji: '🎉', count: 1 }] });
  await ask(bob, { type: 'react', room: 'test', seq, emoji: '👍', id: 4 });
  t.match(await alice.next({ type: 'react', nick: 'bob', on: false }), { reactions: [{ emoji: '👍', count: 1 }, { emoji: '🎉', count: 1 }] }, 'the same reaction again takes it back');

  const dave = await peer(t, port);
  const replay = await dave.join('test', 'dave');
  t.same(replay.find((e) => e.seq === seq)?.reactions, [{ emoji: '👍', count: 1 }, { emoji: '🎉', count: 1 }]);

  await ask(carol, { type: 'leave', room: 'test', id: 'bye' });
  t.match(await ask(carol, { type: 'react', room: 'test', seq, emoji: '🎉', id: 5 }), { type: 'error', code: 'not_in_room', id: 5 });
  t.match(await ask(bob, { type: 'react', room: 'test', seq: seq + 50, emoji: '👍', id: 6 }), { type: 'error', code: 'no_such_message', id: 6 });
  t.match(await ask(bob, { type: 'react', room: 'test', seq, emoji: 'a b', id: 7 }), { type: 'error', code: 'bad_request', id: 7 });
  t.match(await ask(bob, { type: 'react', room: 'test', seq, emoji: 'x'.repeat(33), id: 8 }), { type: 'error', code: 'bad_request', id: 8 });
  const page = await ask(bob, { type: 'history', room: 'test', id: 'h' });
  t.same(page.messages.find((e: Event) => e.seq === seq).reactions, [{ emoji: '👍', count: 1 }, { emoji: '🎉', count: 1 }], 'the refused reaction did not count');
});

t.test('a message takes a bounded number of different reactions', async (t) => {
  const { port } = await server(t, { reactionsPerMessage: 2 });
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  const seq = await say(alice, 'test', 'react to me');
  await ask(alice, { type: 'react', room: 'test', seq, emoji: 'a', id: 1 });
  await ask(alice, { type: 'react', room: 'test', seq, emoji: 'b', id: 2 });
  t.match(await ask(alice, { type: 'react', room: 'test', seq, emoji: 'c', id: 3 }), { type: 'error', code: 'too_large', id: 3 });
});

t.test('only the newest messages of a room can still be changed', async (t) => {
  const { port } = await server(t, { changeableMessages: 2 });
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  const old = await say(alice, 'test', 'one');
  await say(alice, 'test', 'two');
  const newest = await say(alice, 'test', 'three');
  await ask(alice, { type: 'ping', id: 'p' });
  t.match(await ask(alice, { type: 'react', room: 'test', seq: newest, emoji: '👍', id: 1 }), { type: 'ok' });
  t.match(await ask(alice, { type: 'edit', room: 'test', seq: old, text: 'uno', id: 2 }), { type: 'error', code: 'no_such_message' });
});

t.test('read markers: set on first join, raised by reading and by sending, synced to the account\'s other connections', async (t) => {
  const { port } = await server(t);
  const bob = await peer(t, port);
  await bob.join('test', 'bob');
  await say(bob, 'test', 'before alice came');

  const laptop = await peer(t, port);
  const token = await register(laptop, 'alice');
  const joined = await laptop.join('test');
  t.match(joined.find((e) => e.type === 'read'), { room: 'test', seq: 1 }, 'what was said before the first join is not unread');
  const two = await say(bob, 'test', 'hi alice');
  const three = await say(bob, 'test', 'are you there?');

  const phone = await peer(t, port);
  await ask(phone, { type: 'login', token, id: 'l' });
  t.match((await phone.join('test')).find((e) => e.type === 'read'), { room: 'test', seq: 1 });

  t.match(await ask(laptop, { type: 'read', room: 'test', seq: two, id: 'r' }), { type: 'ok', id: 'r' });
  t.match(await phone.next({ type: 'read' }), { room: 'test', seq: two }, 'the phone sees what the laptop read');
  t.match(await ask(phone, { type: 'read', room: 'test', seq: 1, id: 'r2' }), { type: 'ok' }, 'a marker never goes back');
  t.match(await ask(phone, { type: 'read', room: 'test', seq: 10_000, id: 'r3' }), { type: 'ok' });
  t.match(await laptop.next({ type: 'read' }), { room: 'test', seq: three }, 'nor past the newest message');

  const four = await say(laptop, 'test', 'here now');
  await say(bob, 'test', 'alice: welcome');
  await say(bob, 'test', 'more');
  await ask(bob, { type: 'ping', id: 'p' });
  const tablet = await peer(t, port);
  await ask(tablet, { type: 'login', token, id: 'l' });
  t.match(await ask(tablet, { type: 'unread', id: 'u' }), { type: 'unread', id: 'u', rooms: [{ room: 'test', seq: four, last: four + 2, unread: 2, mentions: 1 }] }, 'sending reads up to one\'s own message');
});

t.test('guests have no read markers', async (t) => {
  const { port } = await server(t);
  const guest = await peer(t, port);
  const joined = await guest.join('test', 'guesty');
  t.notOk(joined.find((e) => e.type === 'read'));
  t.match(await ask(guest, { type: 'read', room: 'test', seq: 1, id: 1 }), { type: 'error', code: 'auth_required', id: 1 });
  t.match(await ask(guest, { type: 'unread', id: 2 }), { type: 'error', code: 'auth_required', id: 2 });
  const alice = await peer(t, port);
  await register(alice, 'alice');
  t.match(await ask(alice, { type: 'read', room: 'test', seq: 1, id: 3 }), { type: 'error', code: 'not_in_room', id: 3 });
});

// One node keeps them in its data dir (a cluster in Redis, which the tests above use).
if (backendUnderTest === 'local') t.test('with a data dir, changes and read markers outlive a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-conversation-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await server(t, { dataDir });
  const alice = await peer(t, first.port);
  const token = await register(alice, 'alice');
  await alice.join('test');
  const seq = await say(alice, 'test', 'helo');
  await ask(alice, { type: 'edit', room: 'test', seq, text: 'hello', id: 'e' });
  await ask(alice, { type: 'react', room: 'test', seq, emoji: '🎉', id: 'r' });
  alice.destroy();
  await first.server.close();

  const second = await server(t, { dataDir });
  const again = await peer(t, second.port);
  await ask(again, { type: 'login', token, id: 'l' });
  const joined = await again.join('test');
  t.match(joined.find((e) => e.type === 'msg' && e.seq === seq), { text: 'hello', edited: true, reactions: [{ emoji: '🎉', count: 1 }] });
  t.match(joined.find((e) => e.type === 'read'), { seq }, 'sending had read it');
  t.match(await ask(again, { type: 'edit', room: 'test', seq, text: 'hello!', id: 'e2' }), { type: 'ok' }, 'still hers');
});

t.test('a join replay and a history page are measured as the messages are now: edits cannot make them outgrow their budget', async (t) => {
  const { port } = await server(t, { replyHistoryBytes: 20_000 });
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  for (let i = 1; i <= 10; i++) await say(alice, 'test', `short ${i}`);
  for (let seq = 1; seq <= 10; seq++) await ask(alice, { type: 'edit', room: 'test', seq, text: 'x'.repeat(1000), id: `e${seq}` });
  const bob = await peer(t, port);
  const replay = (await bob.join('test', 'bob')).filter((e) => e.type === 'msg');
  t.ok(replay.length >= 1 && replay.length <= 3, `only the newest fit (${replay.length})`);
  t.ok(replay.every((e) => e.edited && e.text.length === 1000));
  const page = await ask(bob, { type: 'history', room: 'test', id: 'h' });
  t.ok(page.messages.length <= 3 && page.more, `a page too (${page.messages.length})`);
});

t.test('every change shows in the next join\'s replay, though each room\'s replay is made once for all its joiners', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  // On a cluster the two observers are on both nodes: each has made the room's replay before the changes.
  const observers = [await peer(t, port), await peer(t, port)];
  await alice.join('test', 'alice');
  const [one, two, three] = [await say(alice, 'test', 'helo'), await say(alice, 'test', 'ship it'), await say(alice, 'test', 'oops')];
  for (const [i, observer] of observers.entries()) await observer.join('test', `observer${i}`);
  let joiners = 0;
  /** What two new joiners (one per node on a cluster) are replayed, once every observer has seen `change`. */
  const replays = async (change: Partial<Event>, extra: object = {}) => {
    for (const observer of observers) await observer.next(change);
    const got: Event[][] = [];
    for (let i = 0; i < 2; i++) got.push(await (await peer(t, port)).join('test', `late${joiners++}`, extra));
    return got;
  };

  await ask(alice, { type: 'edit', room: 'test', seq: one, text: 'hello', id: 'e' });
  for (const replay of await replays({ type: 'edit' })) t.match(replay.find((e) => e.seq === one), { text: 'hello', edited: true, history: true });
  await ask(alice, { type: 'react', room: 'test', seq: two, emoji: '🚀', id: 'r' });
  for (const replay of await replays({ type: 'react' })) t.same(replay.find((e) => e.seq === two)?.reactions, [{ emoji: '🚀', count: 1 }]);
  await ask(alice, { type: 'delete', room: 'test', seq: three, id: 'd' });
  for (const replay of await replays({ type: 'delete' })) t.match(replay.find((e) => e.seq === three), { text: '', deleted: true });
  const four = await say(alice, 'test', 'four');
  for (const replay of await replays({ type: 'msg', seq: four }, { since: two })) {
    t.same(replay.filter((e) => e.type === 'msg').map((e) => [e.seq, e.text]), [[three, ''], [four, 'four']], 'since: the end of the replay');
    t.match(replay.at(-1), { type: 'notice', text: /^Welcome to test! \d+ others are here\.$/ });
  }
});
