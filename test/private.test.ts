// Private conversations (docs/protocol.md "Private conversations"): numbered and kept between two principals,
// paged and resumed with since on every connection of an account, waiting for an offline account in a bounded
// mailbox. Run against one node and (cluster-protocol.test.ts) two nodes on one Redis.

import t from 'tap';
import { peer, server, type Event, type Peer } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

/** A connection logged in to `nick`'s account (registered first when `register`). */
type Test = Parameters<typeof peer>[0];

async function account(t: Test, port: number, nick: string, register = false): Promise<Peer> {
  const p = await peer(t, port);
  const reply = await ask(p, { type: register ? 'register' : 'login', nick, password: PASSWORD, id: 'auth' });
  if (reply.type !== 'ok') throw new Error(`${nick} not ${register ? 'registered' : 'logged in'}: ${JSON.stringify(reply)}`);
  return p;
}

async function registerOffline(t: Test, port: number, nick: string): Promise<void> {
  const p = await account(t, port, nick, true);
  p.send({ type: 'quit' });
  await p.closed;
}

t.test('a message to an offline account waits, and reaches each of its devices at login, marked missed', async (t) => {
  const { port } = await server(t);
  await registerOffline(t, port, 'bob');
  const alice = await account(t, port, 'alice', true);
  const ok = await ask(alice, { type: 'msg', to: 'bob', text: 'are you there?', id: 1 });
  t.match(ok, { type: 'ok', id: 1, seq: 1 }, 'numbered in the conversation');
  t.match(alice.received.find((e) => e.type === 'msg'), { to: 'bob', from: 'alice', text: 'are you there?', seq: 1 }, "the sender's copy");
  t.match(await ask(alice, { type: 'msg', to: 'bob', text: 'call me', id: 2 }), { type: 'ok', seq: 2 });

  for (const device of ['laptop', 'phone']) {
    const bob = await account(t, port, 'bob');
    const first = await bob.next({ type: 'msg', seq: 1 });
    t.match(first, { to: 'bob', from: 'alice', text: 'are you there?', missed: true }, `${device}: the first, missed`);
    t.match(await bob.next({ type: 'msg', seq: 2 }), { text: 'call me', missed: true }, `${device}: the second`);
  }
});

t.test('a message to an online account is delivered at once, not missed, and to every connection of it', async (t) => {
  const { port } = await server(t);
  const bob1 = await account(t, port, 'bob', true);
  const bob2 = await account(t, port, 'bob');
  const alice = await account(t, port, 'alice', true);
  t.match(await ask(alice, { type: 'msg', to: 'bob', text: 'hi', id: 1 }), { type: 'ok', seq: 1 });
  for (const bob of [bob1, bob2]) {
    const event = await bob.next({ type: 'msg', text: 'hi' });
    t.match(event, { from: 'alice', to: 'bob', seq: 1 });
    t.notOk(event.missed, 'live, not missed');
  }
});

t.test('/msg to a nick nobody holds and no account owns still fails with no_such_user', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  t.match(await ask(alice, { type: 'msg', to: 'nobody', text: 'hi', id: 1 }), { type: 'error', code: 'no_such_user', id: 1 });
  t.match(await ask(alice, { type: 'history', with: 'nobody', id: 2 }), { type: 'error', code: 'no_such_user', id: 2 });
});

t.test('a conversation is paged like a room, and resumed with since on any connection of the account', async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  for (let i = 1; i <= 5; i++) t.match(await ask(alice, { type: 'msg', to: 'bob', text: `m${i}`, id: i }), { seq: i });
  await bob.next({ type: 'msg', seq: 5 });

  const newest = await ask(bob, { type: 'history', with: 'alice', limit: 2, id: 'h1' });
  t.match(newest, { type: 'history', with: 'alice', more: true });
  t.same(newest.messages.map((m: Event) => m.text), ['m4', 'm5'], 'the newest page, oldest first');
  const older = await ask(bob, { type: 'history', with: 'alice', before: 4, limit: 10, id: 'h2' });
  t.same(older.messages.map((m: Event) => m.seq), [1, 2, 3]);
  t.equal(older.more, false);

  // bob's phone was away after seq 3: it asks for what came since, from the other side of the conversation too.
  const phone = await account(t, port, 'bob');
  const resumed = await ask(phone, { type: 'history', with: 'ALICE', since: 3, id: 'h3' });
  t.same(resumed.messages.map((m: Event) => [m.seq, m.text]), [[4, 'm4'], [5, 'm5']]);
  t.equal(resumed.more, false);
  const mine = await ask(alice, { type: 'history', with: 'bob', since: 4, id: 'h4' });
  t.same(mine.messages.map((m: Event) => m.text), ['m5'], "the sender's side is the same conversation");
  const sinceLimited = await ask(alice, { type: 'history', with: 'bob', since: 0, limit: 2, id: 'h5' });
  t.same(sinceLimited.messages.map((m: Event) => m.seq), [1, 2], 'since pages forward');
  t.equal(sinceLimited.more, true);
  t.match(await ask(alice, { type: 'history', with: 'bob', since: 1, before: 3, id: 'h6' }), { type: 'error', code: 'bad_request' });
});

t.test('attack: a third user reads none of a conversation, under any nick', async (t) => {
  const { port } = await server(t);
  const alice = await account(t, port, 'alice', true);
  const bob = await account(t, port, 'bob', true);
  await ask(alice, { type: 'msg', to: 'bob', text: 'our secret', id: 1 });
  await bob.next({ type: 'msg', text: 'our secret' });
  const eve = await account(t, port, 'eve', true);
  for (const peerNick of ['alice', 'bob', 'eve']) {
    const page = await ask(eve, { type: 'history', with: peerNick, id: peerNick });
    t.same(page.messages, [], `eve's conversation with ${peerNick} is her own, and empty`);
  }
});

t.test("a guest's conversation lives as long as the guest's connection", async (t) => {
  const { port } = await server(t);
  const bob = await account(t, port, 'bob', true);
  const guest = await peer(t, port);
  await guest.join('lobby', 'visitor');
  t.match(await ask(guest, { type: 'msg', to: 'bob', text: 'from a guest', id: 1 }), { type: 'ok', seq: 1 });
  await bob.next({ type: 'msg', text: 'from a guest' });
  t.same((await ask(bob, { type: 'history', with: 'visitor', id: 'h1' })).messages.map((m: Event) => m.text), ['from a guest']);
  guest.send({ type: 'quit' });
  await guest.closed;
  // Someone else takes the nick: the conversation is not theirs, and it is gone.
  const other = await peer(t, port);
  await other.join('lobby', 'visitor');
  t.same((await ask(other, { type: 'history', with: 'bob', id: 'h2' })).messages, [], 'the new visitor sees nothing');
  t.match(await ask(bob, { type: 'history', with: 'visitor', id: 'h3' }), { type: 'history', messages: [] }, 'bob sees a new, empty one');
});

t.test('a mailbox is bounded per sender and per recipient: mailbox_full, and room again after the login', async (t) => {
  const { port } = await server(t, { mailboxPerSender: 2, mailboxPerRecipient: 3 });
  await registerOffline(t, port, 'bob');
  const alice = await account(t, port, 'alice', true);
  t.match(await ask(alice, { type: 'msg', to: 'bob', text: '1', id: 1 }), { type: 'ok' });
  t.match(await ask(alice, { type: 'msg', to: 'bob', text: '2', id: 2 }), { type: 'ok' });
  t.match(await ask(alice, { type: 'msg', to: 'bob', text: '3', id: 3 }), { type: 'error', code: 'mailbox_full', id: 3 }, 'one sender: 2');
  const stranger = await peer(t, port);
  await stranger.join('lobby', 'stranger');
  t.match(await ask(stranger, { type: 'msg', to: 'bob', text: 'spam', id: 4 }), { type: 'ok' });
  const second = await peer(t, port);
  await second.join('lobby', 'stranger2');
  t.match(await ask(second, { type: 'msg', to: 'bob', text: 'spam', id: 5 }), { type: 'error', code: 'mailbox_full', id: 5 }, 'a guest counts by its address');
  const carol = await account(t, port, 'carol', true);
  t.match(await ask(carol, { type: 'msg', to: 'bob', text: 'hello', id: 6 }), { type: 'error', code: 'mailbox_full', id: 6 }, 'all together: 3');
  t.match(await ask(carol, { type: 'msg', to: 'alice', text: 'online is fine', id: 7 }), { type: 'ok' }, 'only mailboxes are bounded');

  const bob = await account(t, port, 'bob');
  await bob.next({ type: 'msg', text: 'spam', missed: true });
  bob.send({ type: 'quit' });
  await bob.closed;
  t.match(await ask(carol, { type: 'msg', to: 'bob', text: 'now?', id: 8 }), { type: 'ok' }, 'delivered messages leave room');
});
