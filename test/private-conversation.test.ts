// Replies, edits, deletes, reactions and read markers inside private conversations (docs/protocol.md "Changes in
// private"): a message is named by its seq in the conversation, `with` the other party; only its author changes it
// (by principal, never nick); events reach both parties' connections and nobody else; history and the mailbox carry
// the current state; read markers belong to accounts and reach all their connections, and `unread` lists them.
// Run against one node and (cluster-protocol.test.ts) two nodes on one Redis, the peers spread over both.

import t from 'tap';
import { peer, server, type Event, type Peer } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';
type Test = Parameters<typeof peer>[0];

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

async function account(t: Test, port: number, nick: string, register = false): Promise<Peer> {
  const p = await peer(t, port);
  const reply = await ask(p, { type: register ? 'register' : 'login', nick, password: PASSWORD, id: 'auth' });
  if (reply.type !== 'ok') throw new Error(`${nick} not ${register ? 'registered' : 'logged in'}: ${JSON.stringify(reply)}`);
  return p;
}

let said = 0;
/** Send a private message and wait for its ok: its seq in the conversation. */
async function say(p: Peer, to: string, text: string, extra: object = {}): Promise<number> {
  const ok = await ask(p, { type: 'msg', to, text, id: `say ${++said}`, ...extra });
  if (ok.type !== 'ok') throw new Error(`not sent: ${JSON.stringify(ok)}`);
  return ok.seq;
}

/** Nothing of a conversation reached `p`: checked once a private message sent after it has arrived. */
async function receivedNothingOf(t: Test & { same: Function }, p: Peer, nick: string, from: Peer, fromNick: string): Promise<void> {
  const text = `flush ${++said}`;
  await say(from, nick, text);
  await p.next({ type: 'msg', text });
  const stray = p.received.filter((e) => ['edit', 'delete', 'react'].includes(e.type));
  t.same(stray, [], `${nick} got no event of a conversation that is not theirs`);
}

t.test('a private reply quotes the first line of the original; a reply to no message is refused', async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  const seq = await say(alice, 'bob', 'lunch at noon?\nor later');
  await say(bob, 'alice', 'noon', { reply_to: seq });
  t.match(await alice.next({ type: 'msg', text: 'noon' }), { from: 'bob', to: 'alice', reply: { seq, from: 'alice', text: 'lunch at noon?' } });
  t.match(await ask(bob, { type: 'msg', to: 'alice', text: 'hm', reply_to: 99, id: 'r' }), { type: 'error', code: 'no_such_message', id: 'r' });
  t.match(await ask(bob, { type: 'msg', to: 'alice', text: 'hm', reply_to: 'x', id: 'r2' }), { type: 'error', code: 'bad_request', id: 'r2' });
  const page = await ask(bob, { type: 'history', with: 'alice', id: 'h' });
  t.match(page.messages[1], { seq: 2, reply: { seq, text: 'lunch at noon?' } }, 'history keeps the quote');
});

t.test('edit, delete and react: both parties on all their connections get events, nobody else; history is current', async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  const phone = await account(t, port, 'bob');
  const eve = await account(t, port, 'eve', true);
  const typo = await say(alice, 'bob', 'helo');
  const oops = await say(alice, 'bob', 'wrong person');
  await phone.next({ type: 'msg', seq: oops });

  t.match(await ask(alice, { type: 'edit', with: 'bob', seq: typo, text: 'hello', id: 'e' }), { type: 'ok', id: 'e' });
  for (const device of [bob, phone]) t.match(await device.next({ type: 'edit' }), { with: 'alice', seq: typo, text: 'hello' });
  // The author's own copy comes before its ok.
  t.match(alice.received.find((e) => e.type === 'edit'), { with: 'bob', seq: typo, text: 'hello' }, "the author's copy names the other party");
  t.match(await ask(alice, { type: 'delete', with: 'bob', seq: oops, id: 'd' }), { type: 'ok', id: 'd' });
  for (const device of [bob, phone]) t.match(await device.next({ type: 'delete' }), { with: 'alice', seq: oops });

  t.match(await ask(bob, { type: 'react', with: 'alice', seq: typo, emoji: '👍', id: 'k' }), { type: 'ok', id: 'k' });
  const reacted = { with: 'bob', seq: typo, nick: 'bob', emoji: '👍', on: true, reactions: [{ emoji: '👍', count: 1 }] };
  t.match(await alice.next({ type: 'react' }), reacted, 'either party may react');
  t.match(await phone.next({ type: 'react' }), { ...reacted, with: 'alice' });
  t.match(await ask(phone, { type: 'react', with: 'alice', seq: typo, emoji: '👍', id: 'k2' }), { type: 'ok' });
  t.match(await alice.next({ type: 'react', on: false }), { reactions: [] }, 'the same account again takes it back');

  for (const [who, withNick] of [[alice, 'bob'], [bob, 'alice']] as const) {
    const page = await ask(who, { type: 'history', with: withNick, id: `h ${withNick}` });
    t.match(page.messages[0], { seq: typo, text: 'hello', edited: true }, 'history: as it is now');
    t.match(page.messages[1], { seq: oops, text: '', deleted: true });
    t.notOk(page.messages[0].reactions, 'a reaction taken back is gone');
  }
  const since = await ask(phone, { type: 'history', with: 'alice', since: 0, id: 's' });
  t.match(since.messages[0], { text: 'hello', edited: true }, 'a page forward too');

  t.match(await ask(alice, { type: 'edit', with: 'bob', seq: oops, text: 'back', id: 'e2' }), { type: 'error', code: 'no_such_message' }, 'deleted stays deleted');
  t.match(await ask(alice, { type: 'react', with: 'bob', seq: oops, emoji: '🎉', id: 'k3' }), { type: 'error', code: 'no_such_message' });
  t.match(await ask(alice, { type: 'delete', with: 'bob', seq: 99, id: 'd2' }), { type: 'error', code: 'no_such_message' });
  t.match(await ask(alice, { type: 'edit', with: 'nobody', seq: 1, text: 'x', id: 'e3' }), { type: 'error', code: 'no_such_user' });
  t.match(await ask(alice, { type: 'edit', with: 'bob', room: 'test', seq: 1, text: 'x', id: 'e4' }), { type: 'error', code: 'bad_request' }, 'a room or a conversation, not both');
  await receivedNothingOf(t, eve, 'eve', alice, 'alice');
});

t.test("a message is changed by its author only: the other party may not edit or delete it", async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  const seq = await say(alice, 'bob', 'mine');
  t.match(await ask(bob, { type: 'edit', with: 'alice', seq, text: 'yours', id: 1 }), { type: 'error', code: 'not_allowed', id: 1 });
  t.match(await ask(bob, { type: 'delete', with: 'alice', seq, id: 2 }), { type: 'error', code: 'not_allowed', id: 2 });
  const page = await ask(alice, { type: 'history', with: 'bob', id: 'h' });
  t.match(page.messages[0], { text: 'mine' });
  t.notOk(page.messages[0].edited);
  // A message to oneself is one's own.
  const note = await say(alice, 'alice', 'note to self');
  t.match(await ask(alice, { type: 'edit', with: 'alice', seq: note, text: 'note to me', id: 3 }), { type: 'ok' });
  t.match(alice.received.filter((e) => e.type === 'edit'), [{ with: 'alice', seq: note, text: 'note to me' }], 'once');
});

t.test('attack: a third user can neither change, react to, mark nor receive a conversation that is not theirs', async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  const eve = await account(t, port, 'eve', true);
  const seq = await say(alice, 'bob', 'our secret');
  await bob.next({ type: 'msg', seq });
  for (const withNick of ['alice', 'bob']) {
    // eve's conversation with either of them is her own, and has no such message.
    t.match(await ask(eve, { type: 'edit', with: withNick, seq, text: 'forged', id: `e ${withNick}` }), { type: 'error', code: 'no_such_message' });
    t.match(await ask(eve, { type: 'delete', with: withNick, seq, id: `d ${withNick}` }), { type: 'error', code: 'no_such_message' });
    t.match(await ask(eve, { type: 'react', with: withNick, seq, emoji: '👎', id: `k ${withNick}` }), { type: 'error', code: 'no_such_message' });
    t.match(await ask(eve, { type: 'read', with: withNick, seq, id: `r ${withNick}` }), { type: 'ok' }, 'a read of her own, empty conversation marks nothing');
  }
  const unread = await ask(eve, { type: 'unread', id: 'u' });
  t.notOk(unread.privates, 'and lists nothing: her conversations have no messages');
  const page = await ask(alice, { type: 'history', with: 'bob', id: 'h' });
  t.match(page.messages[0], { text: 'our secret' });
  t.notOk(page.messages[0].reactions);
  t.notOk(page.messages[0].edited);
  t.match(await ask(eve, { type: 'edit', with: 'bob', seq: 1, text: 'x', room: 'a|b', id: 'bad' }), { type: 'error', code: 'bad_request' });
  await receivedNothingOf(t, eve, 'eve', bob, 'bob');
});

t.test("attack: whoever takes a guest's nick after it left reaches nothing of the guest's conversation", async (t) => {
  const { port, server: node } = await server(t);
  const bob = await account(t, port, 'bob', true);
  const guest = await peer(t, port);
  await guest.join('lobby', 'visitor');
  const mine = await say(guest, 'bob', 'from a guest');
  const his = await say(bob, 'visitor', 'hello guest');
  await guest.next({ type: 'msg', seq: his });
  t.match(await ask(guest, { type: 'edit', with: 'bob', seq: mine, text: 'from a guest (edited)', id: 'e' }), { type: 'ok' }, 'a guest changes its own messages');
  t.match(await bob.next({ type: 'edit' }), { with: 'visitor', seq: mine });
  t.match(await ask(guest, { type: 'react', with: 'bob', seq: his, emoji: '👋', id: 'k' }), { type: 'ok' });
  t.match(await ask(guest, { type: 'read', with: 'bob', seq: his, id: 'r' }), { type: 'error', code: 'auth_required' }, 'read markers need an account');
  t.match(await ask(guest, { type: 'unread', id: 'u' }), { type: 'error', code: 'auth_required' });
  t.match(await ask(bob, { type: 'unread', id: 'u1' }), { privates: [{ with: 'visitor' }] }, "bob's marker in it");
  // The conversation is forgotten once the guest is gone (on its node, after the close): its changes and bob's
  // marker in it too, in the one conversation store (read here from the server's side).
  const store = node.backend.conversations;
  const bobPrincipal = `a:${(await node.backend.accounts.find('bob'))!.id}`;
  const [key] = (await store.markers(bobPrincipal)).map((marker) => marker.room).filter((room) => room.includes('|'));
  t.ok(key, 'bob has a marker in the conversation');
  t.equal((await store.changes(key!, [mine])).size, 1, 'the edit is kept');
  guest.send({ type: 'quit' });
  await guest.closed;
  let markers = await store.markers(bobPrincipal);
  for (let tries = 0; markers.some((marker) => marker.room === key) && tries < 50; tries++) {
    await ask(bob, { type: 'ping', id: `wait ${tries}` }); // a round trip while the close is handled
    markers = await store.markers(bobPrincipal);
  }
  t.same(markers.filter((marker) => marker.room === key), [], "bob's marker in it is gone with it");
  t.equal((await store.changes(key!, [mine])).size, 0, 'and so are its changes');

  const other = await peer(t, port);
  await other.join('lobby', 'visitor');
  for (const seq of [mine, his]) {
    t.match(await ask(other, { type: 'edit', with: 'bob', seq, text: 'taken over', id: `e${seq}` }), { type: 'error', code: 'no_such_message' });
    t.match(await ask(other, { type: 'delete', with: 'bob', seq, id: `d${seq}` }), { type: 'error', code: 'no_such_message' });
    t.match(await ask(other, { type: 'react', with: 'bob', seq, emoji: '👎', id: `k${seq}` }), { type: 'error', code: 'no_such_message' });
  }
  // bob changing his message of the old conversation reaches a new, empty one: the new visitor hears nothing.
  t.match(await ask(bob, { type: 'edit', with: 'visitor', seq: his, text: 'hello again', id: 'b' }), { type: 'error', code: 'no_such_message' });
  const text = 'flush';
  await say(bob, 'visitor', text);
  await other.next({ type: 'msg', text });
  t.same(other.received.filter((e) => ['edit', 'delete', 'react'].includes(e.type)), [], 'nothing of the old conversation');
});

t.test('what waits in a mailbox is delivered as it is now, with the read marker of its conversation', async (t) => {
  const { port } = await server(t);
  const offline = await account(t, port, 'bob', true);
  offline.send({ type: 'quit' });
  await offline.closed;
  const alice = await account(t, port, 'alice', true);
  const first = await say(alice, 'bob', 'call me at 5');
  const second = await say(alice, 'bob', 'never mind');
  await ask(alice, { type: 'edit', with: 'bob', seq: first, text: 'call me at 6', id: 'e' });
  await ask(alice, { type: 'react', with: 'bob', seq: first, emoji: '☎️', id: 'k' });
  await ask(alice, { type: 'delete', with: 'bob', seq: second, id: 'd' });

  const bob = await account(t, port, 'bob');
  t.match(await bob.next({ type: 'msg', seq: first }), { missed: true, text: 'call me at 6', edited: true, reactions: [{ emoji: '☎️', count: 1 }] });
  t.match(await bob.next({ type: 'msg', seq: second }), { missed: true, text: '', deleted: true });
  t.match(await bob.next({ type: 'read' }), { with: 'alice', seq: 0 }, 'nothing of it read yet');
  const unread = await ask(bob, { type: 'unread', id: 'u' });
  t.same(unread.privates, [{ with: 'alice', seq: 0, last: 2, unread: 1, mentions: 0 }], 'the deleted one does not count');
  t.same(unread.rooms, []);
});

t.test('read markers: per account and conversation, on every connection of the account, in history and unread', async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  const phone = await account(t, port, 'bob');
  await alice.join('r', 'alice');
  await bob.join('r', 'bob');
  for (const text of ['one', 'two bob', 'three']) await say(alice, 'bob', text);
  await phone.next({ type: 'msg', seq: 3 });

  t.match(await ask(bob, { type: 'history', with: 'alice', id: 'h' }), { read: 0 }, 'a history page carries the marker');
  t.match(await ask(bob, { type: 'unread', id: 'u1' }), { privates: [{ with: 'alice', seq: 0, last: 3, unread: 3, mentions: 1 }] });
  t.match(await ask(bob, { type: 'read', with: 'alice', seq: 2, id: 'r' }), { type: 'ok' });
  t.match(await phone.next({ type: 'read' }), { with: 'alice', seq: 2 }, 'the other device hears it');
  t.match(bob.received.find((e) => e.type === 'read' && e.with), { with: 'alice', seq: 2 }, 'and the reader itself');
  t.match(await ask(phone, { type: 'read', with: 'alice', seq: 1, id: 'r2' }), { type: 'ok' }, 'a marker never goes back');
  t.match(await ask(phone, { type: 'read', with: 'alice', seq: 50, id: 'r3' }), { type: 'ok' });
  t.match(await bob.next({ type: 'read', seq: 3 }), { with: 'alice' }, 'nor past the newest message');
  const unread = await ask(phone, { type: 'unread', id: 'u2' });
  t.match(unread.privates, [{ with: 'alice', seq: 3, last: 3, unread: 0 }]);
  t.match(unread.rooms, [{ room: 'r' }], 'rooms are listed apart');

  t.match(await ask(alice, { type: 'unread', id: 'u3' }), { privates: [{ with: 'bob', seq: 3, last: 3, unread: 0 }] }, "one's own messages are read");
  t.notOk(alice.received.some((e) => e.type === 'read' && e.with !== undefined), "bob's reading is not alice's business");
  t.match(await ask(bob, { type: 'read', with: 'nobody', seq: 1, id: 'r4' }), { type: 'error', code: 'no_such_user' });
});

t.test('a private history with since brings, after its page, the changes made meanwhile; a third user gets nothing', async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  let bob = await account(t, port, 'bob', true);
  const eve = await account(t, port, 'eve', true);
  const typo = await say(alice, 'bob', 'helo');
  const oops = await say(alice, 'bob', 'wrong person');
  const plan = await say(alice, 'bob', 'lunch?');
  await bob.next({ type: 'msg', seq: plan });
  for (const text of ['hi eve', 'one', 'two']) await say(alice, 'eve', text); // eve's own seqs 1..3
  bob.destroy();
  await bob.closed;

  const later = await say(alice, 'bob', 'are you there?');
  await ask(alice, { type: 'edit', with: 'bob', seq: typo, text: 'hello', id: 'e' });
  await ask(alice, { type: 'delete', with: 'bob', seq: oops, id: 'd' });
  await ask(alice, { type: 'react', with: 'bob', seq: plan, emoji: '🍜', id: 'k' });

  bob = await account(t, port, 'bob');
  const page = await ask(bob, { type: 'history', with: 'alice', since: plan, id: 'resume' });
  t.match(page.messages.map((m: Event) => m.seq), [later], 'the page: what came after since');
  await bob.next({ type: 'react', seq: plan, history: true });
  const after = bob.received.slice(bob.received.indexOf(page) + 1).filter((e) => ['edit', 'delete', 'react'].includes(e.type));
  t.same(after, [
    { type: 'edit', with: 'alice', seq: typo, text: 'hello', ts: after[0]?.ts, history: true },
    { type: 'react', with: 'alice', seq: typo, reactions: [], history: true },
    { type: 'delete', with: 'alice', seq: oops, ts: after[2]?.ts, history: true },
    { type: 'react', with: 'alice', seq: plan, reactions: [{ emoji: '🍜', count: 1 }], history: true },
  ], 'then each message changed meanwhile as it is now, named with the other party, marked history');

  const plain = await ask(bob, { type: 'history', with: 'alice', id: 'plain' });
  t.equal(plain.messages.length, 4);
  const own = await ask(eve, { type: 'history', with: 'alice', since: 3, id: 'eve' });
  t.same(own.messages, [], "eve's conversation with alice has nothing new");
  await ask(eve, { type: 'history', with: 'bob', since: 1, id: 'eve2' });
  await receivedNothingOf(t, eve, 'eve', bob, 'bob');
});

t.test('a private since page sends the most recently changed messages that fit in what is left of the reply', async (t) => {
  const { port } = await server(t, { replyHistoryBytes: 1500 });
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  const seqs: number[] = [];
  for (let i = 0; i < 20; i++) seqs.push(await say(alice, 'bob', `message ${i}`));
  for (const seq of seqs) await ask(alice, { type: 'edit', with: 'bob', seq, text: `${'x'.repeat(60)} ${seq}`, id: `e${seq}` });
  const page = await ask(bob, { type: 'history', with: 'alice', since: seqs.at(-1), id: 'resume' });
  const end = await ask(bob, { type: 'history', with: 'alice', limit: 1, id: 'end' }); // no since: no changes after it
  const between = bob.received.slice(bob.received.indexOf(page) + 1, bob.received.indexOf(end));
  const edits = between.filter((e) => e.type === 'edit' && e.history);
  t.ok(edits.length > 0 && edits.length < seqs.length, `some fit (${edits.length})`);
  t.same(edits.map((e) => e.seq), seqs.slice(-edits.length), 'the most recent ones, oldest first');
  t.ok(between.every((e) => e.with === 'alice'), 'all named with the other party');
});
