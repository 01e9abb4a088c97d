// Notifications (core/notify.ts, view/notifier.ts): a mention or private message while the terminal is not focused
// or another buffer is shown writes OSC 777 (wrapped for tmux) to the terminal; /notify all|mentions|off per buffer,
// kept in the config directory; nothing in a message can make its own escape.

import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  notification, notificationEscape, NotifyLevels, notifyLevelsPath, oscKind, shouldNotify,
} from '../src/client/core/notify.js';
import { ClientState, type Entry } from '../src/client/core/state.js';
import { parseInput } from '../src/client/core/parse-input.js';
import { PasteFilter } from '../src/client/view/paste.js';
import { serve } from './helpers/client-harness.js';
import { Tmux, type Pane } from './helpers/client-tmux.js';

function entry(fields: Partial<Entry>): Entry {
  return { id: 1, ts: 0, kind: 'msg', text: 'hi', from: 'bob', ...fields };
}

t.test('which entries notify: mentions and private messages by default, every message with all, none with off', async (t) => {
  const state = new ClientState();
  const room = state.openRoom('test');
  const other = state.openRoom('other');
  const dm = state.openPrivate('bob');
  state.switchTo('other');
  const away = { focused: true, active: other };
  t.ok(shouldNotify('mentions', room, entry({ mention: true }), away), 'a mention in another buffer');
  t.notOk(shouldNotify('mentions', room, entry({}), away), 'a plain message does not');
  t.ok(shouldNotify('all', room, entry({}), away), '/notify all: every message');
  t.notOk(shouldNotify('off', room, entry({ mention: true }), away), '/notify off: nothing');
  t.ok(shouldNotify('mentions', dm, entry({ mention: true }), away), 'a private message');
  t.notOk(shouldNotify('mentions', room, entry({ mention: true, self: true }), away), 'not our own');
  t.notOk(shouldNotify('mentions', room, entry({ mention: true, history: true }), away), 'not history');
  t.notOk(shouldNotify('all', room, entry({ kind: 'join' }), away), 'not joins and notices');
  t.notOk(shouldNotify('mentions', other, entry({ mention: true }), away), 'not in the buffer shown in a focused terminal');
  t.ok(shouldNotify('mentions', other, entry({ mention: true }), { focused: false, active: other }), 'but yes when the terminal is not focused');
});

t.test('the escape: OSC 777 (or OSC 9), wrapped for tmux, and nothing in a message can end it or start another', async (t) => {
  const state = new ClientState();
  const room = state.openRoom('test');
  const hostile = entry({ from: 'evil;nick', text: 'hi\x07\x1b]777;notify;pwned;x\x07 a;b\nc\x9c\x1b\\ end' });
  const note = notification(room, hostile);
  t.notMatch(note.title + note.body, /[\x00-\x1f\x7f-\x9f;]/, 'no controls, escapes or field separators');
  t.equal(note.title, 'evil,nick in test');
  const plain = notificationEscape(note, '777', false);
  t.match(plain, /^\x1b\]777;notify;[^\x07\x1b]*\x07$/, 'one OSC 777, ended once');
  t.equal(plain.split(';').length, 4, 'exactly the fields notify;TITLE;BODY');
  const tmuxed = notificationEscape(note, '777', true);
  t.equal(tmuxed, `\x1bPtmux;\x1b${plain}\x1b\\`, 'tmux passthrough doubles the ESC');
  t.equal(notificationEscape({ title: 'a', body: 'b' }, '9', false), '\x1b]9;a: b\x07');
  t.equal(oscKind({ TERM_PROGRAM: 'iTerm.app' }), '9');
  t.equal(oscKind({ TERM_PROGRAM: 'tmux' }), '777');
  t.ok(notification(room, entry({ text: '长'.repeat(500) })).body.length <= 200, 'a long message is cut');
});

t.test('/notify levels are parsed, kept per server and buffer in the config directory, and read back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.same(parseInput('/notify all'), { kind: 'command', command: { name: 'notify', level: 'all' } });
  t.same(parseInput('/notify'), { kind: 'command', command: { name: 'notify' } });
  t.equal(parseInput('/notify loud').kind, 'error');
  const path = notifyLevelsPath({ XDG_CONFIG_HOME: dir });
  t.equal(path, join(dir, 'chat', 'notify.json'));
  const levels = new NotifyLevels(path, 'a:1');
  t.equal(levels.level('test'), 'mentions', 'the default');
  levels.set('test', 'all');
  levels.set('@bob', 'off');
  new NotifyLevels(path, 'b:2').set('test', 'off');
  t.same(JSON.parse(readFileSync(path, 'utf8')), { 'a:1': { test: 'all', '@bob': 'off' }, 'b:2': { test: 'off' } });
  const again = new NotifyLevels(path, 'a:1');
  t.equal(again.level('test'), 'all');
  t.equal(again.level('@bob'), 'off');
  t.equal(again.level('other'), 'mentions');
  again.set('test', 'mentions');
  t.same(JSON.parse(readFileSync(path, 'utf8'))['a:1'], { '@bob': 'off' }, 'the default is not written');
});

t.test('focus events are taken out of the keys and reported', async (t) => {
  const focus: boolean[] = [];
  const filter = new PasteFilter(() => {}, (f) => focus.push(f));
  let keys = '';
  filter.on('data', (chunk: Buffer) => (keys += chunk.toString()));
  filter.write('a\x1b[Ob\x1b[I\x1b[A');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(focus, [false, true]);
  t.equal(keys, 'ab\x1b[A', 'other escapes (Up) pass');
});

async function say(pane: Pane, text: string): Promise<void> {
  await pane.type(text);
  await pane.waitFor((l) => l.at(-1)!.endsWith(text.slice(-20)));
  await pane.keys('Enter');
  await pane.waitFor((l) => /^\[[^\]]+\]$/.test(l.at(-1)!));
}

const args = (port: number, nick: string, ...rooms: string[]) => ['join', ...rooms, '--host', '127.0.0.1', '--port', String(port), '--nick', nick];
const connected = (lines: string[]) => lines.at(-2)!.includes('| connected |');
/** The notifications in what the client wrote: OSC 777 inside tmux's passthrough (tmux sets TMUX in the pane). */
function notifications(raw: string): string[] {
  return [...raw.matchAll(/\x1bPtmux;\x1b\x1b\]777;notify;([^\x07]*)\x07\x1b\\/g)].map((m) => m[1]!);
}

t.test('in tmux: a mention in another buffer, a private message, an unfocused terminal notify; /notify changes it', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const alice = await tmux.chat('alice', args(port, 'alice', 'test', 'other'));
  const out = join(tmux.dir, 'alice.out');
  await alice.recordOutput(out);
  await alice.waitFor(connected);
  const utf8 = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
  await t.resolves(waitUntil(() => utf8().includes('\x1b[?1004h')), 'focus events were asked for');
  const bob = await tmux.chat('bob', args(port, 'bob', 'test', 'other'));
  await bob.waitFor(connected);
  await alice.keys('M-2'); // alice looks at test; bob talks in other
  await alice.waitFor((l) => l.at(-2)!.includes('[2:test]'));

  await say(bob, 'just chatting'); // in test, shown in alice's focused terminal: no notification
  await bob.keys('M-3');
  await bob.waitFor((l) => l.at(-2)!.includes('[3:other]'));
  await say(bob, 'nothing for anyone');
  await say(bob, 'hey alice, look at this');
  await alice.waitFor((l) => l.at(-2)!.includes('3:other(2!)'));
  await t.resolves(waitUntil(() => notifications(utf8()).length === 1), 'one notification');
  t.same(notifications(utf8()), ['bob in other;hey alice, look at this']);

  // A private message notifies too; so does a mention in the shown buffer once the terminal has lost the focus.
  await say(bob, '/msg alice psst');
  await waitUntil(() => notifications(utf8()).length === 2);
  t.equal(notifications(utf8())[1], 'bob (private);psst');
  await bob.keys('M-2');
  await bob.waitFor((l) => l.at(-2)!.includes('[2:test]'));
  await say(bob, 'alice: are you there?');
  await alice.waitFor('<bob> alice: are you there?');
  t.equal(notifications(utf8()).length, 2, 'not for a mention in the buffer shown in a focused terminal');
  await alice.sendBytes('1b', '5b', '4f'); // focus out
  await say(bob, 'alice: hello?');
  await waitUntil(() => notifications(utf8()).length === 3);
  t.equal(notifications(utf8())[2], 'bob in test;alice: hello?');
  await alice.sendBytes('1b', '5b', '49'); // focus in
  t.notMatch((await alice.lines()).at(-1)!, /\[I|\[O/, 'the focus events are not typed into the input line');

  // /notify off in test: nothing more from there; /notify all in other: every message.
  await say(alice, '/notify off');
  await alice.waitFor('Notifications in test: off.');
  await alice.keys('M-3');
  await say(alice, '/notify all');
  await alice.waitFor('Notifications in other: every message.');
  await alice.keys('M-2');
  await alice.waitFor((l) => l.at(-2)!.includes('[2:test]'));
  await alice.sendBytes('1b', '5b', '4f');
  await say(bob, 'alice: still muted here');
  await alice.waitFor('<bob> alice: still muted here');
  await bob.keys('M-3');
  await bob.waitFor((l) => l.at(-2)!.includes('[3:other]'));
  await say(bob, 'any message at all');
  await waitUntil(() => notifications(utf8()).length === 4);
  t.same(notifications(utf8()).slice(3), ['bob in other;any message at all'], 'muted test said nothing; other said all');
  t.same(JSON.parse(readFileSync(join(tmux.dir, 'chat', 'notify.json'), 'utf8')), { [`127.0.0.1:${port}`]: { test: 'off', other: 'all' } });
});

async function waitUntil(check: () => boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(check)}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

t.test('in tmux: a hostile private message cannot forge or break out of the notification; notify-send gets it as arguments', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  // A notify-send of our own, first on the PATH: it writes its arguments, one per line, where the test reads them.
  const bin = join(tmux.dir, 'bin');
  mkdirSync(bin);
  const calls = join(tmux.dir, 'notify-send.calls');
  writeFileSync(join(bin, 'notify-send'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> '${calls}'\necho --- >> '${calls}'\n`, { mode: 0o755 });
  mkdirSync(join(tmux.dir, 'chat'), { recursive: true });
  writeFileSync(join(tmux.dir, 'chat', 'config.json'), '{"notifySend": true}');
  const alice = await tmux.chat('alice', args(port, 'alice', 'test'), undefined, { PATH: `${bin}:${process.env.PATH}` });
  const out = join(tmux.dir, 'alice.out');
  await alice.recordOutput(out);
  await alice.waitFor(connected);

  const mallory = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => mallory.destroy());
  mallory.on('error', () => {});
  const attack = 'hi\x07\x1b]777;notify;forged;pwned\x07\x1b\\; $(touch /tmp/x) `id`\nsecond line';
  mallory.write(JSON.stringify({ type: 'hello', nick: 'mallory' }) + '\n');
  mallory.write(JSON.stringify({ type: 'msg', to: 'alice', text: attack }) + '\n');
  await waitUntil(() => existsSync(calls) && readFileSync(calls, 'utf8').includes('---'));
  const raw = readFileSync(out, 'utf8');
  t.same(notifications(raw), ['mallory (private);hi, $(touch /tmp/x) `id` second line']);
  t.notMatch(raw, 'forged', 'the message made no escape of its own');
  t.equal(readFileSync(calls, 'utf8'), '--app-name=chat\n--\nmallory (private)\nhi, $(touch /tmp/x) `id` second line\n---\n');
});
