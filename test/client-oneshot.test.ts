// One-shot commands act as the user: with the user's chat window open (in tmux), `chat send`, `chat send-file` and
// `chat get` run from the same account on the same machine speak, share and fetch as that window's nick, and the
// room sees no join or leave line for them.

import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode } from '../src/client/core/errors.js';
import { connectClient, serve } from './helpers/client-harness.js';
import { Tmux } from './helpers/client-tmux.js';

const CHAT_BIN = resolve(import.meta.dirname, '../bin/chat.js');
const connected = (lines: string[]) => lines.at(-2)!.includes('| connected |');

/** `node bin/chat.js ARGS` in `dir`, as the terminal's user (the same XDG directories as the tmux pane). */
function chat(tmux: Tmux, port: number, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [CHAT_BIN, ...args, '--host', '127.0.0.1', '--port', String(port)],
      { cwd: tmux.dir, env: { ...process.env, XDG_CONFIG_HOME: tmux.dir, XDG_RUNTIME_DIR: tmux.dir, ...env } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
    child.stdin!.end();
  });
}

t.test('with the chat window open, chat send, send-file and get act as its nick and add no join or leave lines', async (t) => {
  const { port } = await serve(t);
  const bob = await connectClient(t, port, 'bob', ['test']);
  const tmux = new Tmux(t);
  const alice = await tmux.chat('alice', ['join', 'test', '--host', '127.0.0.1', '--port', String(port), '--nick', 'alice']);
  await alice.waitFor(connected);
  const entriesOfBob = () => bob.state.room('test')!.entries;
  const joinsBefore = entriesOfBob().filter((e) => e.kind === 'join' || e.kind === 'leave').length;

  // No --nick at all: the window's session is the user's.
  const sent = await chat(tmux, port, ['send', 'test', 'deploy done']);
  t.equal(sent.code, ExitCode.ok, sent.stderr);
  await alice.waitFor('<alice> deploy done');
  t.match(entriesOfBob().find((e) => e.text === 'deploy done'), { from: 'alice' });
  // The chosen nick the window holds: the same.
  t.equal((await chat(tmux, port, ['send', 'test', 'again', '--nick', 'alice'])).code, ExitCode.ok);
  await alice.waitFor('<alice> again');

  writeFileSync(join(tmux.dir, 'notes.txt'), 'the notes');
  const shared = await chat(tmux, port, ['send-file', 'test', 'notes.txt']);
  t.equal(shared.code, ExitCode.ok, shared.stderr);
  await alice.waitFor('notes.txt');
  t.match(entriesOfBob().find((e) => e.kind === 'file'), { from: 'alice' });

  // A private file for alice, fetched by chat get acting as her window (a guest's private files are its own).
  writeFileSync(join(tmux.dir, 'secret.txt'), 'for alice only');
  const toAlice = await chat(tmux, port, ['send-file', '--to', 'alice', 'secret.txt', '--nick', 'carol'], { XDG_RUNTIME_DIR: '/nonexistent' });
  t.equal(toAlice.code, ExitCode.ok, toAlice.stderr);
  const id = toAlice.stdout.trim();
  const got = await chat(tmux, port, ['get', id, '-o', 'fetched.txt']);
  t.equal(got.code, ExitCode.ok, got.stderr);
  t.equal(readFileSync(join(tmux.dir, 'fetched.txt'), 'utf8'), 'for alice only');

  t.equal(entriesOfBob().filter((e) => e.kind === 'join' || e.kind === 'leave').length, joinsBefore, 'no join or leave line in the room');
  t.notMatch((await alice.lines()).join('\n'), /(alice|guest-\d+) (joined|left)/, 'none on the window either');

  // Someone else's nick (no window of theirs here): refused, by send and send-file alike.
  const taken = await chat(tmux, port, ['send', 'test', 'hi', '--nick', 'bob']);
  t.equal(taken.code, ExitCode.nickTaken);
  const takenFile = await chat(tmux, port, ['send-file', 'test', 'notes.txt', '--nick', 'bob']);
  t.equal(takenFile.code, ExitCode.nickTaken);

  // The window quits: its session is taken away, and a one-shot uses the nick itself.
  await alice.type('/quit');
  await alice.keys('Enter');
  await alice.waitFor('[chat exited');
  t.notMatch(readFileSync(join(tmux.dir, 'chat', 'sessions.json'), 'utf8'), /alice/);
  t.equal((await chat(tmux, port, ['send', 'test', 'later', '--nick', 'alice'])).code, ExitCode.ok);
});
