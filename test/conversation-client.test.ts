// Conversations in the client (docs/protocol.md "Conversations", "Read markers"): the commands, the state that
// applies the server's events, the full-screen client in tmux showing a reaction line, "(edited)" and the unread
// marker line, a second device seeing what the first read, and `chat unread` for scripts.

import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/client/cli/cli.js';
import { parseInput } from '../src/client/core/parse-input.js';
import { ClientState } from '../src/client/core/state.js';
import { layoutRows, makeChalk } from '../src/client/view/format.js';
import { fakeIo, serve } from './helpers/client-harness.js';
import { Tmux } from './helpers/client-tmux.js';
import { Peer, type Event } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

async function peer(t: { teardown(fn: () => void): void }, port: number): Promise<Peer> {
  const p = await Peer.connect(port);
  t.teardown(() => p.destroy());
  return p;
}

async function say(p: Peer, room: string, text: string): Promise<number> {
  return (await ask(p, { type: 'msg', room, text, id: `say ${text}` })).seq;
}

/** Keep `token` for the server as `chat login` would, in the config dir `dir`. */
function keepToken(dir: string, port: number, account: string, token: string): void {
  mkdirSync(join(dir, 'chat'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'chat', 'tokens.json'), JSON.stringify({ [`127.0.0.1:${port}`]: { account, token } }), { mode: 0o600 });
}

t.test('/reply, /react, /edit and /delete take N or #N', async (t) => {
  t.same(parseInput('/reply #12 sure thing'), { kind: 'command', command: { name: 'reply', seq: 12, text: 'sure thing' } });
  t.same(parseInput('/react 12 :thumbsup:'), { kind: 'command', command: { name: 'react', seq: 12, emoji: ':thumbsup:' } });
  t.same(parseInput('/edit 3 fixed  text'), { kind: 'command', command: { name: 'edit', seq: 3, text: 'fixed  text' } });
  t.same(parseInput('/delete #3'), { kind: 'command', command: { name: 'delete', seq: 3 } });
  for (const bad of ['/reply', '/reply x hi', '/react 12', '/react 12 two words', '/edit 3', '/delete 3 now']) {
    t.equal(parseInput(bad).kind, 'error', bad);
  }
});

t.test('the state applies edits, deletes, reactions and the read marker; the log shows them', async (t) => {
  const state = new ClientState(() => Date.parse('2026-12-02T10:00:00Z'));
  state.nick = 'alice';
  state.apply({ type: 'join', room: 'test', nick: 'alice', ts: '2026-12-02T09:00:00Z' });
  const msg = (seq: number, from: string, text: string) =>
    state.apply({ type: 'msg', room: 'test', from, text, ts: `2026-12-02T09:0${seq}:00Z`, seq, history: true });
  msg(1, 'alice', 'lunch?');
  msg(2, 'bob', 'helo');
  msg(3, 'bob', 'oops');
  msg(4, 'carol', 'alice: noon');
  state.apply({ type: 'edit', room: 'test', seq: 2, text: 'hello', ts: '2026-12-02T09:05:00Z' });
  state.apply({ type: 'delete', room: 'test', seq: 3, ts: '2026-12-02T09:05:00Z' });
  state.apply({ type: 'react', room: 'test', seq: 1, nick: 'bob', emoji: '👍', on: true, reactions: [{ emoji: '👍', count: 3 }, { emoji: '🎉', count: 1 }] });
  state.apply({ type: 'read', room: 'test', seq: 1 });
  const buffer = state.room('test')!;
  t.equal(buffer.readMarker, 1);
  t.equal(buffer.unread, 2, 'unread counts from the marker: the deleted message does not count');
  t.ok(buffer.mentioned);
  const rows = layoutRows(buffer.entries, 60, makeChalk(false), undefined, Date.parse('2026-12-02T10:00:00Z')).map((r) => r.text);
  const text = rows.join('\n');
  t.match(text, /<alice> lunch\? #1\n\s+👍 3  🎉 1/, 'the reaction line under the message');
  t.match(text, /─+ 2 unread since \d\d:\d\d ─+\n.*<bob> hello \(edited\) #2/, 'the marker line above the first unread');
  t.match(text, /<bob> message deleted #3/);

  state.apply({ type: 'read', room: 'test', seq: 4 });
  t.equal(buffer.unread, 0, 'another device read the rest');
});

t.test('full screen: the unread marker line, "(edited)", a reaction line, /react; a second device sees the reading; chat unread', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);

  // alice's account has been in the room before; then bob talked while she was away.
  const laptop = await peer(t, port);
  const { token } = await ask(laptop, { type: 'register', nick: 'alice', password: PASSWORD, id: 'r' });
  await laptop.join('test');
  const lunch = await say(laptop, 'test', 'lunch at noon?');
  laptop.end();
  const bob = await peer(t, port);
  await bob.join('test', 'bob');
  const sure = await say(bob, 'test', 'helo alice');
  await say(bob, 'test', 'pizza?');
  await ask(bob, { type: 'edit', room: 'test', seq: sure, text: 'hello alice', id: 'e' });
  await ask(bob, { type: 'react', room: 'test', seq: lunch, emoji: '👍', id: 'k' });

  // `chat unread` before she reads: 2 unread, 1 mention.
  const config = { XDG_CONFIG_HOME: tmux.dir, CHAT_HOST: '127.0.0.1', CHAT_PORT: String(port) };
  keepToken(tmux.dir, port, 'alice', token);
  const unread = async (...flags: string[]) => {
    const io = fakeIo(config);
    const code = await main(['node', 'chat', 'unread', ...flags], io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };
  t.match(await unread(), { code: 0, stdout: /^test {2}2 {2}1\n$/ });
  const json = JSON.parse((await unread('--json')).stdout);
  t.match(json, { type: 'unread', rooms: [{ room: 'test', seq: lunch, unread: 2, mentions: 1 }] });
  const guest = fakeIo({ ...config, XDG_CONFIG_HOME: join(tmux.dir, 'nowhere') });
  t.not(await main(['node', 'chat', 'unread'], guest), 0, 'no account, no read markers');
  t.match(guest.stderr.text, /log in first/);

  const phone = await peer(t, port);
  await ask(phone, { type: 'login', token, id: 'l' });
  await phone.join('test');

  const pane = await tmux.chat('alice', ['join', 'test', '--host', '127.0.0.1', '--port', String(port)]);
  let lines = await pane.waitFor('2 unread since');
  const marker = lines.findIndex((l) => l.includes('2 unread since'));
  t.match(lines[marker - 2], /<alice> lunch at noon\? #1/);
  t.match(lines[marker - 1], /👍 1/, 'the reaction line under the message');
  t.match(lines[marker + 1], /<bob> hello alice \(edited\) #2/);
  t.match(lines[marker + 2], /<bob> pizza\? #3/);

  t.match(await phone.next({ type: 'read' }), { room: 'test', seq: 3 }, 'the phone sees what the full-screen client showed as read');
  t.match(await unread(), { code: 0, stdout: /^test {2}0 {2}0\n$/ });

  await pane.type('/react #3 :tada:');
  await pane.keys('Enter');
  lines = await pane.waitFor('🎉 1');
  t.match(lines[lines.findIndex((l) => l.includes('pizza?')) + 1], /🎉 1/);
  await pane.type('/edit 3 mine?');
  await pane.keys('Enter');
  await pane.waitFor(/only its author may edit/i);
});
