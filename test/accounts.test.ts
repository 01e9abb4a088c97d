// Accounts (docs/protocol.md "Accounts"): register, login, logout, passwd, nicks owned by accounts, one account
// on several connections, and private things that stay private. Run against one node and (cluster-protocol.test.ts)
// against two nodes on one Redis, the peers of each test spread over both.

import t from 'tap';
import { BytesPeer } from './helpers/bytes-peer.js';
import { nodeFor, peer, peerAt, server, type Event, type Peer } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

async function register(p: Peer, nick: string, password = PASSWORD): Promise<Event> {
  return ask(p, { type: 'register', nick, password, id: `register ${nick}` });
}

async function bytesPeer(t: { teardown(fn: () => void): void }, port: number): Promise<BytesPeer> {
  const p = await BytesPeer.connect(nodeFor(port));
  t.teardown(() => p.destroy());
  return p;
}

t.test('register: ok with the account and a token; the nick is the account\'s, announced like a nick change', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  await alice.join('test', 'guesty');
  const ok = await register(alice, 'alice');
  t.match(ok, { type: 'ok', account: 'alice' });
  t.match(ok.token, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
  t.match(alice.received.find((e) => e.type === 'nick'), { room: 'test', old: 'guesty', nick: 'alice' });
  alice.send({ type: 'hello', id: 'w' });
  t.match(await alice.next({ type: 'welcome' }), { nick: 'alice', account: 'alice', id: 'w' });
  t.notOk(JSON.stringify(alice.received).includes(PASSWORD), 'the password is never echoed');

  const bob = await peer(t, port);
  t.match(await register(bob, 'ALICE'), { type: 'error', code: 'nick_registered' }, 'registered already');
  t.match(await ask(bob, { type: 'register', nick: 'bob', password: 'short', id: 1 }), { type: 'error', code: 'bad_password', id: 1 });
  t.match(await ask(bob, { type: 'register', nick: 'bob', password: 'x'.repeat(1025), id: 2 }), { type: 'error', code: 'bad_password', id: 2 });
  t.match(await register(bob, 'Guest-12'), { type: 'error', code: 'bad_nick' }, 'guest nicks are handed out by the server, never owned');
  t.notOk(JSON.stringify(bob.received).includes('short"'), 'a refused password is not quoted');
  await bob.join('test', 'bob');
  const carol = await peer(t, port);
  t.match(await register(carol, 'Bob'), { type: 'error', code: 'nick_taken' }, 'someone online has it');
});

t.test('a registered nick is usable only by its account: hello, join and nick from anyone else get nick_registered', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  await register(alice, 'alice');
  alice.end();
  await alice.closed;
  const eve = await peer(t, port);
  t.match(await ask(eve, { type: 'hello', nick: 'alice', id: 1 }), { type: 'error', code: 'nick_registered', id: 1 });
  t.match(await ask(eve, { type: 'hello', nick: 'ALICE', id: 2 }), { type: 'error', code: 'nick_registered', id: 2 });
  t.match(await ask(eve, { type: 'join', room: 'test', nick: 'Alice', id: 3 }), { type: 'error', code: 'nick_registered', id: 3 });
  await eve.join('test', 'eve');
  t.match(await ask(eve, { type: 'nick', nick: 'alice', id: 4 }), { type: 'error', code: 'nick_registered', id: 4 });
  t.match(await ask(eve, { type: 'nick', nick: 'eve2', id: 5 }), { type: 'ok', id: 5 }, 'unregistered nicks are free as before');
});

t.test('login by password gives a new token, login by token none; the wrong nick, password or token is one error', async (t) => {
  const { port } = await server(t);
  const first = await peer(t, port);
  const { token } = await register(first, 'alice');
  const second = await peer(t, port);
  await second.join('test', 'someone');
  const ok = await ask(second, { type: 'login', nick: 'Alice', password: PASSWORD, id: 1 });
  t.match(ok, { type: 'ok', account: 'alice', id: 1 });
  t.match(ok.token, /^[A-Za-z0-9_-]{43}$/);
  t.not(ok.token, token, 'a new token');
  t.match(second.received.find((e) => e.type === 'nick'), { old: 'someone', nick: 'alice' });
  const third = await peer(t, port);
  const byToken = await ask(third, { type: 'login', token, id: 2 });
  t.same(Object.keys(byToken).sort(), ['account', 'id', 'type'], 'no new token');
  t.match(byToken, { account: 'alice' });

  const eve = await peer(t, port);
  const wrong = [
    await ask(eve, { type: 'login', nick: 'alice', password: 'not the password', id: 'a' }),
    await ask(eve, { type: 'login', nick: 'nobody', password: PASSWORD, id: 'b' }),
    await ask(eve, { type: 'login', token: 'x'.repeat(43), id: 'c' }),
  ];
  t.same(wrong.map((e) => e.code), ['auth_failed', 'auth_failed', 'auth_failed']);
  t.same(new Set(wrong.map((e) => e.message)).size, 1, 'the same words whatever was wrong');
  t.match(await ask(eve, { type: 'hello', id: 'w' }), { type: 'welcome' });
  t.notOk(eve.received.find((e) => e.type === 'welcome')!.account, 'still a guest');
});

t.test('one account on several connections: they share its nick, and private messages reach every one', async (t) => {
  const { port } = await server(t);
  const tui = await peer(t, port);
  const { token } = await register(tui, 'alice');
  await tui.join('test');
  const oneShot = await peer(t, port);
  t.match(await ask(oneShot, { type: 'login', token, id: 1 }), { type: 'ok', account: 'alice' });
  t.match(await ask(oneShot, { type: 'hello', nick: 'alice', id: 2 }), { type: 'welcome', nick: 'alice', account: 'alice' });
  t.match(await ask(oneShot, { type: 'nick', nick: 'bob', id: 3 }), { type: 'error', code: 'bad_request' }, 'a logged-in nick is the account\'s');
  const bob = await peer(t, port);
  await bob.join('test', 'bob');
  bob.send({ type: 'msg', to: 'alice', text: 'to both', id: 4 });
  await bob.next({ type: 'ok', id: 4 });
  t.match(await tui.next({ type: 'msg', to: 'alice' }), { from: 'bob', text: 'to both' });
  t.match(await oneShot.next({ type: 'msg', to: 'alice' }), { from: 'bob', text: 'to both' });
  oneShot.send({ type: 'msg', to: 'bob', text: 'from the script', id: 'out' });
  t.match(await oneShot.next({ type: 'msg', to: 'bob' }), { from: 'alice', text: 'from the script' }, 'the sender\'s copy');
  t.match(await tui.next({ type: 'msg', to: 'bob' }), { from: 'alice', text: 'from the script' }, 'to the account\'s other connection too');
  t.match(await bob.next({ type: 'msg', to: 'bob' }), { from: 'alice', text: 'from the script' });
  oneShot.end();
  await oneShot.closed;
  bob.send({ type: 'msg', to: 'alice', text: 'still here', id: 5 });
  t.match(await bob.next((e) => e.id === 5), { type: 'ok' }, 'the other connection keeps the nick');
  t.match(await tui.next({ type: 'msg', to: 'alice' }), { text: 'still here' });
});

t.test('a second connection of an account in a room is not news: no second join or leave, one nick in members', async (t) => {
  const { port } = await server(t);
  const node = nodeFor(port);
  const tui = await peerAt(t, node);
  const { token } = await register(tui, 'alice');
  await tui.join('test');
  const bob = await peer(t, port);
  await bob.join('test', 'bob');
  const script = await peerAt(t, node);
  await ask(script, { type: 'login', token, id: 1 });
  const lines = await script.join('test');
  t.same(lines.find((e) => e.type === 'members')?.nicks, ['alice', 'bob']);
  script.send({ type: 'msg', room: 'test', text: 'from the script', id: 2 });
  await bob.next({ type: 'msg', text: 'from the script' });
  script.send({ type: 'leave', room: 'test', id: 3 });
  t.match(await script.next({ type: 'leave' }), { room: 'test', nick: 'alice' }, 'the leaver sees its own leave');
  script.end();
  await script.closed;
  bob.send({ type: 'who', room: 'test', id: 4 });
  t.same((await bob.next({ type: 'members', id: 4 })).nicks, ['alice', 'bob'], 'alice is still there');
  t.notOk(bob.received.some((e) => (e.type === 'join' || e.type === 'leave') && e.nick === 'alice'), 'bob saw alice neither join again nor leave');
});

t.test('logout revokes the token and makes the connection a guest; logout with a token revokes that one', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const { token } = await register(alice, 'alice');
  await alice.join('test');
  t.match(await ask(alice, { type: 'logout', id: 1 }), { type: 'ok', id: 1 });
  const renamed = alice.received.find((e) => e.type === 'nick' && e.old === 'alice');
  t.match(renamed?.nick, /^guest-/, 'a guest again, under a guest nick');
  const again = await peer(t, port);
  t.match(await ask(again, { type: 'login', token, id: 2 }), { type: 'error', code: 'auth_failed' }, 'revoked');
  const { token: second } = await ask(again, { type: 'login', nick: 'alice', password: PASSWORD, id: 3 });
  const shell = await peer(t, port);
  t.match(await ask(shell, { type: 'logout', token: second, id: 4 }), { type: 'ok', id: 4 });
  t.match(await ask(shell, { type: 'logout', token: second, id: 5 }), { type: 'error', code: 'auth_failed' });
  t.match(await ask(shell, { type: 'login', token: second, id: 6 }), { type: 'error', code: 'auth_failed' });
  t.match(await ask(shell, { type: 'logout', id: 7 }), { type: 'error', code: 'bad_request' }, 'not logged in');
});

t.test('passwd: the old password is checked, the new one works, old tokens are revoked', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const { token } = await register(alice, 'alice');
  const guest = await peer(t, port);
  t.match(await ask(guest, { type: 'passwd', old: PASSWORD, new: 'whatever else', id: 1 }), { type: 'error', code: 'auth_required' });
  t.match(await ask(alice, { type: 'passwd', old: 'wrong password', new: 'new password!', id: 2 }), { type: 'error', code: 'auth_failed' });
  t.match(await ask(alice, { type: 'passwd', old: PASSWORD, new: 'short', id: 3 }), { type: 'error', code: 'bad_password' });
  const ok = await ask(alice, { type: 'passwd', old: PASSWORD, new: 'new password!', id: 4 });
  t.match(ok, { type: 'ok', account: 'alice', id: 4 });
  t.match(ok.token, /^[A-Za-z0-9_-]{43}$/);
  const other = await peer(t, port);
  t.match(await ask(other, { type: 'login', token, id: 5 }), { type: 'error', code: 'auth_failed' }, 'the old token is revoked');
  t.match(await ask(other, { type: 'login', nick: 'alice', password: PASSWORD, id: 6 }), { type: 'error', code: 'auth_failed' });
  t.match(await ask(other, { type: 'login', token: ok.token, id: 7 }), { type: 'ok', account: 'alice' });
  const last = await peer(t, port);
  t.match(await ask(last, { type: 'login', nick: 'alice', password: 'new password!', id: 8 }), { type: 'ok', account: 'alice' });
});

t.test('failed logins are throttled per nick: after 5, even the right password waits (on a cluster, over every node)', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  await register(alice, 'alice');
  const guessers = [await peer(t, port), await peer(t, port)];
  for (let i = 0; i < 5; i++) {
    t.match(await ask(guessers[i % 2]!, { type: 'login', nick: 'alice', password: `guess number ${i}`, id: i }), { code: 'auth_failed' });
  }
  const eve = guessers[1]!;
  t.match(await ask(eve, { type: 'login', nick: 'alice', password: PASSWORD, id: 'right' }), { type: 'error', code: 'auth_throttled' });
  t.match(await ask(eve, { type: 'login', nick: 'nobody', password: 'guess', id: 'other' }), { type: 'error', code: 'auth_failed' }, 'other nicks are not locked');
});

t.test('--accounts required: a guest may say hello, register and log in, and nothing else', async (t) => {
  const { port } = await server(t, { accounts: 'required' });
  const guest = await peer(t, port);
  t.match(await ask(guest, { type: 'hello', nick: 'guest1', id: 1 }), { type: 'welcome' });
  t.match(await ask(guest, { type: 'join', room: 'test', id: 2 }), { type: 'error', code: 'auth_required' });
  t.match(await ask(guest, { type: 'msg', to: 'guest1', text: 'hi', id: 3 }), { type: 'error', code: 'auth_required' });
  guest.write(JSON.stringify({ type: 'upload', room: 'test', name: 'x', size: 3, id: 4 }) + '\n{}\n');
  t.match(await guest.next((e) => e.id === 4), { type: 'error', code: 'auth_required' });
  t.match(await ask(guest, { type: 'ping', id: 5 }), { type: 'pong' }, 'the upload\'s bytes were skipped');
  t.match(await register(guest, 'alice'), { type: 'ok', account: 'alice' });
  const lines = await guest.join('test');
  t.match(lines.at(-1), { type: 'notice', room: 'test' });
});

t.test('--accounts off: register and login get accounts_off, and every nick is free', async (t) => {
  const { port } = await server(t, { accounts: 'off' });
  const p = await peer(t, port);
  t.match(await register(p, 'alice'), { type: 'error', code: 'accounts_off' });
  t.match(await ask(p, { type: 'login', nick: 'alice', password: PASSWORD, id: 1 }), { type: 'error', code: 'accounts_off' });
});

t.test('attack: after bob sent alice (guests) a private file and both left, "alice" and "BOB" cannot list or fetch it', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  await ask(alice, { type: 'hello', nick: 'alice', id: 1 });
  const bob = await peer(t, port);
  await ask(bob, { type: 'hello', nick: 'bob', id: 1 });
  bob.write(JSON.stringify({ type: 'upload', to: 'alice', name: 'secret.txt', size: 6, id: 'up' }) + '\nsecret');
  const { file } = await bob.next({ type: 'ok', id: 'up' });
  t.match(await alice.next({ type: 'file' }), { to: 'alice', from: 'bob', file });
  alice.send({ type: 'files', id: 'mine' });
  t.equal((await alice.next({ type: 'files' })).files.length, 1, 'alice herself sees it');
  alice.end();
  bob.end();
  await Promise.all([alice.closed, bob.closed]);
  for (const nick of ['alice', 'BOB']) {
    const thief = await bytesPeer(t, port);
    thief.send({ type: 'hello', nick, id: 1 });
    t.match(await thief.line(), { type: 'welcome', nick }, `${nick} is free again: both were guests`);
    thief.send({ type: 'files', id: 2 });
    t.same((await thief.line()).files, [], `${nick} lists nothing`);
    thief.send({ type: 'download', file, id: 3 });
    t.match(await thief.line(), { type: 'error', code: 'no_such_file', id: 3 }, `${nick} cannot fetch it`);
  }
});

t.test('attack: a registered alice\'s private file and messages are hers on any connection, and nobody else\'s', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const { token } = await register(alice, 'alice');
  const bob = await peer(t, port);
  await register(bob, 'bob');
  bob.write(JSON.stringify({ type: 'upload', to: 'alice', name: 'secret.txt', size: 6, id: 'up' }) + '\nsecret');
  const { file } = await bob.next({ type: 'ok', id: 'up' });
  await alice.next({ type: 'file' });
  alice.end();
  await alice.closed;

  // Grabbing the nick while its owner reconnects: refused, and so nothing meant for alice reaches eve.
  const eve = await bytesPeer(t, port);
  eve.send({ type: 'hello', nick: 'alice', id: 1 });
  t.match(await eve.line(), { type: 'error', code: 'nick_registered' });
  eve.send({ type: 'files', id: 2 });
  t.same((await eve.line((e) => e.type !== 'files')).files, []);
  eve.send({ type: 'download', file, id: 3 });
  t.match(await eve.line(), { type: 'error', code: 'no_such_file' });
  bob.send({ type: 'msg', to: 'alice', text: 'are you there?', id: 'pm' });
  t.match(await bob.next((e) => e.id === 'pm'), { type: 'ok' }, 'it waits for alice (private.test.ts), not for eve');

  // alice again, on another connection (on a cluster, maybe another node): hers to list and fetch.
  const back = await bytesPeer(t, port);
  back.send({ type: 'login', token, id: 1 });
  t.match(await back.line((e) => e.type === 'nick'), { type: 'ok', account: 'alice' });
  t.match(await back.line(), { type: 'msg', from: 'bob', text: 'are you there?', missed: true });
  t.match(await back.line(), { type: 'read', with: 'bob', seq: 0 }, "and the account's marker in that conversation");
  eve.send({ type: 'ping', id: 4 });
  t.match(await eve.line(), { type: 'pong', id: 4 }, 'eve got nothing of it');
  back.send({ type: 'files', id: 2 });
  t.same((await back.line()).files.map((f: Event) => f.file), [file]);
  back.send({ type: 'download', file, id: 3 });
  const header = await back.line();
  t.match(header, { type: 'file_data', file, length: 6 });
  t.equal((await back.bytes(6)).toString(), 'secret');
});
