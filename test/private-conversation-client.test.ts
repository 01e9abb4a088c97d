// Changes and read markers in private buffers (docs/protocol.md "Changes in private"): the client state applies
// `edit`/`delete`/`react`/`read` with `with`; the full-screen client in tmux shows what waited as it is now, the
// "N unread since HH:MM" line, reactions, "(edited)", "message deleted" and quotes in a private buffer, and runs
// /reply, /react, /edit and /delete there; a second device sees the reading; `chat unread` lists `@nick`; after a
// reconnect, a private buffer gets the changes made while away, applied and said once.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/client/cli/cli.js';
import { ClientState, privateKey } from '../src/client/core/state.js';
import { layoutRows, makeChalk } from '../src/client/view/format.js';
import { connectClient, fakeIo, serve, until } from './helpers/client-harness.js';
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

async function say(p: Peer, to: string, text: string): Promise<number> {
  return (await ask(p, { type: 'msg', to, text, id: `say ${text}` })).seq;
}

/** Keep `token` for the server as `chat login` would, in the config dir `dir`. */
function keepToken(dir: string, port: number, account: string, token: string): void {
  mkdirSync(join(dir, 'chat'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'chat', 'tokens.json'), JSON.stringify({ [`127.0.0.1:${port}`]: { account, token } }), { mode: 0o600 });
}

t.test('the state applies changes and the read marker to a private buffer, by `with`', async (t) => {
  const state = new ClientState(() => Date.parse('2026-12-02T09:00:00Z'));
  state.apply({ type: 'welcome', nick: 'alice', server: 's', proto: 1, motd: '', account: 'alice' });
  t.equal(state.account, 'alice');
  for (const [seq, text] of [[1, 'helo'], [2, 'oops'], [3, 'lunch?']] as const) {
    state.apply({ type: 'msg', to: 'alice', from: 'bob', text, seq, ts: '2026-12-02T08:59:00Z', missed: true });
  }
  state.apply({ type: 'read', with: 'bob', seq: 0 });
  state.apply({ type: 'edit', with: 'bob', seq: 1, text: 'hello', ts: '2026-12-02T09:00:00Z' });
  state.apply({ type: 'delete', with: 'bob', seq: 2, ts: '2026-12-02T09:00:00Z' });
  state.apply({ type: 'react', with: 'bob', seq: 3, nick: 'alice', emoji: '👍', on: true, reactions: [{ emoji: '👍', count: 1 }] });
  state.apply({ type: 'edit', with: 'carol', seq: 3, text: 'not here', ts: '2026-12-02T09:00:00Z' });
  const buffer = state.buffer(privateKey('bob'))!;
  t.equal(buffer.readMarker, 0);
  t.equal(buffer.unread, 3, 'counted from the marker');
  const text = layoutRows(buffer.entries, 80, makeChalk(false)).map((row) => row.text).join('\n');
  t.match(text, /─+ 3 unread since \d\d:\d\d ─+\n.*<bob> hello \(edited\) #1/, 'the marker line above the first unread');
  t.match(text, /<bob> message deleted #2/);
  t.match(text, /<bob> lunch\? #3\n\s+👍 1/, 'the reaction line under the message');
  t.notMatch(text, /not here/, "another conversation's change touches nothing here");
  state.apply({ type: 'read', with: 'bob', seq: 3 });
  t.equal(buffer.unread, 0, 'another device read it all');
});

t.test('full screen: a private buffer shows what waited as it is now, the unread line, and takes /reply /react /edit /delete', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);

  // alice registered, and is away; bob writes to her, and changes what he wrote.
  const away = await peer(t, port);
  const { token } = await ask(away, { type: 'register', nick: 'alice', password: PASSWORD, id: 'r' });
  away.end();
  const bob = await peer(t, port);
  await ask(bob, { type: 'register', nick: 'bob', password: PASSWORD, id: 'r' });
  const six = await say(bob, 'alice', 'see you at 5?');
  const wrong = await say(bob, 'alice', 'wrong window');
  await ask(bob, { type: 'edit', with: 'alice', seq: six, text: 'see you at 6?', id: 'e' });
  await ask(bob, { type: 'delete', with: 'alice', seq: wrong, id: 'd' });
  await ask(bob, { type: 'react', with: 'alice', seq: six, emoji: '👀', id: 'k' });

  const config = { XDG_CONFIG_HOME: tmux.dir, CHAT_HOST: '127.0.0.1', CHAT_PORT: String(port) };
  keepToken(tmux.dir, port, 'alice', token);
  const unread = async (...flags: string[]) => {
    const io = fakeIo(config);
    const code = await main(['node', 'chat', 'unread', ...flags], io);
    return { code, stdout: io.stdout.text };
  };
  t.match(await unread(), { code: 0, stdout: /^@bob {2}1 {2}0\n$/ }, 'a private conversation, marked @: the deleted one does not count');
  t.match(JSON.parse((await unread('--json')).stdout), { type: 'unread', rooms: [], privates: [{ with: 'bob', seq: 0, last: 2, unread: 1 }] });

  const phone = await peer(t, port);
  await ask(phone, { type: 'login', token, id: 'l' });

  const pane = await tmux.chat('alice', ['join', 'test', '--host', '127.0.0.1', '--port', String(port)]);
  await pane.waitFor('Welcome to test', 60_000); // a loaded machine starts node slowly
  await pane.type('/query bob');
  await pane.keys('Enter');
  let lines = await pane.waitFor('1 unread since');
  const marker = lines.findIndex((l) => l.includes('1 unread since'));
  t.match(lines[marker + 1], /<bob> see you at 6\? \(edited\) #1/, 'as it is now, below the unread line');
  t.match(lines[marker + 2], /👀 1/, 'its reaction line');
  t.match(lines[marker + 3], /<bob> message deleted #2/);
  // (The phone's own login was told the marker at 0, with what waited.)
  t.match(await phone.next({ type: 'read', with: 'bob', seq: 2 }), { type: 'read' }, 'the phone hears what the full screen showed as read');

  await pane.type('/react #1 :tada:');
  await pane.keys('Enter');
  lines = await pane.waitFor('🎉 1');
  t.match(await bob.next({ type: 'react', with: 'alice' }), { seq: six, nick: 'alice', emoji: '🎉', on: true });
  await pane.type('/reply 1 yes, 6 is fine');
  await pane.keys('Enter');
  lines = await pane.waitFor(/<alice> yes, 6 is fine #3/);
  t.match(lines[lines.findIndex((l) => l.includes('yes, 6 is fine')) - 1], /↱ bob #1: see you at 6\?/, 'the quote above the reply');
  t.match(await bob.next({ type: 'msg', text: 'yes, 6 is fine' }), { reply: { seq: six, from: 'bob' } });
  await pane.type('/edit 3 yes, 6 is perfect');
  await pane.keys('Enter');
  await pane.waitFor(/<alice> yes, 6 is perfect \(edited\) #3/);
  t.match(await bob.next({ type: 'edit', with: 'alice' }), { seq: 3, text: 'yes, 6 is perfect' });
  await pane.type('/delete 3');
  await pane.keys('Enter');
  await pane.waitFor(/<alice> message deleted #3/);
  await pane.type('/edit 1 my words now');
  await pane.keys('Enter');
  await pane.waitFor(/only its author may edit/i);

  // bob changes his message while alice looks: her screen follows.
  await ask(bob, { type: 'edit', with: 'alice', seq: six, text: 'see you at 7?', id: 'e2' });
  await pane.waitFor(/<bob> see you at 7\? \(edited\) #1/);
  t.match(await unread(), { code: 0, stdout: /^test {2}0 {2}0\n@bob {2}0 {2}0\n$/ }, 'all read; rooms first');
});

t.test('line mode: what waited prints as it is now, and /reply /react work in a private buffer (/query)', async (t) => {
  const { port } = await serve(t);
  const dir = mkdtempSync(join(tmpdir(), 'chat-private-line-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const away = await peer(t, port);
  const { token } = await ask(away, { type: 'register', nick: 'bob', password: PASSWORD, id: 'r' });
  away.end();
  await away.closed;
  const alice = await peer(t, port);
  await ask(alice, { type: 'register', nick: 'alice', password: PASSWORD, id: 'r' });
  const first = await say(alice, 'bob', 'see you at 5?');
  await ask(alice, { type: 'edit', with: 'bob', seq: first, text: 'see you at 6?', id: 'e' });

  keepToken(dir, port, 'bob', token);
  const io = fakeIo({ XDG_CONFIG_HOME: dir, CHAT_HOST: '127.0.0.1', CHAT_PORT: String(port), CHAT_NICK: 'bob' });
  const done = main(['node', 'chat', 'join', 'test'], io);
  io.stdin.end('/query alice\n/reply 1 6 works\n/react #1 :thumbsup:\n');
  t.equal(await done, 0, io.stderr.text);
  t.match(io.stdout.text, /\] \[@alice\] <alice> see you at 6\? \(edited\)\n/, 'the missed message as it is now');
  t.match(io.stdout.text, /\] \[@alice\] <bob> 6 works\n/);
  t.match(await alice.next({ type: 'msg', text: '6 works' }), { from: 'bob', reply: { seq: first, from: 'alice', text: 'see you at 6?' } });
  t.match(await alice.next({ type: 'react' }), { with: 'bob', seq: first, nick: 'bob', emoji: '👍', on: true });
});

t.test('after a reconnect, a private buffer gets the changes made while away, applied (TUI state) and said (line mode) once', async (t) => {
  const { server, port } = await serve(t);
  const tokens = new Map<string, string>();
  for (const nick of ['bob', 'carol', 'script']) {
    const p = await peer(t, port);
    tokens.set(nick, (await ask(p, { type: 'register', nick, password: PASSWORD, id: 'r' })).token);
    p.destroy();
    await p.closed;
  }
  const bob = await peer(t, port);
  await ask(bob, { type: 'login', token: tokens.get('bob'), id: 'l' });
  const carol = await connectClient(t, port, 'carol', ['test'], { backoff: { initialMs: 100, maxMs: 100, jitter: 0 }, loginToken: () => tokens.get('carol')! });
  const dir = mkdtempSync(join(tmpdir(), 'chat-private-resume-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  keepToken(dir, port, 'script', tokens.get('script')!);
  const io = fakeIo({ XDG_CONFIG_HOME: dir, CHAT_HOST: '127.0.0.1', CHAT_PORT: String(port), CHAT_NICK: 'script' });
  const done = main(['node', 'chat', 'join', 'test'], io);
  await until(() => server.nicks.owner('script'), 'the script to connect');
  for (const nick of ['carol', 'script']) for (const text of ['helo', 'oops', 'lunch?']) await say(bob, nick, text);
  const entry = (seq: number) => carol.state.privateWith('bob')?.entries.find((e) => e.seq === seq && e.kind !== 'marker');
  await until(() => entry(3) && io.stdout.text.includes('lunch?'), 'carol and the script to have it all');

  for (const nick of ['carol', 'script']) [...server.sessions].find((s) => s.nick === nick)!.stream.destroy();
  await until(() => carol.status.phase === 'reconnecting', 'carol to notice');
  await until(() => !server.nicks.owner('carol') && !server.nicks.owner('script'), 'the server to forget them');
  for (const nick of ['carol', 'script']) {
    await ask(bob, { type: 'edit', with: nick, seq: 1, text: 'hello', id: `e ${nick}` });
    await ask(bob, { type: 'delete', with: nick, seq: 2, id: `d ${nick}` });
    await ask(bob, { type: 'react', with: nick, seq: 3, emoji: '🎉', id: `k ${nick}` });
    await say(bob, nick, 'while away'); // waits in the mailbox: delivered at the login, before the resume
  }
  await until(() => carol.status.phase === 'connected', 'carol to reconnect');
  await until(() => entry(3)?.reactions?.length, 'carol to catch up');
  t.match(entry(1), { text: 'hello', edited: true });
  t.match(entry(2), { deleted: true });
  t.same(entry(3)?.reactions, [{ emoji: '🎉', count: 1 }]);
  t.equal(carol.state.privateWith('bob')!.entries.filter((e) => e.text === 'while away').length, 1, 'what waited, shown once');

  await until(() => io.stdout.text.includes('while away') && io.stdout.text.includes('reactions to #3'), 'the script to catch up');
  io.stdin.end();
  await done; // exits 1: line mode counts the lost connection as a failure
  const said = (pattern: RegExp) => io.stdout.text.split('\n').filter((line) => pattern.test(line)).length;
  t.equal(said(/\* bob edited #1: hello$/), 1);
  t.equal(said(/\* bob's message #2 was deleted$/), 1);
  t.equal(said(/\* reactions to #3 now: 🎉 1$/), 1);
  t.equal(said(/while away/), 1);
});
