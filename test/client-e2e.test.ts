// End to end: the real `chat` binary (built to dist/ by `npm run build`) in tmux terminals against a real
// in-process chat-server; assertions are on what the screen shows.

import t from 'tap';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ChatServer } from '../src/server/server.js';
import { stringWidth } from '../src/client/text/width.js';
import { serve } from './helpers/client-harness.js';
import { columnOf, count, Pane, Tmux } from './helpers/client-tmux.js';

// The status line says connected once the full screen is up and reading keys.
const connected = (lines: string[]) => lines.at(-2)!.includes('| connected |');
const args = (port: number, nick: string, ...rooms: string[]) => ['join', ...rooms, '--host', '127.0.0.1', '--port', String(port), '--nick', nick];

/** `chat join ROOMS --nick NICK` in a pane of its own, once its full screen is up and reading keys. */
async function joined(tmux: Tmux, port: number, nick: string, ...rooms: string[]) {
  const pane = await tmux.chat(nick, args(port, nick, ...rooms));
  await pane.waitFor(connected);
  return pane;
}

t.test('two people chat in one room, in Chinese and emoji; another room sees nothing; a private message', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const alice = await joined(tmux, port, 'alice', 'test');
  const bob = await joined(tmux, port, 'bob', 'test');
  const carol = await tmux.chat('carol', args(port, 'carol', 'anothertest'));
  await alice.waitFor('bob joined test');
  await carol.waitFor('Welcome to anothertest');

  await bob.type('hello alice 你好，世界 😀👍|end :thumbsup:');
  await bob.keys('Enter');
  const lines = await alice.waitFor('<bob> hello alice 你好，世界 😀👍|end 👍');
  const line = lines.find((l) => l.includes('<bob> hello alice'))!;
  // The member list's border is drawn at the same column on every row: blessed measured CJK and emoji as the
  // terminal draws them. Off by one there would push the border right on this row.
  const border = columnOf(lines[0]!, '│');
  t.ok(border > 0, 'the member list is shown');
  t.equal(columnOf(line, '│'), border, 'the border after CJK and emoji is in its column');
  t.equal(columnOf(line, '|end'), columnOf(line, 'hello') + stringWidth('hello alice 你好，世界 😀👍'));
  t.ok(lines.some((l) => /│ bob\s*$/.test(l)) && lines.some((l) => /│ alice\s*$/.test(l)), 'both in the member list');

  // Editing a line of CJK and emoji: the cursor lands where the terminal drew the characters.
  await alice.type('你好😀b');
  await alice.keys('Left', 'Left', 'BSpace');
  await alice.waitFor((l) => l.at(-1) === '[test] 你😀b');
  t.equal((await alice.cursorAt(stringWidth('[test] 你'))).x, stringWidth('[test] 你'), 'Left, Left, Backspace deleted 好; the cursor is after 你');
  await alice.keys('End');
  await alice.type(' ok');
  await alice.keys('Enter');
  await bob.waitFor('<alice> 你😀b ok');

  t.equal(count(await carol.lines(), 'hello alice'), 0, 'room isolation: carol in anothertest sees nothing');

  await alice.type('/msg bob psst, 秘密');
  await alice.keys('Enter');
  await alice.waitFor((l) => l.at(-2)!.includes('[3:@bob]') && l.some((x) => x.includes('<alice> psst, 秘密')));
  await bob.waitFor((l) => l.at(-2)!.includes('3:@alice(1!)'));
  t.equal(count(await bob.lines(), 'psst'), 0, 'the private message is in its own buffer');
  await bob.keys('M-3');
  await bob.waitFor('<alice> psst, 秘密');
  t.equal(count(await carol.lines(), 'psst'), 0);
});

t.test('flags and ZWJ families take 2 columns everywhere: the log, the member pane, the input line; nothing is left behind', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  // Widths as tmux (and most terminals) draw them: CJK 2 each, a flag 2, a family 2.
  const message = '国庆快乐 🇨🇳🇨🇳 我们班 👨‍👩‍👧 全家福';
  const drawnWidth = 8 + 1 + 4 + 1 + 6 + 1 + 2 + 1 + 6;
  const bob = await joined(tmux, port, 'bob', 'test');
  await say(bob, message);
  // ann's screen: the history line is drawn, then moved up under the welcome line as the next lines come in.
  const ann = await joined(tmux, port, 'ann', 'test');
  await say(ann, message);
  const lines = await ann.waitFor((l) => count(l, message) === 2);
  const border = lines[0]!.indexOf('│');
  t.ok(border > 0, 'the member list is shown');
  for (const line of lines.slice(0, -2)) {
    const expected = line.includes(message) ? border - drawnWidth + message.length : border;
    t.equal(line.indexOf('│'), expected, `the border is in its column: ${line.trimEnd()}`);
  }
  t.ok(lines.some((l) => /│ ann\s*$/.test(l)) && lines.some((l) => /│ bob\s*$/.test(l)), 'the member names are whole');
  const welcome = lines.find((l) => l.includes('Welcome to test!'))!;
  t.match(welcome, /-!- Welcome to test! 1 other is here\.\s+│$/, 'no half flag is left on the line that replaced a flag');
  t.equal(lines.filter((l) => /[\u{1f1e6}-\u{1f1ff}\u200d]/u.test(l)).length, 2, 'flags and ZWJ only in the two messages');

  // The input line: the cursor after `🇨🇳abc` is where tmux drew the c; a flag is deleted as one character.
  await ann.type('🇨🇳abc');
  await ann.waitFor((l) => l.at(-1) === '[test] 🇨🇳abc');
  t.equal((await ann.cursorAt(7 + 2 + 3)).x, 7 + 2 + 3, 'the cursor is just after the c');
  await ann.keys('Left', 'Left', 'Left');
  t.equal((await ann.cursorAt(7 + 2)).x, 7 + 2, 'Left moves over one character at a time');
  await ann.keys('BSpace');
  await ann.waitFor((l) => l.at(-1) === '[test] abc');
  t.equal((await ann.cursorAt(7)).x, 7, 'Backspace deleted the whole flag');
  await ann.keys('C-u', 'End', 'C-u');
  await ann.type('👨‍👩‍👧x');
  await ann.waitFor((l) => l.at(-1) === '[test] 👨‍👩‍👧x');
  await ann.keys('Left');
  t.equal((await ann.cursorAt(7 + 2)).x, 7 + 2, 'the family is 2 columns before the x');

  // Another buffer and back: nothing of the flags is left on the server buffer's screen.
  await ann.keys('C-u', 'End', 'C-u', 'M-1');
  const server = await ann.waitFor((l) => l.at(-1) === '[server]');
  t.notOk(server.some((l) => /[\u{1f1e6}-\u{1f1ff}\u200d国]/u.test(l)), 'the server buffer is clean');
  await ann.keys('M-2');
  await ann.waitFor((l) => count(l, message) === 2 && l[0]!.indexOf('│') === border);
});

t.test('the terminal probe reads tmux\'s own answers: flags and ZWJ sequences joined, skin tones and VS16 not', async (t) => {
  const tmux = new Tmux(t);
  const probe = resolve(import.meta.dirname, '../dist/src/client/view/terminal-probe.js');
  const script = `import(${JSON.stringify(probe)}).then(async (m) => { const w = await m.probeTerminal({ input: process.stdin, output: process.stdout }, 2000); console.log("PROBED " + JSON.stringify(w)); })`;
  await tmux.tmux('new-session', '-d', '-s', 'probe', '-x', '120', '-y', '5', `env LANG=C.UTF-8 ${process.execPath} -e '${script}'; sleep 600`);
  const pane = new Pane(tmux, 'probe');
  const lines = await pane.waitFor(/PROBED (\{.*\}|null)/);
  t.same(JSON.parse(/PROBED (\{.*\}|null)/.exec(lines.join('\n'))![1]!), { flags: true, zwj: true, skinTones: false, vs16: false });
  t.notOk(lines.some((l) => /[\u{1f1e6}-\u{1f1ff}\u2764]/u.test(l)), 'the probes were wiped from the screen');
});

t.test('the status line fits in 120 columns: the active buffer and activity kept, quiet ones folded; /b N and Alt+A', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const rooms = ['general', 'random', 'support', 'release', 'backend', 'frontend', 'design', 'ops', 'security', 'music', 'books'];
  const alice = await tmux.chat('alice', args(port, 'alice', ...rooms), { columns: 120, rows: 24 });
  await alice.waitFor(connected);
  const bob = await joined(tmux, port, 'bob', 'random');
  await say(alice, '/b 12');
  await alice.waitFor((l) => l.at(-2)!.includes('[12:books]'));
  await say(bob, '/msg alice are you there?');
  await say(bob, '/join random');
  await say(bob, 'alice: in random too');
  const status = (await alice.waitFor((l) => l.at(-2)!.includes('13:@bob(1!)') && l.at(-2)!.includes('3:random(1!)'))).at(-2)!;
  t.ok(stringWidth(status.trimEnd()) <= 120, 'within the terminal');
  t.match(status, /\[12:books\]/, 'the active buffer is shown');
  t.match(status, / \+\d+\s*$/, 'the quiet buffers are folded at the end, not cut off');
  // Both have a mention (a private message counts as one): the next after the active buffer comes first.
  await alice.keys('M-a');
  await alice.waitFor((l) => l.at(-2)!.includes('[13:@bob]') && l.some((x) => x.includes('<bob> are you there?')));
  await alice.keys('M-a');
  await alice.waitFor((l) => l.at(-2)!.includes('[3:random]') && l.some((x) => x.includes('<bob> alice: in random too')));
});

t.test('injection: escape sequences, controls and markup from another user are shown harmlessly', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const alice = await joined(tmux, port, 'alice', 'test');
  const titleBefore = await alice.format('#{pane_title}');
  const mallory = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => mallory.destroy());
  mallory.on('error', () => {});
  const attack =
    'A\x1b[2J\x1b[H\x1b[31mRED\x1b[0m\x1b]0;pwned\x07{red-bg}{bold}tag{/bold}\x1b[5;1Hmoved\x07\x08\u202eevil\x1bc Z';
  mallory.write(JSON.stringify({ type: 'join', room: 'test', nick: 'mallory' }) + '\n');
  mallory.write(JSON.stringify({ type: 'msg', room: 'test', text: attack }) + '\n');
  const lines = await alice.waitFor('<mallory> ');
  const line = lines.find((l) => l.includes('<mallory> '))!;
  t.match(line, '<mallory> AREDtag'.replace('tag', '{red-bg}{bold}tag{/bold}') + 'movedevil Z');
  t.ok(lines.some((l) => l.includes('You joined test')), 'the screen was not cleared');
  t.notMatch(await alice.format('#{pane_title}'), /pwned/, 'the terminal title was not changed');
  t.equal(await alice.format('#{pane_title}'), titleBefore);
  const styled = (await alice.styled()).split('\n').find((l) => l.includes('RED'))!;
  t.notMatch(styled, /\x1b\[(?:[0-9;]*;)?31m/, 'RED is not drawn in red');
});

t.test('paste of several lines is one message; resize relayouts without losing the log', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const alice = await joined(tmux, port, 'alice', 'test');
  const bob = await joined(tmux, port, 'bob', 'test');
  await alice.waitFor('bob joined test');
  await bob.paste('line one\nline two\nline three');
  const lines = await alice.waitFor('line three');
  const first = lines.findIndex((l) => l.includes('<bob> line one'));
  t.ok(first >= 0, 'the first line carries the nick');
  t.match(lines[first + 1], /^\s+line two/, 'the next lines are part of the same message');
  t.equal(count(lines, '<bob>'), 1, 'one message, not three');

  await bob.paste(Array.from({ length: 8 }, (_, i) => `long ${i + 1}`).join('\n'));
  await bob.waitFor('Send the pasted 8 lines');
  await bob.keys('y');
  await alice.waitFor('long 8');

  await alice.resize(60, 20);
  const narrow = await alice.waitFor((l) => l.length === 20 && !l.some((x) => x.includes('│')));
  t.ok(narrow.some((l) => l.includes('long 8')), 'the log survives a resize');
  t.ok(narrow.every((l) => stringWidth(l) <= 60));
  await alice.resize(100, 24);
  await alice.waitFor((l) => l.length === 24 && l.some((x) => x.includes('│ bob')));
});

t.test('reconnect after the server restarts: no lost or duplicated lines', async (t) => {
  const first = new ChatServer({});
  const { port } = await first.listen(0, '127.0.0.1');
  t.teardown(() => first.close());
  const tmux = new Tmux(t);
  const alice = await joined(tmux, port, 'alice', 'test');
  const bob = await joined(tmux, port, 'bob', 'test');
  await alice.waitFor('bob joined test');
  await alice.type('before the restart');
  await alice.keys('Enter');
  await bob.waitFor('<alice> before the restart');

  await first.close();
  await bob.waitFor(/reconnecting/);
  await alice.waitFor(/reconnecting/);
  await alice.type('typed while away');
  await alice.keys('Enter');
  await alice.waitFor((l) => l.some((x) => x.includes('<alice> typed while away (queued: sent when connected)')) && /, 1 queued \|/.test(l.at(-2)!));
  const second = new ChatServer({});
  await second.listen(port, '127.0.0.1');
  t.teardown(() => second.close());
  await alice.waitFor(connected, 15000);
  await bob.waitFor(connected, 15000);
  await alice.type('after the restart');
  await alice.keys('Enter');
  const lines = await bob.waitFor('<alice> after the restart');
  t.equal(count(lines, 'before the restart'), 1, 'the earlier line is shown once');
  t.equal(count(lines, 'after the restart'), 1, 'the new line is shown once');
  t.equal(count(lines, '<alice> typed while away'), 1, 'the line typed while away went out once');
  t.ok(lines.findIndex((l) => l.includes('typed while away')) < lines.findIndex((l) => l.includes('after the restart')), 'before the next');
  t.equal(count(await alice.lines(), 'queued'), 0, 'and is no longer shown as queued');
  t.ok(lines.some((l) => l.includes('Reconnected.')));

  await bob.type('/quit');
  await bob.keys('Enter');
  await bob.waitFor('[chat exited 0]');
});

t.test('server not running: a clear error and exit code 3 before any full screen', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const tmux = new Tmux(t);
  const pane = await tmux.chat('lonely', args(port, 'alice', 'test'));
  const screen = (await pane.waitFor('[chat exited 3]')).join(''); // the message wraps at the pane's width
  t.match(screen, `no chat-server is running at 127.0.0.1:${port}`);
  t.match(screen, `Start one with: chat-server --port ${port}`);
});


/**
 * Type a line and press Enter, waiting for the screen at each step: keys sent next must not reach chat in the same
 * read as this line (a chunk with a newline inside is taken for a paste).
 */
async function say(pane: Pane, text: string): Promise<void> {
  await pane.type(text);
  await pane.waitFor((l) => l.at(-1)!.endsWith(text.slice(-20)));
  await pane.keys('Enter');
  await pane.waitFor((l) => /^\[[^\]]+\]$/.test(l.at(-1)!));
}

t.test('files: alice /sends a file, bob sees it numbered as a message (#N), /files lists it, /get N DIR saves the same bytes', async (t) => {
  const { port } = await serve(t);
  const dir = mkdtempSync(join(tmpdir(), 'cf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const into = join(dir, 'in');
  mkdirSync(into);
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
  writeFileSync(join(dir, 'photo.bin'), bytes);
  const tmux = new Tmux(t);
  const alice = await joined(tmux, port, 'alice', 'test');
  const bob = await joined(tmux, port, 'bob', 'test');
  await alice.waitFor('bob joined test');

  await alice.type(`/send ${join(dir, 'pho')}`);
  await alice.keys('Tab');
  await alice.waitFor((l) => l.at(-1) === `[test] /send ${join(dir, 'photo.bin')}`); // Tab completed the path
  await alice.keys('Enter');
  await alice.waitFor((l) => l.at(-1) === '[test]');
  await say(alice, 'did you get it?');
  const shared = /\* alice shared photo\.bin \(3\.0 MiB\), file \S+ #(\d+)\b/;
  const seen = await bob.waitFor(shared);
  t.ok(seen.some((l) => l.includes('<alice> did you get it?')), 'chat goes on beside the upload');
  // One number: the file's seq, as every message's #N (the message said beside it took the other one).
  const photo = Number(seen.map((l) => shared.exec(l)?.[1]).find(Boolean));
  t.ok(photo === 1 || photo === 2, 'numbered as a message of the room');
  t.ok(seen.some((l) => l.includes(`<alice> did you get it? #${3 - photo} `)));
  await alice.waitFor('Sent photo.bin (3.0 MiB).');

  await say(bob, '/files');
  await bob.waitFor(new RegExp(`#${photo} {2}photo\\.bin {2}3\\.0 MiB {2}from alice`));
  await say(bob, `/get ${photo} ${into}`);
  await say(bob, 'downloading now');
  await alice.waitFor('<bob> downloading now');
  await bob.waitFor(`Saved photo.bin to ${join(into, 'photo.bin')} (3.0 MiB, sha256 verified).`);
  t.same(readFileSync(join(into, 'photo.bin')), bytes, 'identical bytes');

  // A larger file: the progress line with percent, speed and ETA is drawn under the log while it runs.
  const big = Buffer.alloc(32 * 1024 * 1024, 7);
  writeFileSync(join(dir, 'big.bin'), big);
  await say(alice, `/send ${join(dir, 'big.bin')}`);
  // While it runs, a line under the log: reading the file for its sha256, then a bar with speed and ETA.
  await alice.waitFor((l) => l.some((x) => /^\u21e1 big\.bin(: computing its sha256| \[)/.test(x)));
  const bigShared = /\* alice shared big\.bin \(32 MiB\), file \S+ #(\d+)\b/;
  const bigNumber = Number((await bob.waitFor(bigShared)).map((l) => bigShared.exec(l)?.[1]).find(Boolean));
  t.ok(bigNumber > photo, 'the next number of the room');
  await alice.waitFor((l) => !l.some((x) => x.startsWith('\u21e1')) && l.some((x) => x.includes('Sent big.bin (32 MiB).')));
  await say(bob, `/get #${bigNumber} ${into}`);
  const downloading = await bob.waitFor((l) => l.some((x) => x.startsWith('\u21e3 big.bin [')));
  t.match(downloading.find((x) => x.startsWith('\u21e3 big.bin'))!, /^\u21e3 big\.bin \[[█░]+\]\s+\d+% [\d.]+\/32 MiB (?:-|\S+ \S+)\/s ETA \S+$/);
  await bob.waitFor(`Saved big.bin to ${join(into, 'big.bin')} (32 MiB, sha256 verified).`);
  t.ok(readFileSync(join(into, 'big.bin')).equals(big), 'the large file arrived whole');

  await say(bob, `/get ${photo} ${join(dir, 'missing')}`);
  await bob.waitFor(`Cannot save into ${join(dir, 'missing')}: no such file or directory.`);
  await say(alice, '/send nothing-here.txt');
  await alice.waitFor('Cannot send nothing-here.txt: no such file or directory.');
  await say(alice, 'still talking');
  const last = await bob.waitFor('<alice> still talking');
  t.ok(last.some((l) => new RegExp(`\\* alice shared photo\\.bin .* #${photo}\\b`).test(l)), 'the number is shown as typed, not escaped');
  t.ok((await alice.lines()).some((l) => new RegExp(`\\* alice shared photo\\.bin .* #${photo}\\b`).test(l)), 'on the sender\'s screen too');
});

/** Type a command that asks a question, and Enter. */
async function command(pane: Pane, text: string): Promise<void> {
  await pane.type(text);
  await pane.waitFor((l) => l.at(-1)!.endsWith(text));
  await pane.keys('Enter');
}

t.test('/register asks the password twice without echo, keeps the token; /login NICK in another terminal logs in', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const password = 'correct horse 你好';
  const masked = '\u2022'.repeat([...new Intl.Segmenter().segment(password)].length);
  const alice = await joined(tmux, port, 'alice', 'test');
  await command(alice, '/register');
  await alice.waitFor((l) => l.at(-1) === 'Password for alice:');
  await alice.type(password);
  const typed = await alice.waitFor((l) => l.at(-1) === `Password for alice: ${masked}`);
  t.notOk(typed.join('\n').includes('horse'), 'only \u2022 is shown while the password is typed');
  await alice.keys('Enter');
  await alice.waitFor((l) => l.at(-1) === 'Again:');
  await alice.type(password);
  await alice.waitFor((l) => l.at(-1) === `Again: ${masked}`);
  await alice.keys('Enter');
  const done = await alice.waitFor('Registered and logged in as alice.');
  t.notOk(done.join('\n').includes('horse'), 'the password is in no message');
  t.equal(done.at(-1), '[test]', 'the input line is the chat line again, empty');
  const kept = JSON.parse(readFileSync(join(tmux.dir, 'chat', 'tokens.json'), 'utf8'))[`127.0.0.1:${port}`];
  t.match(kept, { account: 'alice', token: /^[A-Za-z0-9_-]{43}$/ }, 'the token is kept as chat register keeps it');
  await alice.keys('Up');
  await alice.waitFor((l) => l.at(-1) === '[test] /register');
  await alice.keys('Up');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal((await alice.lines()).at(-1), '[test] /register', 'Up recalls the command, never the password');
  await alice.keys('C-u');

  // Another terminal (its own config dir, no kept token): the nick is registered; Escape cancels; /login asks.
  const other = new Tmux(t);
  const bob = await other.chat('bob', args(port, 'bob', 'test'));
  await bob.waitFor(connected);
  await command(bob, '/register alice');
  await bob.waitFor((l) => l.at(-1) === 'Password for alice:');
  await bob.type('mistyped');
  await bob.keys('Escape');
  await bob.waitFor('Cancelled; nothing was sent.');
  await command(bob, '/register alice');
  for (const prompt of ['Password for alice:', 'Again:']) {
    await bob.waitFor((l) => l.at(-1) === prompt);
    await bob.type(password);
    await bob.keys('Enter');
  }
  await bob.waitFor('The nick "alice" already has an account.');
  await command(bob, '/login alice');
  await bob.waitFor((l) => l.at(-1) === 'Password for alice:');
  await bob.type(password);
  await bob.keys('Enter');
  const loggedIn = await bob.waitFor('Logged in as alice.');
  t.notOk(loggedIn.join('\n').includes('horse'));
  await bob.waitFor((l) => l.at(-2)!.includes('alice'));
  await say(bob, 'hello from the second terminal');
  await alice.waitFor('<alice> hello from the second terminal');
});
