// The client side of running a room: the commands as typed, durations, the ignore list kept in the config dir,
// and what the client state makes of the server's events (topic, operators, away marks, ignored messages).

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInput } from '../src/client/core/parse-input.js';
import { parseDuration } from '../src/client/core/moderation-commands.js';
import { IgnoreList, ignorePath } from '../src/client/core/ignore.js';
import { memberLabel, topicOf } from '../src/client/core/moderation-state.js';
import { ClientState } from '../src/client/core/state.js';
import type { ChatClient } from '../src/client/core/client.js';
import { connectClient, serve, until } from './helpers/client-harness.js';
import { Peer } from './helpers/wire.js';

t.test('the commands parse as typed; bad ones get their usage', async (t) => {
  const command = (input: string) => {
    const parsed = parseInput(input);
    return parsed.kind === 'command' ? parsed.command : parsed;
  };
  t.same(command('/topic'), { name: 'topic' });
  t.same(command('/topic Chapter 3: fractions'), { name: 'topic', topic: 'Chapter 3: fractions' });
  t.same(command('/op @bob'), { name: 'op', nick: 'bob' });
  t.same(command('/kick bob talking over others'), { name: 'kick', nick: 'bob', reason: 'talking over others' });
  t.same(command('/ban bob 2h spam links'), { name: 'ban', nick: 'bob', duration: 7200, reason: 'spam links' });
  t.same(command('/ban bob spam'), { name: 'ban', nick: 'bob', reason: 'spam' }, 'no duration: for good');
  t.same(command('/mute bob 10m'), { name: 'mute', nick: 'bob', duration: 600 });
  t.same(command('/mode'), { name: 'mode' });
  t.same(command('/mode +l 20'), { name: 'mode', change: '+l', arg: '20' });
  t.same(command('/mode +v carol'), { name: 'mode', change: '+v', arg: 'carol' });
  t.same(command('/mode -k'), { name: 'mode', change: '-k' });
  t.same(command('/away at lunch'), { name: 'away', message: 'at lunch' });
  t.same(command('/back'), { name: 'back' });
  t.same(command('/ignore'), { name: 'ignore' });
  t.same(command('/join class +k sesame'), { name: 'join', room: 'class', key: 'sesame' });
  t.match(command('/mode +k'), { kind: 'error', message: /Usage: \/mode/ });
  t.match(command('/mode +x'), { kind: 'error', message: /Usage: \/mode/ });
  t.match(command('/kick'), { kind: 'error', message: /Usage: \/kick NICK/ });
  t.match(command('/op a b'), { kind: 'error', message: /Usage: \/op NICK/ });
  t.equal(parseDuration('1w'), 604800);
  t.equal(parseDuration('45'), 45);
  t.equal(parseDuration('0m'), null);
  t.equal(parseDuration('999999d'), null, 'past a year');
});

t.test('the ignore list is kept in $XDG_CONFIG_HOME/chat/ignore and read back; nicks compare as the server does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-ignore-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = ignorePath({ XDG_CONFIG_HOME: dir });
  t.equal(path, join(dir, 'chat', 'ignore'));
  const list = new IgnoreList(path);
  t.ok(list.add('Mallory'));
  t.notOk(list.add('mallory'), 'once');
  t.equal(readFileSync(path, 'utf8'), 'Mallory\n');
  const again = new IgnoreList(path);
  t.ok(again.has('MALLORY'));
  t.ok(again.remove('mallory'));
  t.notOk(new IgnoreList(path).has('mallory'));
});

t.test('client state: topic, operators and away marks of a room; ignored nicks\' messages are dropped', async (t) => {
  const state = new ClientState();
  state.nick = 'bob';
  state.apply({ type: 'join', room: 'class', nick: 'bob', ts: '2026-01-01T00:00:00.000Z' });
  state.apply({ type: 'members', room: 'class', nicks: ['alice', 'bob', 'carol'], ops: ['alice'], away: ['carol'] });
  const room = state.room('class')!;
  t.equal(memberLabel(room, 'alice'), '@alice');
  t.equal(memberLabel(room, 'carol'), 'carol (away)');
  state.apply({ type: 'topic', room: 'class', topic: 'Chapter \x1b[31m3', by: 'alice' });
  t.equal(topicOf(room), 'Chapter 3', 'sanitised');
  state.apply({ type: 'moderation', room: 'class', action: 'kick', by: 'alice', nick: 'carol', text: 'alice kicked carol from class', ts: '2026-01-01T00:00:01.000Z' });
  t.same(room.members, ['alice', 'bob']);
  t.match(room.entries.at(-1), { kind: 'notice', text: 'alice kicked carol from class' });
  state.ignore.add('alice');
  state.apply({ type: 'msg', room: 'class', from: 'alice', text: 'hidden', ts: '2026-01-01T00:00:02.000Z', seq: 1 });
  t.notOk(room.entries.some((e) => e.text === 'hidden'));
});

/** Every line of a buffer (notices, info and errors too). */
const texts = (client: ChatClient, key: string) => (client.state.buffer(key)?.entries ?? []).map((e) => e.text);

t.test('the commands against a server: /mode, /topic, /away and /who with its marks, a refusal said in words', async (t) => {
  const { port } = await serve(t);
  const owner = await Peer.connect(port);
  t.teardown(() => owner.destroy());
  owner.send({ type: 'register', nick: 'alice', password: 'correct horse battery' });
  await owner.next({ type: 'ok' });
  await owner.join('class');
  const bob = await connectClient(t, port, 'bob', ['class']);
  const carol = await connectClient(t, port, 'carol', ['class']);
  await until(() => bob.state.room('class')?.joined && carol.state.room('class')?.joined, 'joined');
  await carol.submit('/away at lunch');
  await until(() => texts(bob, 'class').some((x) => x === 'carol is away: at lunch'), 'the away notice');
  await bob.submit('/who');
  await until(() => texts(bob, 'class').some((x) => x === 'In class (3): @alice, bob, carol (away)'), 'who with marks');
  await bob.submit('/mode +m');
  await until(() => texts(bob, 'class').some((x) => /Only the operators of class may change its modes/.test(x)), 'not_operator in words');
  await bob.submit('/mode');
  await until(() => texts(bob, 'class').some((x) => x === 'Modes of class: +t'), 'the modes');
  owner.send({ type: 'topic', room: 'class', topic: 'Chapter 3' });
  await until(() => topicOf(bob.state.room('class')!) === 'Chapter 3', 'the topic kept');
  await bob.submit('/topic');
  await until(() => texts(bob, 'class').some((x) => x === 'Topic of class: Chapter 3 (set by alice)'), '/topic shows it');
});

t.test('/join ROOM +k KEY, and the key is used again to rejoin after the connection drops', async (t) => {
  const { server: node, port } = await serve(t);
  const owner = await Peer.connect(port);
  t.teardown(() => owner.destroy());
  owner.send({ type: 'register', nick: 'alice', password: 'correct horse battery' });
  await owner.next({ type: 'ok' });
  await owner.join('vault');
  owner.send({ type: 'mode', room: 'vault', change: '+k', arg: 'sesame', id: 1 });
  await owner.next({ id: 1 });
  const bob = await connectClient(t, port, 'bob', [], { backoff: { initialMs: 300, maxMs: 300, jitter: 0 } });
  await bob.submit('/join vault');
  await until(() => texts(bob, '*').some((x) => /needs its key/.test(x)), 'bad_password in words');
  await bob.submit('/join vault +k sesame');
  await until(() => bob.state.room('vault')?.joined, 'joined with the key');
  [...node.sessions].find((s) => s.nick === 'bob')!.stream.destroy();
  await until(() => bob.status.phase === 'reconnecting', 'bob to notice');
  await until(() => bob.status.phase === 'connected', 'bob to reconnect');
  owner.send({ type: 'msg', room: 'vault', text: 'still here?' });
  await until(() => texts(bob, 'vault').includes('still here?'), 'bob rejoined with the key');
  t.notOk(texts(bob, 'vault').some((x) => /Could not rejoin/.test(x)));
});
