// Buffer logs (core/chat-logs.ts): irssi-style plain text in $XDG_STATE_HOME/chat/logs/SERVER/ROOM.log, names made
// safe, and the full-screen client writing them.

process.env.TZ = 'UTC';

import t, { type Test } from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ChatLogs, logsDir, safeFileName } from '../src/client/core/chat-logs.js';
import { ClientState, type ChatBuffer } from '../src/client/core/state.js';
import { serve, until } from './helpers/client-harness.js';
import { Tmux, type Pane } from './helpers/client-tmux.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const T0 = Date.parse('2026-12-02T12:01:33Z');

t.test('the logs directory follows XDG_STATE_HOME, else ~/.local/state', async (t) => {
  t.equal(logsDir({ XDG_STATE_HOME: '/s' }), '/s/chat/logs');
  t.equal(logsDir({ HOME: '/home/a' }), '/home/a/.local/state/chat/logs');
  t.equal(logsDir({ XDG_STATE_HOME: '', HOME: '/home/a' }), '/home/a/.local/state/chat/logs');
});

t.test('names become one safe path component: no separators, no dot files, no . or ..', async (t) => {
  t.equal(safeFileName('test'), 'test');
  t.equal(safeFileName('中文房间'), '中文房间', 'letters of any script stay');
  t.equal(safeFileName('..'), '%2E.');
  t.equal(safeFileName('.hidden'), '%2Ehidden');
  t.equal(safeFileName('../../etc/passwd'), '%2E.%2F..%2Fetc%2Fpasswd');
  t.equal(safeFileName('a\\b\x00c%'), 'a%5Cb%00c%25');
  t.equal(safeFileName('@bob'), '@bob');
  t.ok(Buffer.byteLength(safeFileName('房'.repeat(300))) <= 200, 'long names are cut to fit a file name');
});

t.test('entries are written as irssi writes them, with a day-change line; history and queued lines are not', async (t) => {
  const root = tempDir(t);
  let now = T0;
  const state = new ClientState(() => now);
  state.nick = 'me';
  const logs = new ChatLogs(root, { host: 'Chat.Example', port: 8000 }, undefined, () => now);
  state.entryListeners.add((b, e) => logs.write(b, e));
  const room = state.openRoom('test');
  state.add(room, { kind: 'msg', from: 'alice', text: 'hi' });
  state.add(room, { kind: 'msg', from: 'alice', text: 'old', history: true });
  state.add(room, { kind: 'queued', from: 'me', text: 'not yet' });
  state.add(room, { kind: 'action', from: 'bob', text: 'waves' });
  state.add(room, { kind: 'msg', from: 'bob', text: 'two\nlines' });
  now = T0 + 24 * 3600_000;
  state.add(room, { kind: 'join', from: 'carol', text: 'carol joined test' });
  const dm = state.openPrivate('Bob');
  state.add(dm, { kind: 'msg', from: 'Bob', text: 'psst' });
  state.info(state.serverBuffer, 'Connected.');
  await logs.close();

  t.same(filesUnder(root), ['chat.example_8000/(server).log', 'chat.example_8000/@bob.log', 'chat.example_8000/test.log']);
  t.equal(
    readFileSync(join(root, 'chat.example_8000', 'test.log'), 'utf8'),
    [
      '--- Log opened 2026-12-02 12:01:33',
      '2026-12-02 12:01:33 <alice> hi',
      '2026-12-02 12:01:33  * bob waves',
      '2026-12-02 12:01:33 <bob> two',
      '2026-12-02 12:01:33 <bob> lines',
      '--- Day changed 2026-12-03',
      '2026-12-03 12:01:33 --> carol joined test',
      '--- Log closed 2026-12-03 12:01:33',
      '',
    ].join('\n'),
  );
  t.match(readFileSync(join(root, 'chat.example_8000', '@bob.log'), 'utf8'), '2026-12-03 12:01:33 <Bob> psst\n');

  // A second session appends.
  const again = new ChatLogs(root, { host: 'chat.example', port: 8000 }, undefined, () => now);
  again.write(room, state.add(room, { kind: 'msg', from: 'dan', text: 'later' }));
  await again.close();
  const text = readFileSync(join(root, 'chat.example_8000', 'test.log'), 'utf8');
  t.match(text, /<alice> hi[\s\S]*Log closed[\s\S]*Log opened[\s\S]*<dan> later/);
});

t.test('the first lines wait before the files are opened, not in the start\'s turns', async (t) => {
  const root = tempDir(t);
  const fs = await import('node:fs');
  let streams = 0;
  const { ChatLogs: CountedLogs } = await t.mockImport<typeof import('../src/client/core/chat-logs.js')>('../src/client/core/chat-logs.js', {
    'node:fs': { ...fs, createWriteStream: (...args: Parameters<typeof fs.createWriteStream>) => (streams++, fs.createWriteStream(...args)) },
  });
  const state = new ClientState();
  const logs = new CountedLogs(root, { host: 'chat.example', port: 8000 });
  state.entryListeners.add((b, e) => logs.write(b, e));
  const room = state.openRoom('test');
  state.add(room, { kind: 'msg', from: 'alice', text: 'first' });
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  t.equal(streams, 0, 'no file opened in the turns after the first line');
  await until(() => streams === 1, 'the first lines written');
  state.add(room, { kind: 'msg', from: 'alice', text: 'second' });
  await new Promise((resolve) => setImmediate(resolve));
  await logs.close();
  t.equal(streams, 1, 'one stream for the room');
  t.match(readFileSync(join(root, 'chat.example_8000', 'test.log'), 'utf8'), /<alice> first\n.*<alice> second\n/s);
});

t.test('a hostile server or room name stays inside the logs directory', async (t) => {
  const base = tempDir(t);
  const root = join(base, 'logs');
  const logs = new ChatLogs(root, { host: '../../..', port: 1 });
  const buffers: Pick<ChatBuffer, 'kind' | 'key'>[] = [
    { kind: 'room', key: '..' },
    { kind: 'room', key: '../../escape' },
    { kind: 'private', key: '@../x' },
    { kind: 'room', key: '/etc/passwd' },
  ];
  for (const buffer of buffers) {
    logs.write({ ...buffer, name: buffer.key } as ChatBuffer, { id: 1, ts: T0, kind: 'msg', from: 'x', text: 'boo' });
  }
  await logs.close();
  const written = filesUnder(base);
  t.equal(written.length, 4);
  for (const path of written) t.ok(path.startsWith('logs/%2E.%2F..%2F.._1/'), `${path} is in the server's directory`);
  t.same(readdirSync(base), ['logs'], 'nothing was written beside the logs directory');
});

t.test('a logs directory that cannot be made is reported once, and the chat goes on', async (t) => {
  const base = tempDir(t);
  writeFileSync(join(base, 'file'), 'not a directory');
  const problems: string[] = [];
  const logs = new ChatLogs(join(base, 'file'), { host: 'h', port: 1 }, (e) => problems.push(e.message));
  const state = new ClientState();
  state.entryListeners.add((b, e) => logs.write(b, e));
  state.info(state.serverBuffer, 'one');
  state.info(state.serverBuffer, 'two');
  await logs.close();
  t.equal(problems.length, 1);
});

async function say(pane: Pane, text: string): Promise<void> {
  await pane.type(text);
  await pane.waitFor((l) => l.at(-1)!.endsWith(text.slice(-20)));
  await pane.keys('Enter');
  await pane.waitFor((l) => /^\[[^\]]+\]$/.test(l.at(-1)!));
}

async function quit(pane: Pane): Promise<void> {
  await pane.type('/quit');
  await pane.waitFor((l) => l.at(-1)!.endsWith('/quit'));
  await pane.keys('Enter');
  await pane.waitFor('[chat exited 0]');
}

const args = (port: number, nick: string, ...more: string[]) => ['join', '--host', '127.0.0.1', '--port', String(port), '--nick', nick, ...more];
const connected = (lines: string[]) => lines.at(-2)!.includes('| connected |');

t.test('chat join logs each buffer; --no-log and "log": false write nothing', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const alice = await tmux.chat('alice', args(port, 'alice', 'test', 'other'));
  await alice.waitFor(connected);
  const bob = await tmux.chat('bob', args(port, 'bob', 'test', '--no-log'));
  await bob.waitFor(connected);
  await alice.waitFor('bob joined test');
  await say(bob, 'hello 你好 alice');
  await alice.waitFor('<bob> hello 你好 alice');
  await say(bob, '/msg alice psst');
  await alice.waitFor((l) => l.at(-2)!.includes('@bob'));
  await quit(alice);

  const dir = join(tmux.dir, 'chat', 'logs', `127.0.0.1_${port}`);
  t.same(readdirSync(dir).sort(), ['(server).log', '@bob.log', 'other.log', 'test.log']);
  const test = readFileSync(join(dir, 'test.log'), 'utf8');
  t.match(test, /^--- Log opened \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n/);
  t.match(test, /\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d --> bob joined test\n/);
  t.match(test, /\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d <bob> hello 你好 alice\n/);
  t.match(test, /--- Log closed [^\n]*\n$/, 'closed on exit, with everything written');
  t.match(readFileSync(join(dir, '@bob.log'), 'utf8'), '<bob> psst');
  t.notOk(readFileSync(join(dir, 'other.log'), 'utf8').includes('bob'), 'each room in its own file');

  // bob ran with --no-log; carol's config file says "log": false. Neither adds to the files (nor makes @alice.log).
  writeFileSync(join(tmux.dir, 'chat', 'config.json'), '{"log": false}');
  const carol = await tmux.chat('carol', args(port, 'carol', 'test'));
  await carol.waitFor(connected);
  await say(carol, 'carol was here');
  await say(bob, 'bob was here');
  await quit(carol);
  await quit(bob);
  t.same(readdirSync(join(tmux.dir, 'chat', 'logs')), [`127.0.0.1_${port}`]);
  t.same(readdirSync(dir).sort(), ['(server).log', '@bob.log', 'other.log', 'test.log']);
  t.equal(readFileSync(join(dir, 'test.log'), 'utf8'), test, 'test.log is as alice left it');
});
