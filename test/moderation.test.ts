// Running a room (docs/protocol.md "Running a room"): owners and operators, topic, kick, ban, mute, invitations,
// room modes, away; and the attacks: a non-operator trying every operator command, a banned guest coming back
// under a new guest nick from the same address, a muted user sending through a new connection. Run against one
// node and (cluster-protocol.test.ts) against two nodes on one Redis, the peers of each test spread over both.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runAccountsAdmin } from '../src/server/accounts/admin.js';
import { Captured } from './helpers/client-harness.js';
import { startRedis } from './helpers/redis.js';
import { backendUnderTest, matches, nodeFor, Peer, peer, server, startServer, type Event } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

/** A peer logged in as a new account `nick`, in `room` (the first account in a room owns it). */
async function member(t: Tap, port: number, nick: string, room?: string): Promise<Peer & { token: string }> {
  const p = (await peer(t, port)) as Peer & { token: string };
  const ok = await ask(p, { type: 'register', nick, password: PASSWORD, id: 'register' });
  t.match(ok, { type: 'ok', account: nick });
  p.token = ok.token;
  if (room) await p.join(room);
  return p;
}

/** The first event so far (or to come) that matches: what a request caused may arrive before its reply. */
async function seen(p: Peer, pattern: Partial<Event>): Promise<Event> {
  return p.received.find((e) => matches(e, pattern)) ?? p.next(pattern);
}

type Tap = { teardown(fn: () => unknown): void; match: typeof t.match };

/** A guest peer from `localAddress` (127.0.0.1 unless told), with a nick of its choice, in `room`. */
async function guest(t: Tap, port: number, nick: string, room: string, localAddress?: string): Promise<Peer> {
  const p = await Peer.connect(nodeFor(port), localAddress);
  t.teardown(() => p.destroy());
  await p.join(room, nick);
  return p;
}

t.test('the first account in a room owns it: marked in the members list, sets the topic, shown to whoever joins', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice');
  const lines = await alice.join('class');
  t.match(lines.find((e) => e.type === 'members'), { nicks: ['alice'], ops: ['alice'] });
  t.match(await ask(alice, { type: 'topic', room: 'class', topic: 'Chapter 3 today', id: 1 }), { type: 'ok', id: 1 });
  t.match(await seen(alice, { type: 'topic' }), { room: 'class', topic: 'Chapter 3 today', by: 'alice' });

  const bob = await peer(t, port);
  const joined = await bob.join('class', 'bob');
  const topicAt = joined.findIndex((e) => e.type === 'topic');
  t.match(joined[topicAt], { type: 'topic', room: 'class', topic: 'Chapter 3 today', by: 'alice' }, 'the topic on join');
  t.ok(topicAt < joined.length - 1, 'before the banner');
  t.match(await ask(bob, { type: 'topic', room: 'class', id: 2 }), { type: 'topic', topic: 'Chapter 3 today', by: 'alice', id: 2 });
  t.match(await ask(bob, { type: 'topic', room: 'class', topic: 'mine now', id: 3 }), { type: 'error', code: 'not_operator', id: 3 });

  t.match(await ask(alice, { type: 'mode', room: 'class', change: '-t', id: 4 }), { type: 'ok' });
  t.match(await ask(bob, { type: 'topic', room: 'class', topic: 'open topic', id: 5 }), { type: 'ok', id: 5 }, '-t: anyone sets it');
  t.match(await seen(alice, { type: 'topic', topic: 'open topic' }), { by: 'bob' });
  t.match(await ask(bob, { type: 'topic', room: 'nowhere', id: 6 }), { type: 'error', code: 'not_in_room' });
});

t.test('a member who is not an operator gets not_operator for every operator command, and nothing changes', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const carol = await member(t, port, 'carol', 'class');
  const mallory = await member(t, port, 'mallory', 'class');
  const guestEve = await guest(t, port, 'eve', 'class');
  const attempts = [
    { type: 'op', room: 'class', nick: 'mallory' },
    { type: 'deop', room: 'class', nick: 'alice' },
    { type: 'kick', room: 'class', nick: 'carol', reason: 'x' },
    { type: 'ban', room: 'class', nick: 'carol' },
    { type: 'ban', room: 'class', nick: 'alice', duration: 60 },
    { type: 'unban', room: 'class', nick: 'carol' },
    { type: 'bans', room: 'class' },
    { type: 'mute', room: 'class', nick: 'carol' },
    { type: 'unmute', room: 'class', nick: 'carol' },
    { type: 'invite', room: 'class', nick: 'dave' },
    { type: 'mode', room: 'class', change: '+i' },
    { type: 'mode', room: 'class', change: '+k', arg: 'secret' },
    { type: 'mode', room: 'class', change: '+l', arg: '1' },
    { type: 'mode', room: 'class', change: '+m' },
    { type: 'mode', room: 'class', change: '+v', arg: 'mallory' },
    { type: 'topic', room: 'class', topic: 'pwned' },
  ];
  for (const [attacker, name] of [[mallory, 'an account'], [guestEve, 'a guest']] as const) {
    for (const [i, attempt] of attempts.entries()) {
      t.match(await ask(attacker, { ...attempt, id: i }), { type: 'error', code: 'not_operator', id: i }, `${name}: ${attempt.type} ${'change' in attempt ? attempt.change : ''}`);
    }
  }
  t.match(await ask(mallory, { type: 'mode', room: 'class', id: 'm' }), { type: 'mode', modes: '+t', id: 'm' }, 'the modes are as they were');
  t.notOk('key' in (await ask(mallory, { type: 'mode', room: 'class', id: 'm2' })), 'the key is for operators only');
  carol.send({ type: 'msg', room: 'class', text: 'still here', id: 'c' });
  t.match(await carol.next({ id: 'c' }), { type: 'ok' }, 'carol is neither kicked, banned nor muted');
  t.notOk(alice.received.some((e) => e.type === 'moderation'), 'the room heard of no moderation');
});

t.test('kick: the room sees who kicked whom and why; the kicked member is out (on whichever node), and may come back', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const carol = await member(t, port, 'carol', 'class');
  const bob = await guest(t, port, 'bob', 'class');
  t.match(await ask(alice, { type: 'kick', room: 'class', nick: 'carol', reason: 'shouting', id: 1 }), { type: 'ok', id: 1 });
  const notice = await seen(bob, { type: 'moderation' });
  t.match(notice, { room: 'class', action: 'kick', by: 'alice', nick: 'carol', reason: 'shouting', text: 'alice kicked carol from class: shouting' });
  t.match(await seen(carol, { type: 'moderation' }), { action: 'kick', nick: 'carol' }, 'the kicked member sees it too');
  t.match(await seen(carol, { type: 'leave' }), { room: 'class', nick: 'carol', reason: 'kicked by alice: shouting' });
  t.match(await ask(carol, { type: 'msg', room: 'class', text: 'hey', id: 2 }), { type: 'error', code: 'not_in_room' });
  t.match(await ask(alice, { type: 'who', room: 'class', id: 3 }), { nicks: ['alice', 'bob'] });
  await carol.join('class');
  t.match(await ask(alice, { type: 'kick', room: 'class', nick: 'nobody', id: 4 }), { type: 'error', code: 'no_such_user' });
  const dave = await member(t, port, 'dave');
  t.match(await ask(alice, { type: 'kick', room: 'class', nick: 'dave', id: 5 }), { type: 'error', code: 'not_in_room' });
  dave.end();
});

t.test('a banned guest cannot come back under a new guest nick from the same address; another address can', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const bob = await guest(t, port, 'bob', 'class');
  t.match(await ask(alice, { type: 'ban', room: 'class', nick: 'bob', reason: 'spam', id: 1 }), { type: 'ok', id: 1 });
  t.match(await seen(bob, { type: 'moderation' }), { action: 'ban', by: 'alice', nick: 'bob', reason: 'spam', text: /alice banned bob .*: spam/ });
  t.match(await seen(bob, { type: 'leave' }), { nick: 'bob', reason: 'banned by alice: spam' });
  t.match(await ask(bob, { type: 'join', room: 'class', id: 2 }), { type: 'error', code: 'banned', id: 2 }, 'the same connection');

  const again = await Peer.connect(nodeFor(port));
  t.teardown(() => again.destroy());
  t.match(await ask(again, { type: 'join', room: 'class', nick: 'bobby', id: 3 }), { type: 'error', code: 'banned', message: /spam/ }, 'a new guest nick, same address');
  t.match(await ask(again, { type: 'join', room: 'class', id: 4 }), { type: 'error', code: 'banned' }, 'a server-given guest nick');
  await again.join('elsewhere', 'bobby');

  await guest(t, port, 'other', 'class', '127.0.0.2');
  const carol = await member(t, port, 'carol', 'class');
  t.match(await ask(carol, { type: 'bans', room: 'class', id: 5 }), { type: 'error', code: 'not_operator' });
  const list = await ask(alice, { type: 'bans', room: 'class', id: 6 });
  t.match(list, { type: 'bans', room: 'class', bans: [{ nick: 'bob', kind: 'address', by: 'alice', reason: 'spam' }], mutes: [] });
  t.notOk(JSON.stringify(list).includes('127.0.0'), 'the address itself is not shown');

  t.match(await ask(alice, { type: 'unban', room: 'class', nick: 'bob', id: 7 }), { type: 'ok' });
  t.match(await seen(carol, { type: 'moderation', action: 'unban' }), { by: 'alice', nick: 'bob' });
  await again.join('class');
  t.match(await ask(alice, { type: 'unban', room: 'class', nick: 'bob', id: 8 }), { type: 'error', code: 'no_such_user' });
});

t.test('a ban holds against the account: logging in again on a new connection, or by name while offline; a duration ends it', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const carol = await member(t, port, 'carol', 'class');
  t.match(await ask(alice, { type: 'ban', room: 'class', nick: 'carol', duration: 3600, id: 1 }), { type: 'ok' });
  const notice = await seen(alice, { type: 'moderation', action: 'ban' });
  t.match(notice.text, /alice banned carol in class for 1h/);
  t.ok(Date.parse(notice.until) > Date.now(), 'until when');
  await seen(carol, { type: 'leave' });
  const back = await peer(t, port);
  t.match(await ask(back, { type: 'login', token: carol.token, id: 2 }), { type: 'ok', account: 'carol' });
  t.match(await ask(back, { type: 'join', room: 'class', id: 3 }), { type: 'error', code: 'banned', message: /until/ });
  await guest(t, port, 'guesty', 'class');

  const dave = await member(t, port, 'dave');
  dave.end();
  await dave.closed;
  t.match(await ask(alice, { type: 'ban', room: 'class', nick: 'DAVE', id: 4 }), { type: 'ok' }, 'an account by name, offline');
  const daveAgain = await peer(t, port);
  await ask(daveAgain, { type: 'login', nick: 'dave', password: PASSWORD, id: 5 });
  t.match(await ask(daveAgain, { type: 'join', room: 'class', id: 6 }), { type: 'error', code: 'banned' });
  t.match(await ask(alice, { type: 'ban', room: 'class', nick: 'alice', id: 7 }), { type: 'error', code: 'not_operator' }, 'the owner cannot be banned');
  t.match(await ask(alice, { type: 'ban', room: 'class', nick: 'ghost', id: 8 }), { type: 'error', code: 'no_such_user' });
  t.match(await ask(alice, { type: 'ban', room: 'class', nick: 'x', duration: 0, id: 9 }), { type: 'error', code: 'bad_request' });
});

t.test('mute: a muted member cannot speak, not even through a new connection (a one-shot); unmute lets them', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const carol = await member(t, port, 'carol', 'class');
  t.match(await ask(alice, { type: 'mute', room: 'class', nick: 'carol', reason: 'cool down', id: 1 }), { type: 'ok' });
  t.match(await seen(carol, { type: 'moderation' }), { action: 'mute', by: 'alice', nick: 'carol', text: 'alice muted carol in class: cool down' });
  t.match(await ask(carol, { type: 'msg', room: 'class', text: 'hello?', id: 2 }), { type: 'error', code: 'muted', message: /cool down/ });

  const oneShot = await peer(t, port);
  await ask(oneShot, { type: 'login', token: carol.token, id: 3 });
  await oneShot.join('class');
  t.match(await ask(oneShot, { type: 'msg', room: 'class', text: 'through the back door', id: 4 }), { type: 'error', code: 'muted' });
  t.match(await ask(carol, { type: 'msg', to: 'alice', text: 'private is fine', id: 5 }), { type: 'ok' });

  t.match(await ask(alice, { type: 'unmute', room: 'class', nick: 'carol', id: 6 }), { type: 'ok' });
  await seen(carol, { type: 'moderation', action: 'unmute' });
  t.match(await ask(carol, { type: 'msg', room: 'class', text: 'thanks', id: 7 }), { type: 'ok' });
  t.notOk(alice.received.some((e) => e.type === 'msg' && e.text !== 'thanks' && e.room === 'class'), 'nothing said while muted reached the room');

  const bob = await guest(t, port, 'bob', 'class');
  await ask(alice, { type: 'mute', room: 'class', nick: 'bob', duration: 60, id: 8 });
  await seen(bob, { type: 'moderation', action: 'mute' });
  const raw = await Peer.connect(nodeFor(port));
  t.teardown(() => raw.destroy());
  await raw.join('class', 'bob2');
  t.match(await ask(raw, { type: 'msg', room: 'class', text: 'spam', id: 9 }), { type: 'error', code: 'muted' }, 'a muted guest, again from the same address');
  t.match(await ask(carol, { type: 'msg', room: 'class', text: 'accounts still speak', id: 10 }), { type: 'ok' });
});

t.test('operators: the owner ops and deops; an operator may run the room but not act on its owner', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const carol = await member(t, port, 'carol', 'class');
  const bob = await guest(t, port, 'bob', 'class');
  t.match(await ask(alice, { type: 'op', room: 'class', nick: 'bob', id: 1 }), { type: 'error', code: 'bad_request', message: /guest/ });
  t.match(await ask(alice, { type: 'op', room: 'class', nick: 'carol', id: 2 }), { type: 'ok' });
  t.match(await seen(bob, { type: 'moderation' }), { action: 'op', by: 'alice', nick: 'carol', text: 'alice made carol an operator of class' });
  t.match(await ask(bob, { type: 'who', room: 'class', id: 3 }), { ops: ['alice', 'carol'] });
  t.match(await ask(carol, { type: 'mode', room: 'class', change: '+m', id: 4 }), { type: 'ok' });
  t.match(await ask(carol, { type: 'kick', room: 'class', nick: 'alice', id: 5 }), { type: 'error', code: 'not_operator', message: /owns/ });
  t.match(await ask(carol, { type: 'deop', room: 'class', nick: 'alice', id: 6 }), { type: 'error', code: 'not_operator' });
  t.match(await ask(alice, { type: 'deop', room: 'class', nick: 'carol', id: 7 }), { type: 'ok' });
  t.match(await seen(bob, { type: 'moderation', action: 'deop' }), { text: 'alice took operator rights in class from carol' });
  t.match(await ask(carol, { type: 'mode', room: 'class', change: '-m', id: 8 }), { type: 'error', code: 'not_operator' });
});

t.test('a server admin runs every room, even one it does not own, and cannot be kicked by its owner', async (t) => {
  const { port, server: node } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const root = await member(t, port, 'root');
  t.ok(await node.backend.accounts.setAdmin('root', true));
  await root.join('class');
  t.match(await ask(root, { type: 'mode', room: 'class', change: '+i', id: 1 }), { type: 'ok' });
  t.match(await ask(alice, { type: 'kick', room: 'class', nick: 'root', id: 2 }), { type: 'error', code: 'not_operator' });
  t.match(await ask(root, { type: 'deop', room: 'class', nick: 'alice', id: 3 }), { type: 'ok' }, 'an admin may take the owner\'s rights');
  t.match(await ask(root, { type: 'mode', room: 'elsewhere', change: '+m', id: 4 }), { type: 'ok' }, 'and act in a room it is not in');
});

t.test('modes: invite-only with invitations used once, a key, a members limit, moderated with voice', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+i', id: 1 }), { type: 'ok' });
  t.match(await seen(alice, { type: 'moderation' }), { action: 'mode', mode: '+i', by: 'alice', text: /alice set mode \+i on class \(invite-only\)/ });
  const eve = await peer(t, port);
  t.match(await ask(eve, { type: 'join', room: 'class', nick: 'eve', id: 2 }), { type: 'error', code: 'invite_only' });
  t.match(await ask(alice, { type: 'invite', room: 'class', nick: 'eve', id: 3 }), { type: 'ok' });
  t.match(await seen(eve, { type: 'notice' }), { text: /alice invites you to class/ });
  await eve.join('class');
  await ask(eve, { type: 'leave', room: 'class', id: 4 });
  t.match(await ask(eve, { type: 'join', room: 'class', id: 5 }), { type: 'error', code: 'invite_only' }, 'an invitation is used once');
  const carol = await member(t, port, 'carol');
  await ask(alice, { type: 'invite', room: 'class', nick: 'carol', id: 6 });
  await carol.join('class');

  t.match(await ask(alice, { type: 'mode', room: 'class', change: '-i', id: 7 }), { type: 'ok' });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+k', arg: 'sesame', id: 8 }), { type: 'ok' });
  t.notOk(JSON.stringify(carol.received).includes('sesame'), 'the key is not told to the room');
  t.match(await ask(eve, { type: 'join', room: 'class', id: 9 }), { type: 'error', code: 'bad_password' });
  t.match(await ask(eve, { type: 'join', room: 'class', key: 'wrong', id: 10 }), { type: 'error', code: 'bad_password' });
  await eve.join('class', undefined, { key: 'sesame' });
  t.match(await ask(alice, { type: 'mode', room: 'class', id: 11 }), { type: 'mode', modes: '+tk', key: 'sesame' });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '-k', id: 12 }), { type: 'ok' });

  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+l', arg: '3', id: 13 }), { type: 'ok' });
  const fourth = await peer(t, port);
  t.match(await ask(fourth, { type: 'join', room: 'class', nick: 'fourth', id: 14 }), { type: 'error', code: 'room_full', message: /3/ });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+l', arg: 'lots', id: 15 }), { type: 'error', code: 'bad_request' });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '-l', id: 16 }), { type: 'ok' });
  await fourth.join('class', 'fourth');

  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+m', id: 17 }), { type: 'ok' });
  t.match(await ask(carol, { type: 'msg', room: 'class', text: 'may I?', id: 18 }), { type: 'error', code: 'muted', message: /moderated/ });
  t.match(await ask(alice, { type: 'msg', room: 'class', text: 'the teacher speaks', id: 19 }), { type: 'ok' });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+v', arg: 'carol', id: 20 }), { type: 'ok' });
  t.match(await seen(carol, { type: 'moderation', action: 'voice' }), { nick: 'carol', by: 'alice' });
  t.match(await ask(carol, { type: 'msg', room: 'class', text: 'now I may', id: 21 }), { type: 'ok' });
  t.match(await ask(eve, { type: 'msg', room: 'class', text: 'me too?', id: 22 }), { type: 'error', code: 'muted' });
  t.match(await ask(alice, { type: 'mode', room: 'class', id: 23 }), { type: 'mode', modes: '+mt' });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+x', id: 24 }), { type: 'error', code: 'bad_request' });
});

t.test('away: marked in the room and in who; a private message to them gets the away message back once; back clears it', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const bob = await guest(t, port, 'bob', 'class');
  t.match(await ask(bob, { type: 'away', message: 'lunch', id: 1 }), { type: 'ok' });
  t.match(await seen(alice, { type: 'away' }), { room: 'class', nick: 'bob', away: true, message: 'lunch' });
  t.match(await ask(alice, { type: 'who', room: 'class', id: 2 }), { type: 'members', away: ['bob'] });
  alice.send({ type: 'msg', to: 'bob', text: 'are you there?', id: 3 });
  t.match(await seen(alice, { type: 'away' }), { nick: 'bob', away: true, message: 'lunch' });
  t.match(await bob.next({ type: 'msg', to: 'bob' }), { text: 'are you there?' }, 'the message is delivered all the same');
  await ask(alice, { type: 'msg', to: 'bob', text: 'hello?', id: 4 });
  await bob.next({ type: 'msg', text: 'hello?' });
  t.equal(alice.received.filter((e) => e.type === 'away' && e.room === undefined).length, 1, 'told once');
  t.match(await ask(bob, { type: 'back', id: 5 }), { type: 'ok' });
  t.match(await seen(alice, { type: 'away', away: false }), { nick: 'bob', room: 'class' });
  t.notOk('away' in (await ask(alice, { type: 'who', room: 'class', id: 6 })));
  t.match(await ask(bob, { type: 'away', message: 'x'.repeat(201), id: 7 }), { type: 'error', code: 'bad_request' });
});

if (backendUnderTest === 'local') {
  t.test('bans, operators, modes and the topic hold over a restart with a data dir', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'chat-moderation-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startServer({ dataDir });
    const alice = await member(t, first.port, 'alice', 'class');
    const bob = await guest(t, first.port, 'bob', 'class');
    const carol = await member(t, first.port, 'carol', 'class');
    await ask(alice, { type: 'topic', room: 'class', topic: 'kept', id: 1 });
    await ask(alice, { type: 'ban', room: 'class', nick: 'bob', id: 2 });
    await ask(alice, { type: 'ban', room: 'class', nick: 'carol', id: 3 });
    await ask(alice, { type: 'mode', room: 'class', change: '+m', id: 4 });
    for (const p of [alice, bob, carol]) p.destroy();
    await first.server.close();

    const second = await startServer({ dataDir });
    t.teardown(() => second.server.close());
    const bobAgain = await Peer.connect(second.port);
    t.teardown(() => bobAgain.destroy());
    t.match(await ask(bobAgain, { type: 'join', room: 'class', nick: 'bob', id: 5 }), { type: 'error', code: 'banned' });
    const carolAgain = await Peer.connect(second.port);
    t.teardown(() => carolAgain.destroy());
    await ask(carolAgain, { type: 'login', token: carol.token, id: 6 });
    t.match(await ask(carolAgain, { type: 'join', room: 'class', id: 7 }), { type: 'error', code: 'banned' });
    const aliceAgain = await Peer.connect(second.port);
    t.teardown(() => aliceAgain.destroy());
    await ask(aliceAgain, { type: 'login', token: alice.token, id: 8 });
    const lines = await aliceAgain.join('class');
    t.match(lines.find((e) => e.type === 'topic'), { topic: 'kept' });
    t.match(await ask(aliceAgain, { type: 'mode', room: 'class', id: 9 }), { modes: '+mt' });
    t.match(await ask(aliceAgain, { type: 'kick', room: 'class', nick: 'nobody', id: 10 }), { type: 'error', code: 'no_such_user' }, 'still an operator');
  });

  t.test('chat-server accounts add NAME --admin (and accounts admin NAME) make a server admin, who runs rooms it does not own', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'chat-moderation-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const admin = async (args: string[], stdin = '') => {
      const io = { stdin: new PassThrough(), stdout: new Captured(), stderr: new Captured() };
      io.stdin.end(stdin);
      return { code: await runAccountsAdmin([...args, '--data-dir', dataDir], io), stdout: io.stdout.text };
    };
    t.match(await admin(['add', 'root', '--admin'], `${PASSWORD}\n`), { code: 0, stdout: 'account root created (server admin)\n' });
    t.match(await admin(['add', 'helper'], `${PASSWORD}\n`), { code: 0 });
    t.match(await admin(['admin', 'nobody']), { code: 1 });
    const { port, server: node } = await startServer({ dataDir });
    t.teardown(() => node.close());
    const alice = await member(t, port, 'alice', 'class');
    for (const nick of ['root', 'helper']) {
      const p = await Peer.connect(port);
      t.teardown(() => p.destroy());
      await ask(p, { type: 'login', nick, password: PASSWORD, id: 'login' });
      await p.join('class');
      const reply = await ask(p, { type: 'mode', room: 'class', change: '+m', id: nick });
      t.match(reply, nick === 'root' ? { type: 'ok' } : { type: 'error', code: 'not_operator' }, nick);
    }
    t.match(await admin(['admin', 'helper']), { code: 0, stdout: 'helper is now a server admin\n' });
    t.ok(await node.backend.accounts.isAdmin((await node.backend.accounts.find('helper'))!.id));
    t.match(await admin(['admin', 'root', '--remove']), { code: 0, stdout: 'root is no longer a server admin\n' });
    t.notOk(await node.backend.accounts.isAdmin((await node.backend.accounts.find('root'))!.id));
    alice.end();
  });
}

if (backendUnderTest === 'cluster') {
  t.test('on a cluster, room messages are checked against the rules each node caches: no Redis read per message', async (t) => {
    const redis = await startRedis(t);
    const nodes = [await startServer({ redisUrl: redis.url }), await startServer({ redisUrl: redis.url })];
    for (const node of nodes) t.teardown(() => node.server.close());
    const alice = await member(t, nodes[0]!.port, 'alice', 'class');
    const bob = await Peer.connect(nodes[1]!.port);
    t.teardown(() => bob.destroy());
    await bob.join('class', 'bob');
    const carol = await Peer.connect(nodes[1]!.port, '127.0.0.2');
    t.teardown(() => carol.destroy());
    await carol.join('class', 'carol');
    await ask(alice, { type: 'mute', room: 'class', nick: 'carol', id: 'mute' });
    await seen(bob, { type: 'moderation', action: 'mute' });
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    t.teardown(() => client.disconnect());
    const reads = async () => {
      const stats = await client.info('commandstats');
      const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      return ['get', 'hget', 'hmget', 'hgetall', 'sismember', 'exists'].reduce((sum, command) => sum + calls(command), 0);
    };
    const before = await reads();
    for (let i = 0; i < 20; i++) t.match(await ask(bob, { type: 'msg', room: 'class', text: `message ${i}`, id: i }), { type: 'ok' });
    t.match(await ask(carol, { type: 'msg', room: 'class', text: 'muted', id: 'c' }), { type: 'error', code: 'muted' }, 'the mute made on the other node holds here');
    t.equal(await reads(), before, 'no key was read for any of them');
  });
}

t.test("operators delete anyone's message, not edit it; a muted member can neither edit nor react", async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const carol = await member(t, port, 'carol', 'class');
  const mallory = await member(t, port, 'mallory', 'class');
  const first = await ask(carol, { type: 'msg', room: 'class', text: 'first', id: 1 });
  const second = await ask(carol, { type: 'msg', room: 'class', text: 'second', id: 2 });
  t.match(await ask(mallory, { type: 'delete', room: 'class', seq: first.seq, id: 3 }), { type: 'error', code: 'not_allowed' }, 'a member may not');
  t.match(await ask(alice, { type: 'edit', room: 'class', seq: first.seq, text: 'my words now', id: 4 }), { type: 'error', code: 'not_allowed' }, 'an owner may not edit');
  t.match(await ask(alice, { type: 'delete', room: 'class', seq: first.seq, id: 5 }), { type: 'ok', id: 5 }, 'the owner deletes it');
  t.match(await seen(carol, { type: 'delete' }), { room: 'class', seq: first.seq });

  t.match(await ask(alice, { type: 'mute', room: 'class', nick: 'carol', id: 6 }), { type: 'ok' });
  t.match(await ask(carol, { type: 'edit', room: 'class', seq: second.seq, text: 'sneaky', id: 7 }), { type: 'error', code: 'muted' });
  t.match(await ask(carol, { type: 'react', room: 'class', seq: second.seq, emoji: '👍', id: 8 }), { type: 'error', code: 'muted' });
  t.match(await ask(carol, { type: 'delete', room: 'class', seq: second.seq, id: 9 }), { type: 'ok' }, 'taking back one’s own words is allowed');
});

t.test('a post (a message without joining) obeys the room as a msg does: muted, banned and moderated are refused', async (t) => {
  const { port } = await server(t);
  const alice = await member(t, port, 'alice', 'class');
  const carol = await member(t, port, 'carol', 'class');
  t.match(await ask(alice, { type: 'mute', room: 'class', nick: 'carol', id: 1 }), { type: 'ok' });
  const carolAgain = await peer(t, port);
  t.match(await ask(carolAgain, { type: 'login', token: carol.token, id: 2 }), { type: 'ok', account: 'carol' });
  t.match(await ask(carolAgain, { type: 'post', room: 'class', text: 'from a script', id: 3 }), { type: 'error', code: 'muted' });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+m', id: 4 }), { type: 'ok' });
  const stranger = await peer(t, port);
  t.match(await ask(stranger, { type: 'hello', nick: 'dave', id: 5 }), { type: 'welcome' });
  t.match(await ask(stranger, { type: 'post', room: 'class', text: 'hi all', id: 6 }), { type: 'error', code: 'muted' }, '+m: no voice, no post');
  t.match(await ask(alice, { type: 'post', room: 'class', text: 'the owner may', id: 7 }), { type: 'ok', seq: Number });
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '-m', id: 8 }), { type: 'ok' });
  t.match(await ask(stranger, { type: 'post', room: 'class', text: 'open again', id: 9 }), { type: 'ok' }, '-m: a stranger posts');
  t.match(await ask(alice, { type: 'ban', room: 'class', nick: 'carol', id: 10 }), { type: 'ok' });
  t.match(await ask(carolAgain, { type: 'post', room: 'class', text: 'from outside', id: 11 }), { type: 'error', code: 'banned' }, 'banned: no post');
  t.match(await ask(alice, { type: 'mode', room: 'class', change: '+i', id: 12 }), { type: 'ok' });
  t.match(await ask(stranger, { type: 'post', room: 'class', text: 'knock knock', id: 13 }), { type: 'error', code: 'not_in_room' }, '+i: no post from outside');
});

t.test('an invite-only or keyed room is not read from outside: history and search refuse it, its members read on', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-moderation-read-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { port } = await server(t, { dataDir });
  const alice = await member(t, port, 'alice', 'staff');
  t.match(await ask(alice, { type: 'msg', room: 'staff', text: 'exam answers attached', id: 1 }), { type: 'ok' });
  const eve = await member(t, port, 'eve');
  const before = await ask(eve, { type: 'history', room: 'staff', id: 2 });
  t.match(before, { type: 'history', room: 'staff' }, 'a room nobody closed is public');
  t.match(await ask(alice, { type: 'mode', room: 'staff', change: '+i', id: 3 }), { type: 'ok' });
  t.match(await ask(eve, { type: 'history', room: 'staff', id: 4 }), { type: 'error', code: 'not_in_room', id: 4 });
  const found = await ask(alice, { type: 'search', text: 'answers', id: 50 });
  t.match(found.hits, [{ room: 'staff', record: { text: 'exam answers attached' } }], 'a member finds it');
  const hidden = await ask(eve, { type: 'search', text: 'answers', id: 5 });
  t.same(hidden.hits.filter((hit: { room?: string }) => hit.room === 'staff'), [], 'no hit from the closed room');
  t.match(await ask(alice, { type: 'history', room: 'staff', id: 6 }), { type: 'history', messages: [{ text: 'exam answers attached' }] });
  t.match(await ask(alice, { type: 'mode', room: 'staff', change: '-i', id: 7 }), { type: 'ok' });
  t.match(await ask(alice, { type: 'mode', room: 'staff', change: '+k', arg: 'sesame', id: 8 }), { type: 'ok' });
  t.match(await ask(eve, { type: 'history', room: 'staff', id: 9 }), { type: 'error', code: 'not_in_room' }, '+k too');
});
