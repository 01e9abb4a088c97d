// The client and later changes to messages (docs/protocol.md "Conversations"): line mode says each edit, deletion
// and reaction in a short line; after a real reconnect with `since`, the changes made while away are applied to
// the log (the state the TUI draws) and said in line mode, once; reactions to a shared file show under it.

import t from 'tap';
import { main } from '../src/client/cli/cli.js';
import { ExitCode } from '../src/client/core/errors.js';
import { ClientState } from '../src/client/core/state.js';
import { changeWords } from '../src/client/view/change-line.js';
import { setLanguage } from '../src/client/text/i18n/index.js';
import { createHash } from 'node:crypto';
import { layoutRows, makeChalk } from '../src/client/view/format.js';
import { connectClient, fakeIo, serve, until } from './helpers/client-harness.js';
import { Peer } from './helpers/wire.js';

const FAST = { backoff: { initialMs: 100, maxMs: 100, jitter: 0 } };

/** The entry of message #seq in a client's room buffer. */
const entry = (state: ClientState, room: string, seq: number) => state.room(room)!.entries.find((e) => e.seq === seq && e.kind !== 'marker');

t.test('line mode says later edits, deletions and reactions, one short line each', async (t) => {
  const { port } = await serve(t);
  const bob = await connectClient(t, port, 'bob', ['test']);
  const io = fakeIo({ CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1', CHAT_NICK: 'script' });
  const done = main(['node', 'chat', 'join', 'test'], io);
  await until(() => bob.state.room('test')!.members.includes('script'), 'the script to join');
  await bob.submit('helo');
  await bob.submit('oops');
  await until(() => io.stdout.text.includes('<bob> oops'), 'both messages');
  await bob.submit('/edit 1 hello');
  await bob.submit('/react 1 👍');
  await bob.submit('/delete 2');
  await until(() => io.stdout.text.includes('#2 was deleted'), 'the deletion');
  await bob.submit('/react 1 👍');
  await until(() => io.stdout.text.includes('took back'), 'the reaction taken back');
  io.stdin.end();
  t.equal(await done, ExitCode.ok, io.stderr.text);
  const lines = io.stdout.text.split('\n').filter((line) => line.includes('* '));
  t.match(lines.find((l) => l.includes('edited')), /^\[\d\d:\d\d:\d\d\] \* bob edited #1: hello$/);
  t.match(lines.find((l) => l.includes('reacted')), /\* bob reacted 👍 to #1: 👍 1$/);
  t.match(lines.find((l) => l.includes('deleted')), /\* bob's message #2 was deleted$/);
  t.match(lines.find((l) => l.includes('took back')), /\* bob took back 👍 on #1$/);
});

t.test('after a reconnect, the changes made while away are applied and said once', async (t) => {
  const { server, port } = await serve(t);
  const bob = await connectClient(t, port, 'bob', ['test']);
  const carol = await connectClient(t, port, 'carol', ['test'], FAST);
  const io = fakeIo({ CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1', CHAT_NICK: 'script' });
  const done = main(['node', 'chat', 'join', 'test'], io);
  await until(() => bob.state.room('test')!.members.includes('script'), 'the script to join');
  for (const text of ['helo', 'oops', 'lunch?', 'same']) await bob.submit(text);
  await bob.submit('/edit 4 same!');
  await until(() => entry(carol.state, 'test', 4)?.edited && io.stdout.text.includes('edited #4'), 'carol and the script to see it all');

  for (const nick of ['carol', 'script']) [...server.sessions].find((s) => s.nick === nick)!.stream.destroy();
  await until(() => carol.status.phase === 'reconnecting', 'carol to notice');
  await until(() => !server.nicks.owner('carol') && !server.nicks.owner('script'), 'the server to forget them');
  await bob.submit('/edit 1 hello');
  await bob.submit('/delete 2');
  await bob.submit('/react 3 🎉');
  await bob.submit('while away');
  await until(() => carol.status.phase === 'connected', 'carol to reconnect');
  await until(() => entry(carol.state, 'test', 3)?.reactions?.length, 'carol to catch up');

  t.match(entry(carol.state, 'test', 1), { text: 'hello', edited: true });
  t.match(entry(carol.state, 'test', 2), { deleted: true });
  t.same(entry(carol.state, 'test', 3)?.reactions, [{ emoji: '🎉', count: 1 }]);
  t.match(entry(carol.state, 'test', 5), { text: 'while away' });

  await until(() => io.stdout.text.includes('<bob> while away') && io.stdout.text.includes('reactions to #3'), 'the script to catch up');
  io.stdin.end();
  await done; // exits 1: line mode counts the lost connection as a failure
  t.match(io.stderr.text, /Disconnected/);
  const said = (pattern: RegExp) => io.stdout.text.split('\n').filter((line) => pattern.test(line)).length;
  t.equal(said(/\* bob edited #1: hello$/), 1);
  t.equal(said(/\* bob's message #2 was deleted$/), 1);
  t.equal(said(/\* reactions to #3 now: 🎉 1$/), 1);
  t.equal(said(/edited #4/), 1, 'an edit seen before going away is not said again');
  t.equal(said(/#[124] now:|no reactions to/), 0, 'no tally for messages whose reactions did not change');
});

t.test('a shared file shows its reactions; the words of a change in Chinese', async (t) => {
  const state = new ClientState(() => Date.parse('2026-12-02T10:00:00Z'));
  state.nick = 'alice';
  state.apply({ type: 'join', room: 'test', nick: 'alice', ts: '2026-12-02T09:00:00Z' });
  const file = { type: 'file', room: 'test', from: 'bob', file: 'f1', name: 'a.txt', size: 3, sha256: 'x', ts: '2026-12-02T09:01:00Z', seq: 1 } as const;
  state.apply({ ...file, history: true, reactions: [{ emoji: '👍', count: 2 }] });
  t.same(entry(state, 'test', 1)?.reactions, [{ emoji: '👍', count: 2 }], 'as replayed');
  state.apply({ type: 'react', room: 'test', seq: 1, nick: 'carol', emoji: '🎉', on: true, reactions: [{ emoji: '👍', count: 2 }, { emoji: '🎉', count: 1 }] });
  t.same(entry(state, 'test', 1)?.reactions, [{ emoji: '👍', count: 2 }, { emoji: '🎉', count: 1 }], 'live');

  setLanguage('zh-CN');
  t.teardown(() => setLanguage('en'));
  t.equal(changeWords({ kind: 'edit', seq: 12, author: 'alice', text: '新的', ts: 0, history: false }), 'alice 编辑了 #12：新的');
  t.equal(changeWords({ kind: 'react', seq: 3, reactions: [], ts: 0, history: true }), '#3 已没有回应');
});

t.test('a file shared in a room: /react N on it shows the reaction under it, as for a message', async (t) => {
  const { port } = await serve(t);
  const carol = await connectClient(t, port, 'carol', ['test']);
  const bob = await Peer.connect(port);
  t.teardown(() => bob.destroy());
  await bob.join('test', 'bob');
  const bytes = Buffer.from('notes\n');
  bob.send({ type: 'upload', room: 'test', name: 'notes.txt', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), id: 'up' });
  bob.write(bytes);
  const seq = (await bob.next((e) => e.id === 'up')).seq as number;
  await until(() => entry(carol.state, 'test', seq), 'carol to see the file');
  await carol.submit(`/react ${seq} :thumbsup:`);
  await until(() => entry(carol.state, 'test', seq)?.reactions?.length, 'the reaction');
  const rows = layoutRows(carol.state.room('test')!.entries, 70, makeChalk(false)).map((row) => row.text);
  const at = rows.findIndex((row) => row.includes('notes.txt'));
  t.match(rows[at], new RegExp(`#${seq}$`), 'the file shows its number');
  t.match(rows[at + 1], /^\s+👍 1$/, 'and its reaction under it');
});
