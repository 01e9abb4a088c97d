// The client's side of private conversations and search: a private buffer resumes with since after a reconnect
// and shows missed messages once; `chat search` for scripts; and in the full-screen client (tmux) /search lists
// hits with the lines around them, and /jump N pages the room's history back to the hit and scrolls there.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { privateKey } from '../src/client/core/state.js';
import { parseInput } from '../src/client/core/parse-input.js';
import { connectClient, serve, texts, until } from './helpers/client-harness.js';
import { Tmux } from './helpers/client-tmux.js';
import { Peer } from './helpers/wire.js';

const run = promisify(execFile);
const CHAT_BIN = resolve(import.meta.dirname, '../bin/chat.js');
const PASSWORD = 'correct horse battery';

function dataDir(t: Parameters<typeof serve>[0]): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-search-client-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A raw connection registered as `nick`; its token. */
async function registered(t: Parameters<typeof serve>[0], port: number, nick: string): Promise<{ peer: Peer; token: string }> {
  const peer = await Peer.connect(port);
  t.teardown(() => peer.destroy());
  peer.send({ type: 'register', nick, password: PASSWORD, id: 'r' });
  const ok = await peer.next({ id: 'r' });
  return { peer, token: ok.token };
}

t.test('/search parses its words and filters anywhere; /jump takes a number', async (t) => {
  t.same(parseInput('/search 作业 in:#class from:@li exam'), { kind: 'command', command: { name: 'search', words: '作业 exam', room: 'class', from: 'li' } });
  t.same(parseInput('/search in:class'), { kind: 'error', message: 'Usage: /search WORDS [in:ROOM] [from:NICK] (search the rooms and your private messages, newest first)' });
  t.same(parseInput('/jump 2'), { kind: 'command', command: { name: 'jump', number: 2 } });
  t.equal(parseInput('/jump two').kind, 'error');
});

t.test('a private buffer resumes with since after a reconnect: what came meanwhile, once', async (t) => {
  const { server, port } = await serve(t, { dataDir: dataDir(t) });
  const alice = await registered(t, port, 'alice');
  const bobAccount = await registered(t, port, 'bob');
  bobAccount.peer.destroy();
  const bob = await connectClient(t, port, 'bob', [], { loginToken: () => bobAccount.token, backoff: { initialMs: 300, maxMs: 300, jitter: 0 } });
  alice.peer.send({ type: 'msg', to: 'bob', text: 'm1', id: 1 });
  await until(() => texts(bob, privateKey('alice')).length === 1, 'bob to see m1');
  const laptop = [...server.sessions].find((s) => s.nick === 'bob' && !s.closed)!;
  // bob's second device is online meanwhile: messages are delivered there, not kept as missed.
  const phone = await Peer.connect(port);
  t.teardown(() => phone.destroy());
  phone.send({ type: 'login', token: bobAccount.token, id: 'l' });
  await phone.next({ id: 'l' });
  laptop.stream.destroy();
  await until(() => bob.status.phase === 'reconnecting', 'bob to notice');
  alice.peer.send({ type: 'msg', to: 'bob', text: 'm2 while the laptop is away', id: 2 });
  await phone.next({ type: 'msg', text: 'm2 while the laptop is away' });
  await until(() => bob.status.phase === 'connected', 'bob to reconnect');
  alice.peer.send({ type: 'msg', to: 'bob', text: 'm3', id: 3 });
  await until(() => texts(bob, privateKey('alice')).length >= 3, 'bob to see m3');
  t.same(texts(bob, privateKey('alice')), ['m1', 'm2 while the laptop is away', 'm3']);
});

t.test('missed messages are shown once, under a heading, at each login', async (t) => {
  const { port } = await serve(t, { dataDir: dataDir(t) });
  const bobAccount = await registered(t, port, 'bob');
  bobAccount.peer.destroy();
  const alice = await registered(t, port, 'alice');
  alice.peer.send({ type: 'msg', to: 'bob', text: 'while you were out', id: 1 });
  await alice.peer.next({ id: 1 });
  const bob = await connectClient(t, port, 'bob', [], { loginToken: () => bobAccount.token });
  await until(() => texts(bob, privateKey('alice')).length === 1, 'bob to see the missed message');
  // The account's marker in the conversation comes after what waited: the unread line goes above it.
  await until(() => bob.state.buffer(privateKey('alice'))!.readMarker !== undefined, "bob's marker");
  const entries = bob.state.buffer(privateKey('alice'))!.entries;
  t.match(entries.map((e) => e.text), ['Sent while you were offline:', /^1 unread since \d\d:\d\d$/, 'while you were out']);
});

t.test('chat search: hits newest first with the line before and after; --room, --from, --json; exit 1 for none', async (t) => {
  const { port } = await serve(t, { dataDir: dataDir(t) });
  const li = await Peer.connect(port);
  t.teardown(() => li.destroy());
  await li.join('class', 'li');
  for (const text of ['明天考试', '今天的作业很多', '好的', '作业写完了']) {
    li.send({ type: 'msg', room: 'class', text, id: text });
    await li.next({ id: text });
  }
  const chat = (...args: string[]) =>
    run(process.execPath, [CHAT_BIN, ...args, '--host', '127.0.0.1', '--port', String(port), '--nick', 'searcher'], { env: { ...process.env, XDG_CONFIG_HOME: '/nonexistent' } });
  const { stdout } = await chat('search', '作业', '--room', 'class');
  const blocks = stdout.trimEnd().split('\n\n').map((block) => block.split('\n'));
  t.equal(blocks.length, 2);
  t.match(blocks[0], [/^    <li> 好的$/, /^class \d{4}-\d\d-\d\d \d\d:\d\d <li> 作业写完了$/], 'the newest: nothing after it');
  t.match(blocks[1], [/^    <li> 明天考试$/, /<li> 今天的作业很多$/, /^    <li> 好的$/]);
  const json = JSON.parse((await chat('search', '考试', '--from', 'li', '--json')).stdout);
  t.match(json, { type: 'search', more: false, hits: [{ room: 'class', record: { text: '明天考试', seq: 1 }, after: { seq: 2 } }] });
  await t.rejects(chat('search', 'nothing-like-it'), { code: 1 }, 'nothing found: exit 1');
});

t.test('TUI: /search lists the hits in context, and /jump N pages back and scrolls to the hit in its log', async (t) => {
  const { port } = await serve(t, { dataDir: dataDir(t), rateLimit: 0 });
  const writer = await Peer.connect(port);
  t.teardown(() => writer.destroy());
  await writer.join('big', 'writer');
  const texts = ['今天的作业很多', ...Array.from({ length: 299 }, (_, i) => `filler ${i + 1}`)];
  texts.forEach((text, i) => writer.send({ type: 'msg', room: 'big', text, id: i }));
  await writer.next({ id: texts.length - 1 }, 20000);

  const tmux = new Tmux(t);
  const pane = await tmux.chat('li', ['join', 'big', '--host', '127.0.0.1', '--port', String(port), '--nick', 'li']);
  await pane.waitFor('<writer> filler 299');
  t.notOk((await pane.text()).includes('作业'), 'the hit is far back, not in the join replay');
  await pane.type('/search 作业');
  await pane.keys('Enter');
  const found = await pane.waitFor('1. big');
  const hitRow = found.findIndex((l) => l.includes('1. big'));
  t.match(found[hitRow], /1\. big \d{4}-\d\d-\d\d \d\d:\d\d <writer> 今天的作业很多/);
  t.match(found[hitRow + 1], /<writer> filler 1\b/, 'the line after it');

  await pane.type('/jump 1');
  await pane.keys('Enter');
  const jumped = await pane.waitFor((lines) => lines.some((l) => /<writer> 今天的作业很多/.test(l) && !l.includes('1. big')));
  const logRow = jumped.findIndex((l) => /<writer> 今天的作业很多/.test(l));
  t.match(jumped[logRow + 1], /<writer> filler 1\b/, 'in the log, in order');
  t.ok(jumped.some((l) => l.includes('more below')), 'scrolled back');
  t.notOk(jumped.some((l) => l.includes('Search "作业"')), 'the results are below, out of view');
});
