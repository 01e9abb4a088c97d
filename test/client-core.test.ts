// The client's pure core, without a terminal or a socket: text safety and width, commands, the input line,
// buffers and their state, scrolling, formatting, options, backoff, paste detection, and the blessed drawing.

import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import blessed from 'blessed';
import { box, openScreen, tmuxVersion } from '../src/client/view/blessed-screen.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  charWidth, drawnGrapheme, fitToWidth, graphemes, graphemeWidth, stringWidth, TMUX_WIDTHS, truncateToWidth, useTerminalWidths, wrapText,
} from '../src/client/text/width.js';
import { PROBES, probeTerminal } from '../src/client/view/terminal-probe.js';
import { isStandIn, restoreClusters, standInFor, standInWidth } from '../src/client/view/cluster-cells.js';
import { sanitize, sanitizeLine } from '../src/client/text/sanitize.js';
import { describeError, fsProblem } from '../src/client/text/wording.js';
import { inUnitOf } from '../src/client/text/size.js';
import { formatDuration } from '../src/client/text/time.js';
import { emojify } from '../src/client/core/emoji.js';
import { helpLines, parseInput } from '../src/client/core/parse-input.js';
import { InputLine } from '../src/client/view/input-line.js';
import { SecretLine } from '../src/client/view/secret-line.js';
import { ClientState, mentions } from '../src/client/core/state.js';
import { scrollBy, visibleRows, type Row } from '../src/client/core/scrollback.js';
import { entryRows, layoutRows, makeChalk, nickColour, plainLine } from '../src/client/view/format.js';
import { statusLine } from '../src/client/view/status-line.js';
import { configPath, loginNick, readConfigFile, resolveOptions } from '../src/client/cli/options.js';
import { Backoff } from '../src/client/core/backoff.js';
import { normalizePaste, PasteFilter } from '../src/client/view/paste.js';
import { ChatClient } from '../src/client/core/client.js';
import { suggestedNick } from '../src/client/core/handshake.js';
import { Transfers } from '../src/client/core/transfers.js';
import { progressLine } from '../src/client/view/progress-line.js';
import { completePath, defaultDownloadDir, expandHome } from '../src/client/core/paths.js';
import { ClientError, ExitCode } from '../src/client/core/errors.js';
import { until } from './helpers/client-harness.js';
import { createTui, runTui } from '../src/client/view/tui.js';
import type { ServerMessage } from '../src/protocol/index.js';

const TS = '2026-01-02T03:04:05.000Z';
const plain = makeChalk(false);
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

t.test('sanitize: escape sequences, controls and bidi overrides from other users are removed', async (t) => {
  t.equal(sanitize('\x1b[31mred\x1b[0m text'), 'red text', 'SGR colour');
  t.equal(sanitize('a\x1b[2J\x1b[Hb'), 'ab', 'clear screen and cursor home');
  t.equal(sanitize('x\x1b]0;pwned title\x07y'), 'xy', 'OSC title, BEL-terminated');
  t.equal(sanitize('x\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\y'), 'xlinky', 'OSC 8 hyperlink, ST-terminated');
  t.equal(sanitize('x\x1bPq#0;2;0;0;0\x1b\\y'), 'xy', 'DCS string');
  t.equal(sanitize('a\x1bcb'), 'ab', 'RIS (full reset)');
  t.equal(sanitize('a\x9b31mb'), 'ab', 'C1 CSI');
  t.equal(sanitize('bell\x07 back\x08 cr\r nul\x00 del\x7f'), 'bell back cr nul del');
  t.equal(sanitize('line one\nline\ttwo'), 'line one\nline\ttwo', 'newline and tab stay');
  t.equal(sanitize('abc\u202egnp.exe'), 'abcgnp.exe', 'right-to-left override');
  t.equal(sanitize('\u2066x\u2069'), 'x', 'bidi isolates');
  t.equal(sanitize('{red-fg}{bold}hi{/}'), '{red-fg}{bold}hi{/}', 'blessed tags are left as text (tags are off)');
  t.equal(sanitize('你好，世界 😀👍 é'), '你好，世界 😀👍 é', 'ordinary text is untouched');
  t.equal(sanitizeLine('a\nb\tc\x1b[1m'), 'a b c');
  t.equal(sanitize('unterminated \x1b]0;title'), 'unterminated ', 'an unterminated OSC runs to the end');
});

t.test('width: CJK and emoji take two columns, combining marks none', async (t) => {
  t.equal(stringWidth('hello'), 5);
  t.equal(stringWidth('你好，世界'), 10);
  t.equal(stringWidth('😀👍'), 4);
  t.equal(stringWidth('a😀b'), 4);
  t.equal(stringWidth('e\u0301'), 1, 'e + combining acute');
  t.equal(stringWidth('한국어'), 6);
  t.equal(charWidth(0x1b), 0);
  t.equal(charWidth('👍'.codePointAt(0)!), 2);
  t.equal(charWidth('❤'.codePointAt(0)!), 1, 'text-presentation symbols stay narrow');
  t.same(graphemes('a👍🏽e\u0301'), ['a', '👍🏽', 'e\u0301']);
  t.equal(truncateToWidth('你好世界', 5), '你好', 'a wide character never straddles the edge');
  t.equal(fitToWidth('😀x', 5), '😀x  ');
});

t.test('width by grapheme cluster: flags and ZWJ families are 2 columns; what terminals disagree on is drawn safely', async (t) => {
  t.equal(stringWidth('🇨🇳'), 2, 'a flag');
  t.equal(stringWidth('🇨🇳🇨🇳'), 4, 'two flags');
  t.equal(stringWidth('🇨'), 1, 'a lone regional indicator, as terminals draw it');
  t.equal(stringWidth('👨‍👩‍👧'), 2, 'a ZWJ family');
  t.equal(stringWidth('国庆快乐 🇨🇳🇨🇳 我们班 👨‍👩‍👧 全家福'), 30);
  t.equal(graphemeWidth('👨‍👩‍👧'), 2);
  t.equal(stringWidth('\x1b[31m红\x1b[0m🇨🇳'), 4, 'colour codes take no columns');
  t.equal(drawnGrapheme('👍🏽'), '👍', 'a skin tone is not drawn (tmux: 4 columns, others: 2)');
  t.equal(stringWidth('👍🏽'), 2);
  t.equal(drawnGrapheme('❤️'), '❤', 'VS16 after a narrow symbol is not drawn (1 or 2 columns, by terminal)');
  t.equal(stringWidth('❤️'), 1);
  t.equal(drawnGrapheme('👨\u200d'), '👨', 'a trailing ZWJ would glue the next character to this one');
  t.equal(drawnGrapheme('\u200d'), '');
  t.equal(drawnGrapheme('👩🏽\u200d💻'), '👩\u200d💻');
  t.equal(stringWidth('👩🏽\u200d💻'), 2);
  t.same(graphemes('a🇨🇳👨‍👩‍👧b'), ['a', '🇨🇳', '👨‍👩‍👧', 'b']);
  t.equal(truncateToWidth('🇨🇳🇨🇳🇨🇳', 5), '🇨🇳🇨🇳', 'a flag never straddles the edge');
  t.same(wrapText('🇨🇳🇨🇳🇨🇳', 4), ['🇨🇳🇨🇳', '🇨🇳']);
  t.equal(fitToWidth('👨‍👩‍👧x', 5), '👨‍👩‍👧x  ');
});

t.test('terminal widths: a terminal that draws skin tones, VS16 but not flags or ZWJ sequences as one gets what it can draw', async (t) => {
  t.teardown(() => useTerminalWidths(TMUX_WIDTHS));
  useTerminalWidths({ flags: false, zwj: false, skinTones: true, vs16: true });
  t.equal(drawnGrapheme('🇨🇳'), 'CN', 'a flag as its two letters');
  t.equal(stringWidth('🇨🇳'), 2);
  t.equal(drawnGrapheme('👨‍👩‍👧'), '👨', 'a ZWJ sequence as its first emoji');
  t.equal(stringWidth('👨‍👩‍👧'), 2);
  t.equal(drawnGrapheme('👍🏽'), '👍🏽', 'the skin tone is kept');
  t.equal(stringWidth('👍🏽'), 2);
  t.equal(drawnGrapheme('❤️'), '❤️', 'VS16 is kept');
  t.equal(stringWidth('❤️ ok'), 5);
  useTerminalWidths(TMUX_WIDTHS);
  t.equal(stringWidth('❤️ ok'), 4, 'measured again after the change');
});

function answeringTerminal(columns: Record<string, number> | null) {
  const input = Object.assign(new PassThrough(), { isRaw: false, setRawMode(mode: boolean) { input.isRaw = mode; } });
  let line = '';
  const output = new Writable({
    write(chunk, _encoding, done) {
      for (const part of chunk.toString().split(/(\r|\x1b\[6n|\x1b\[2K)/)) {
        if (part === '\r') line = '';
        else if (part === '\x1b[6n') {
          // The report says where the cursor is when the terminal reads the request (probes may come in one write).
          const report = `\x1b[5;${1 + (columns?.[line] ?? 1)}R`;
          if (columns) setTimeout(() => input.write(report), 2);
        } else if (part !== '\x1b[2K') line += part;
      }
      done();
    },
  });
  return { input, output };
}

t.test('terminal probe: each cluster is written and the cursor report read back; a silent terminal keeps the defaults', async (t) => {
  const tmuxLike = answeringTerminal({ [PROBES.flags]: 2, [PROBES.zwj]: 2, [PROBES.skinTones]: 4, [PROBES.vs16]: 1 });
  t.same(await probeTerminal(tmuxLike), TMUX_WIDTHS);
  t.equal(tmuxLike.input.isRaw, false, 'raw mode is given back');
  const kittyLike = answeringTerminal({ [PROBES.flags]: 2, [PROBES.zwj]: 2, [PROBES.skinTones]: 2, [PROBES.vs16]: 2 });
  t.same(await probeTerminal(kittyLike), { flags: true, zwj: true, skinTones: true, vs16: true });
  const old = answeringTerminal({ [PROBES.flags]: 4, [PROBES.zwj]: 6, [PROBES.skinTones]: 4, [PROBES.vs16]: 1 });
  t.same(await probeTerminal(old), { flags: false, zwj: false, skinTones: false, vs16: false });
  const started = Date.now();
  t.equal(await probeTerminal(answeringTerminal(null), 100), null, 'no answer: null');
  t.ok(Date.now() - started < 1000, 'within the time given');
});

t.test('cluster stand-ins: one code point per cluster for blessed, the cluster again for the terminal', async (t) => {
  const flag = standInFor('🇨🇳', 2)!;
  t.equal([...flag].length, 1, 'one code point');
  t.ok(isStandIn(flag.codePointAt(0)!));
  t.equal(standInFor('🇨🇳', 2), flag, 'the same cluster, the same stand-in');
  const family = standInFor('👨‍👩‍👧', 2)!;
  t.not(family, flag);
  t.equal(standInWidth(flag.codePointAt(0)!), 2);
  t.equal(restoreClusters(`a${flag}\x1b[1mb${family}c`), 'a🇨🇳\x1b[1mb👨‍👩‍👧c');
  t.equal(restoreClusters('a\u{ffff0}b'), 'ab', 'an unknown stand-in is never written');
});

t.test('wrapText breaks at spaces, and anywhere in CJK, within the width', async (t) => {
  t.same(wrapText('the quick brown fox', 10), ['the quick', 'brown fox']);
  t.same(wrapText('你好，世界你好，世界', 8), ['你好，世', '界你好，', '世界']);
  t.same(wrapText('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
  t.same(wrapText('', 10), ['']);
  for (const row of wrapText('混合 text 和 emoji 😀👍 在一起 mixed together', 9)) t.ok(stringWidth(row) <= 9, row);
});

t.test('emoji shortcodes become emoji; unknown ones and clock times stay', async (t) => {
  t.equal(emojify(':smile: :thumbsup: :+1: :tada:'), '😄 👍 👍 🎉');
  t.equal(emojify('at 12:30:45 :nosuchemoji:'), 'at 12:30:45 :nosuchemoji:');
  t.equal(emojify(':SMILE:'), '😄');
});

t.test('parseInput: text, slash commands, usage errors, unknown commands', async (t) => {
  t.same(parseInput('hello'), { kind: 'text', text: 'hello' });
  t.same(parseInput('   '), { kind: 'empty' });
  t.same(parseInput('//not a command'), { kind: 'text', text: '/not a command' });
  t.same(parseInput('/join #Test'), { kind: 'command', command: { name: 'join', room: 'Test' } });
  t.same(parseInput('/j test'), { kind: 'command', command: { name: 'join', room: 'test' } });
  t.match(parseInput('/join'), { kind: 'error', message: /Usage: \/join ROOM/ });
  t.same(parseInput('/leave'), { kind: 'command', command: { name: 'leave' } });
  t.same(parseInput('/part other'), { kind: 'command', command: { name: 'leave', target: 'other' } });
  t.same(parseInput('/msg bob hi there  you'), { kind: 'command', command: { name: 'msg', nick: 'bob', text: 'hi there  you' } });
  t.match(parseInput('/msg bob'), { kind: 'error', message: /Usage: \/msg NICK TEXT/ });
  t.same(parseInput('/nick alice2'), { kind: 'command', command: { name: 'nick', nick: 'alice2' } });
  t.same(parseInput('/me waves 👋'), { kind: 'command', command: { name: 'me', text: 'waves 👋' } });
  t.same(parseInput('/who'), { kind: 'command', command: { name: 'who' } });
  t.same(parseInput('/WHO test'), { kind: 'command', command: { name: 'who', room: 'test' } });
  t.same(parseInput('/rooms'), { kind: 'command', command: { name: 'rooms' } });
  t.same(parseInput('/clear'), { kind: 'command', command: { name: 'clear' } });
  t.same(parseInput('/help'), { kind: 'command', command: { name: 'help' } });
  t.same(parseInput('/quit gone fishing'), { kind: 'command', command: { name: 'quit', reason: 'gone fishing' } });
  t.same(parseInput('/frobnicate x'), {
    kind: 'error',
    message: 'Unknown command /frobnicate. Type /help for the list of commands.',
  });
  t.same(parseInput('/etc/passwd is a file\nsecond line'), { kind: 'text', text: '/etc/passwd is a file\nsecond line' }, 'a multi-line paste is text');
  t.ok(helpLines().some((l) => l.includes('/msg NICK TEXT')));
});

t.test('InputLine: editing keys move over whole characters', async (t) => {
  const line = new InputLine();
  line.insert('你好');
  line.insert('\ud83d'); // blessed delivers an emoji as two surrogate halves
  line.insert('\ude00');
  line.insert('b');
  t.equal(line.value, '你好😀b');
  t.equal(line.length, 4);
  line.left();
  line.left();
  line.backspace();
  t.equal(line.value, '你😀b', 'backspace deletes the whole wide character');
  t.equal(line.cursor, 1);
  line.end();
  line.insert('👍');
  line.home();
  line.insert('>');
  t.equal(line.value, '>你😀b👍');
  line.end();
  line.insert(' one two');
  line.killWordBack();
  t.equal(line.value, '>你😀b👍 one ');
  line.left();
  line.left();
  line.killToStart();
  t.equal(line.value, 'e ');
  t.equal(line.cursor, 0);
  line.deleteForward();
  t.equal(line.value, ' ');
  line.set('👍');
  line.insert('\u{1f3fd}');
  t.equal(line.length, 1, 'a skin tone joins the emoji before it');
});

t.test('InputLine: Up/Down recall earlier input and keep the draft', async (t) => {
  const line = new InputLine();
  line.insert('first');
  t.equal(line.submit(), 'first');
  line.insert('second');
  line.submit();
  line.insert('draft');
  line.historyUp();
  t.equal(line.value, 'second');
  line.historyUp();
  t.equal(line.value, 'first');
  line.historyUp();
  t.equal(line.value, 'first', 'stops at the oldest');
  line.historyDown();
  line.historyDown();
  t.equal(line.value, 'draft', 'back to what was being typed');
});

t.test('InputLine: Tab completes commands and nicks, again cycles', async (t) => {
  const line = new InputLine();
  line.insert('/jo');
  line.complete(['join', 'leave'], []);
  t.equal(line.value, '/join ');
  line.set('al');
  line.complete(['join'], ['bob', 'alice', 'Alan']);
  t.equal(line.value, 'Alan: ', 'a nick at the start gets ": "');
  line.complete(['join'], ['bob', 'alice', 'Alan']);
  t.equal(line.value, 'alice: ', 'Tab again: the next candidate');
  line.set('hi b');
  line.complete([], ['bob']);
  t.equal(line.value, 'hi bob ');
  line.set('nothing x');
  line.complete([], ['bob']);
  t.equal(line.value, 'nothing x', 'no candidate: unchanged');
});

t.test('SecretLine: a password shows as one • per grapheme, Enter answers, Escape cancels, Up recalls nothing', async (t) => {
  const answers: (string | null)[] = [];
  const question = { prompt: 'Password for alice:', answer: (s: string) => answers.push(s), cancel: () => answers.push(null) };
  const secret = new SecretLine(question);
  for (const ch of ['p', 'é', '你', 'x']) t.notOk(secret.key(ch, ch, true));
  secret.key(undefined, 'backspace', false);
  secret.key(undefined, 'up', false);
  t.same(secret.view(40), { text: 'Password for alice: •••', cursorColumn: 23 }, 'wide or accented, each is one •; the text never shows');
  t.notOk(secret.key('\r', 'return', false));
  t.ok(secret.key('\r', 'enter', false));
  t.same(answers, ['pé你']);
  const cancelled = new SecretLine(question);
  cancelled.key('a', 'a', true);
  t.ok(cancelled.key(undefined, 'escape', false));
  t.same(answers, ['pé你', null]);
});

t.test('InputLine.view keeps the cursor visible in a narrow field', async (t) => {
  const line = new InputLine();
  line.insert('你好，世界');
  t.same(line.view(20), { text: '你好，世界', cursorColumn: 10 });
  const narrow = line.view(6);
  t.ok(stringWidth(narrow.text) <= 6);
  t.ok(narrow.cursorColumn <= 6 && narrow.cursorColumn >= 0);
  line.home();
  t.same(line.view(6), { text: '你好，', cursorColumn: 0 });
});

function event(message: ServerMessage): ServerMessage {
  return message;
}

function joined(state: ClientState, room = 'test', nick = 'alice'): void {
  state.apply(event({ type: 'welcome', nick, server: 'chat-server 1', proto: 1, motd: 'hi' }));
  state.apply(event({ type: 'join', room, nick, ts: TS }));
  state.apply(event({ type: 'members', room, nicks: ['bob', nick] }));
}

t.test('state: a room buffer gets messages, joins, leaves and nick changes', async (t) => {
  const state = new ClientState(() => 0);
  joined(state);
  state.switchTo('test');
  t.equal(state.active.key, 'test');
  t.same(state.active.members, ['alice', 'bob']);
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'hello\x1b[31m', ts: TS, seq: 1 }));
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'waves', ts: TS, seq: 2, me: true }));
  state.apply(event({ type: 'join', room: 'test', nick: 'carol', ts: TS }));
  state.apply(event({ type: 'nick', room: 'test', old: 'carol', nick: 'caz', ts: TS }));
  state.apply(event({ type: 'leave', room: 'test', nick: 'caz', ts: TS, reason: 'bye' }));
  const entries = state.active.entries.map((e) => [e.kind, e.text]);
  t.same(entries.slice(1), [
    ['msg', 'hello'],
    ['action', 'waves'],
    ['join', 'carol joined test'],
    ['nick', 'carol is now known as caz'],
    ['leave', 'caz left test (bye)'],
  ]);
  t.same(state.active.members, ['alice', 'bob']);
  t.equal(state.active.unread, 0, 'the active buffer has no unread count');
});

t.test('state: unread counts and mentions in other buffers; the bell rings for mentions and private messages', async (t) => {
  const state = new ClientState();
  joined(state, 'test');
  joined(state, 'other');
  state.switchTo('test');
  t.same(state.apply(event({ type: 'msg', room: 'other', from: 'bob', text: 'hi', ts: TS, seq: 1 })), { bell: false });
  t.same(state.apply(event({ type: 'msg', room: 'other', from: 'bob', text: 'hey Alice, look', ts: TS, seq: 2 })), { bell: true });
  const other = state.room('other')!;
  t.equal(other.unread, 2);
  t.equal(other.mentioned, true);
  t.equal(other.entries.at(-1)!.mention, true);
  t.same(state.apply(event({ type: 'msg', to: 'alice', from: 'bob', text: 'psst', ts: TS })), { bell: true });
  const query = state.buffer('@bob')!;
  t.equal(query.kind, 'private');
  t.equal(query.unread, 1);
  state.apply(event({ type: 'msg', to: 'bob', from: 'alice', text: 'yes?', ts: TS }));
  t.equal(query.entries.length, 2, 'my own private message goes to the same buffer');
  state.switchTo('other');
  t.equal(other.unread, 0);
  t.equal(other.mentioned, false);
  t.ok(mentions('ping @alice!', 'alice'));
  t.notOk(mentions('malice aforethought', 'alice'));
  t.notOk(mentions('anything', ''));
});

t.test('state: history at or below the last seq seen is not shown twice; a restarted numbering is kept', async (t) => {
  const state = new ClientState();
  joined(state);
  const room = state.room('test')!;
  for (const seq of [1, 2, 3]) state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: `m${seq}`, ts: TS, seq, history: true }));
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'm2', ts: TS, seq: 2, history: true }));
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'm4', ts: TS, seq: 4 }));
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'fresh', ts: TS, seq: 1 }));
  t.same(room.entries.filter((e) => e.kind === 'msg').map((e) => e.text), ['m1', 'm2', 'm3', 'm4', 'fresh']);
  t.same(room.lastSeen, { seq: 1, ts: TS, from: 'bob' });
});

t.test('state: my nick change, buffers switch, cycle and close', async (t) => {
  const state = new ClientState();
  joined(state);
  state.apply(event({ type: 'msg', to: 'alice', from: 'bob', text: 'psst', ts: TS }));
  state.apply(event({ type: 'nick', room: 'test', old: 'bob', nick: 'robert', ts: TS }));
  t.ok(state.buffer('@robert'), 'a private buffer follows the nick change');
  state.apply(event({ type: 'nick', room: 'test', old: 'alice', nick: 'alicia', ts: TS }));
  t.equal(state.nick, 'alicia');
  t.same(state.buffers.map((b) => b.key), ['*', 'test', '@robert']);
  state.switchToNumber(2);
  t.equal(state.active.key, 'test');
  state.cycle(1);
  t.equal(state.active.key, '@robert');
  state.cycle(1);
  t.equal(state.active.key, '*', 'wraps around');
  state.cycle(-1);
  state.close('@robert');
  t.equal(state.active.key, 'test');
  state.close('*');
  t.equal(state.buffers.length, 2, 'the server buffer cannot be closed');
  state.apply(event({ type: 'error', code: 'bad_request', message: 'oops; for example {"type":"msg"}' }));
  t.equal(state.active.entries.at(-1)!.text, 'Oops.');
});

t.test('state: shared files are shown in the room, numbered like messages, and privately in a buffer', async (t) => {
  const state = new ClientState();
  joined(state);
  const file = { type: 'file', room: 'test', from: 'bob', file: 'f1', name: 'notes\x1b[2J.txt', size: 1536, sha256: 'x', ts: TS, seq: 5 } as const;
  state.apply(event(file));
  state.apply(event({ ...file, history: true }));
  const room = state.room('test')!;
  t.same(room.entries.filter((e) => e.kind === 'file').map((e) => [e.text, e.seq]), [['shared notes.txt (1.5 KiB), file f1', 5]], 'one number: its seq, shown as every message\'s #N');
  t.equal(room.files[0]!.number, 5, '/get 5 takes it');
  t.equal(room.lastSeen!.seq, 5, 'a rejoin asks for what came after the file');
  t.equal(plainLine(room.entries.at(-1)!, room, false).replace(/^\[[^\]]+\] /, ''), '* bob shared notes.txt (1.5 KiB), file f1 #5', 'line mode: the same one number');
  t.equal(entryRows(room.entries.at(-1)!, 100, makeChalk(false)).join('\n').match(/#\d+/g)?.join(' '), '#5', 'the screen shows one number');
  t.same(state.apply(event({ type: 'file', to: 'alice', from: 'bob', file: 'f2', name: 'p.pdf', size: 10, sha256: 'y', ts: TS })), { bell: true });
  t.match(state.buffer('@bob')!.entries.at(-1), { kind: 'file', text: 'shared #1 p.pdf (10 B), file f2' }, 'numbers count per buffer');
});

t.test('state: a room\'s files are numbered by their seq, a private buffer\'s in the order first seen; /get finds them by number or id', async (t) => {
  const state = new ClientState();
  joined(state);
  joined(state, 'other');
  const file = (seq: number, id: string, room = 'test') =>
    event({ type: 'file', room, from: 'bob', file: id, name: `${id}.bin`, size: seq, sha256: 'x', ts: TS, seq });
  state.apply(file(3, 'aaaa1111'));
  state.apply(file(4, 'bbbb2222'));
  state.apply(file(1, 'cccc3333', 'other'));
  const room = state.room('test')!;
  t.same(room.files.map((f) => [f.number, f.file]), [[3, 'aaaa1111'], [4, 'bbbb2222']]);
  t.same(state.room('other')!.files.map((f) => [f.number, f.file]), [[1, 'cccc3333']], 'each room by its own seqs');
  // Older history loaded above the log: its files by their seqs too.
  state.prependHistory(room, [
    { type: 'file', room: 'test', from: 'carol', file: 'dddd4444', name: 'old.txt', size: 1, sha256: 'y', ts: TS, seq: 1 },
    { type: 'msg', room: 'test', from: 'carol', text: 'hi', ts: TS, seq: 2 },
  ], false);
  t.same(room.files.map((f) => f.number), [3, 4, 1]);
  t.match(room.entries[0], { kind: 'file', text: 'shared old.txt (1 B), file dddd4444', seq: 1 });
  t.equal(state.noteFile(room, { file: 'aaaa1111', name: 'x', size: 1, sha256: 'x', from: 'bob', ts: TS }).number, 3, 'seen again: same number');
  t.equal(state.findFile(room, { number: 4 })?.file, 'bbbb2222');
  t.equal(state.findFile(room, { number: 9 }), undefined);
  t.equal(state.findFile(room, { id: 'bbbb2222' })?.number, 4);
  t.equal(state.findFile(room, { id: 'dddd' })?.number, 1, 'a unique start of an id');
  // A private buffer's files have no seq: it counts them, and the line says the number.
  for (const id of ['eeee5555', 'ffff6666']) state.apply(event({ type: 'file', to: 'alice', from: 'bob', file: id, name: `${id}.bin`, size: 1, sha256: 'z', ts: TS }));
  t.same(state.buffer('@bob')!.files.map((f) => [f.number, f.file]), [[1, 'eeee5555'], [2, 'ffff6666']]);
  t.equal(state.findFile(room, { id: 'zzzz' }), undefined);
});

t.test('parseInput: /send, /files and /get', async (t) => {
  t.same(parseInput('/send report.pdf'), { kind: 'command', command: { name: 'send', path: 'report.pdf' } });
  t.same(parseInput('/send ~/My Documents/a b.txt '), { kind: 'command', command: { name: 'send', path: '~/My Documents/a b.txt' } }, 'spaces in a path');
  t.same(parseInput('/send "quoted name.txt"'), { kind: 'command', command: { name: 'send', path: 'quoted name.txt' } });
  t.match(parseInput('/send'), { kind: 'error', message: /Usage: \/send PATH/ });
  t.same(parseInput('/upload x'), { kind: 'command', command: { name: 'send', path: 'x' } });
  t.same(parseInput('/files'), { kind: 'command', command: { name: 'files' } });
  t.same(parseInput('/get 2'), { kind: 'command', command: { name: 'get', file: { number: 2 } } });
  t.same(parseInput('/get #2 /tmp/my dir'), { kind: 'command', command: { name: 'get', file: { number: 2 }, dir: '/tmp/my dir' } });
  t.same(parseInput('/get 3fa9c0de ~/Downloads'), { kind: 'command', command: { name: 'get', file: { id: '3fa9c0de' }, dir: '~/Downloads' } });
  t.match(parseInput('/get'), { kind: 'error', message: /Usage: \/get N\|ID \[DIR\]/ });
  const help = helpLines().join('\n');
  t.match(help, '/send PATH');
  t.match(help, '/files');
  t.match(help, '/get N|ID [DIR]');
});

t.test('transfers: progress, speed over the last seconds, ETA; the progress line', async (t) => {
  let now = 1_000_000;
  const transfers = new Transfers(() => now);
  let changes = 0;
  transfers.onChange(() => changes++);
  const up = transfers.start('up', 'report.pdf', 'test', 10 * 1024 * 1024);
  t.equal(changes, 1, 'a start is a change');
  t.same(transfers.figures(up), { percent: 0, speed: 0, eta: null }, 'no speed before any progress');
  transfers.hashing(up, 5 * 1024 * 1024, 10 * 1024 * 1024);
  t.equal(progressLine(up, transfers.figures(up), 80), '\u21e1 report.pdf: computing its sha256 before sending, 50% of 10 MiB');
  now += 1000; // hashing the file before the first byte goes out does not count as slow sending
  transfers.progress(up, 256 * 1024, 10 * 1024 * 1024);
  t.same(transfers.figures(up), { percent: 2, speed: 0, eta: null }, 'the first figure is the baseline');
  now += 1000;
  transfers.progress(up, 256 * 1024 + 2 * 1024 * 1024, 10 * 1024 * 1024);
  now += 1000;
  transfers.progress(up, 4 * 1024 * 1024, 10 * 1024 * 1024);
  t.same(transfers.figures(up), { percent: 40, speed: (4 * 1024 - 256) * 1024 / 2, eta: 4 });
  t.equal(changes, 1, 'progress alone is no change event (the TUI redraws on a timer)');
  // It slows down: after the window has passed, only the recent pace counts.
  for (let i = 0; i < 4; i++) {
    now += 1000;
    transfers.progress(up, up.done + 512 * 1024, 10 * 1024 * 1024);
  }
  t.equal(transfers.figures(up).speed, 512 * 1024, 'the speed follows the last seconds');
  t.equal(transfers.figures(up).eta, 8);
  const line = progressLine(up, transfers.figures(up), 80);
  t.equal(line, '\u21e1 report.pdf [██████████████████░░░░░░░░░░░░]  60% 6/10 MiB 512 KiB/s ETA 0:08');
  t.ok(stringWidth(line) <= 80);
  const narrow = progressLine(up, transfers.figures(up), 40);
  t.ok(stringWidth(narrow) <= 40, 'fits a narrow terminal');
  t.match(narrow, /60%/);
  // A resumed download: its speed counts from where it resumed, not from zero.
  const down = transfers.start('down', 'a-very-long-file-name-that-goes-on-and-on.iso', 'test', 1000);
  now += 1000;
  transfers.progress(down, 500, 1000);
  now += 1000;
  transfers.progress(down, 600, 1000);
  t.equal(transfers.figures(down).speed, 100);
  t.match(progressLine(down, transfers.figures(down), 60), /^\u21e3 a-very-long-file-na…/);
  t.equal(transfers.list.length, 2);
  transfers.finish(up);
  t.same(transfers.list.map((x) => x.name), [down.name]);
  t.equal(changes, 3);
  t.equal(formatDuration(3725), '1:02:05');
  t.equal(inUnitOf(300 * 1024, 10 * 1024 * 1024), '0', 'done in the unit of the total');
  t.equal(inUnitOf(300 * 1024, 5 * 1024 * 1024), '0.3', 'with its precision');
  t.equal(inUnitOf(450, 1000), '450');
  t.equal(inUnitOf(3 * 1024 ** 3, 4 * 1024 ** 3), '3.0');
  t.equal(formatDuration(65), '1:05');
});

t.test('paths: ~ expanded, the default download directory, errors in words, Tab completion after /send', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-paths-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(expandHome('~/x/y', '/home/a'), '/home/a/x/y');
  t.equal(expandHome('~', '/home/a'), '/home/a');
  t.equal(expandHome('a~/b', '/home/a'), 'a~/b');
  t.equal(defaultDownloadDir(dir, '/cwd'), '/cwd', 'no ~/Downloads: the current directory');
  mkdirSync(join(dir, 'Downloads'));
  t.equal(defaultDownloadDir(dir, '/cwd'), join(dir, 'Downloads'));
  t.equal(fsProblem(Object.assign(new Error('x'), { code: 'ENOENT' })), 'no such file or directory');
  t.equal(fsProblem(Object.assign(new Error('x'), { code: 'EACCES' })), 'permission denied');
  writeFileSync(join(dir, 'report one.pdf'), 'x');
  writeFileSync(join(dir, 'report-two.pdf'), 'x');
  writeFileSync(join(dir, '.hidden'), 'x');
  t.same(completePath('rep', dir), ['report one.pdf', 'report-two.pdf']);
  t.same(completePath('', dir), ['Downloads/', 'report one.pdf', 'report-two.pdf'], 'hidden files only when asked for');
  t.same(completePath('.h', dir), ['.hidden']);
  t.same(completePath('~/Dow', '/', dir), ['~/Downloads/']);
  t.same(completePath('nope/x', dir), []);
  const line = new InputLine();
  line.insert('/send rep');
  line.complete([], [], (typed) => completePath(typed, dir));
  t.equal(line.value, '/send report one.pdf');
  line.complete([], [], (typed) => completePath(typed, dir));
  t.equal(line.value, '/send report-two.pdf', 'Tab again: the next path');
  line.set('/send report o');
  line.complete([], [], (typed) => completePath(typed, dir));
  t.equal(line.value, '/send report one.pdf', 'a path with a space completes whole');
  line.set('/get 2 Dow');
  line.complete([], [], (typed) => completePath(typed, dir));
  t.equal(line.value, '/get 2 Downloads/', 'the directory after /get N');
  line.set('/get Dow');
  line.complete([], ['Dowager'], (typed) => completePath(typed, dir));
  t.equal(line.value, '/get Dowager ', 'not a path before the file number');
});

t.test('describeError puts server errors in words, without raw JSON', async (t) => {
  t.equal(describeError({ code: 'not_in_room', message: 'join "x" before sending to it: {"type":"join","room":"x"}' }), 'You are not in that room: /join it first.');
  t.equal(
    describeError({ code: 'nick_taken', message: 'the nick "bob" is taken; try another, such as "bob2"' }),
    'The nick "bob" is taken; try another, such as "bob2".',
  );
  t.equal(describeError({ code: 'bad_room', message: 'bad room "a b": a room name is letters; for example {"type":"join"}' }), 'Bad room "a b": a room name is letters.');
  t.equal(suggestedNick('the nick "bob" is taken; try another, such as "bob2"', 'bob'), 'bob2');
  t.equal(suggestedNick('taken', 'bob'), 'bob_');
});

function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({ entryId: i + 1, part: 0, text: `row ${i + 1}` }));
}

t.test('viewport: follows the bottom; scrolled back, new rows do not move the view', async (t) => {
  const all = rows(20);
  t.same(visibleRows(all, null, 5).rows.map((r) => r.text), ['row 16', 'row 17', 'row 18', 'row 19', 'row 20']);
  const anchor = scrollBy(all, null, 5, -10);
  t.same(anchor, { entryId: 6, part: 0 });
  const more = rows(25);
  const view = visibleRows(more, anchor, 5);
  t.equal(view.rows[0]!.text, 'row 6', 'five new rows later the same rows are shown');
  t.equal(view.atBottom, false);
  t.equal(scrollBy(more, anchor, 5, 100), null, 'scrolling past the end follows again');
  t.same(scrollBy(more, anchor, 5, -100), { entryId: 1, part: 0 });
  t.same(visibleRows(rows(2), null, 5).rows.length, 2);
});

t.test('older history is put above the log, and the view stays on the line being read', async (t) => {
  const state = new ClientState();
  joined(state);
  const room = state.room('test')!;
  for (let seq = 11; seq <= 20; seq++) state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: `m${seq}`, ts: TS, seq, history: true }));
  t.equal(room.oldestSeq, 11);
  const before = layoutRows(room.entries, 80, plain);
  state.scroll(room, before, 4, -100);
  state.scroll(room, before, 4, 2);
  const reading = visibleRows(before, room.scroll, 4).rows[0]!.text;
  const older = Array.from({ length: 10 }, (_, i) => ({ type: 'msg' as const, room: 'test', from: 'bob', text: `m${i + 1}`, ts: TS, seq: i + 1 }));
  t.equal(state.prependHistory(room, [...older, { ...older[0]!, seq: 15, text: 'dup' }], false), 10);
  t.same(room.entries.filter((e) => e.kind === 'msg').map((e) => e.text), Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
  t.equal(room.oldestSeq, 1);
  t.equal(room.moreHistory, false);
  t.equal(visibleRows(layoutRows(room.entries, 80, plain), room.scroll, 4).rows[0]!.text, reading, 'the view did not jump');
  state.resetSeen(room);
  t.equal(room.moreHistory, false, 'after a server restart older pages are not asked for');
});

t.test('state.scroll counts new messages while scrolled back', async (t) => {
  const state = new ClientState();
  joined(state);
  state.switchTo('test');
  const room = state.active;
  for (let seq = 1; seq <= 30; seq++) state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: `m${seq}`, ts: TS, seq }));
  const layout = () => layoutRows(room.entries, 80, plain);
  state.scroll(room, layout(), 10, -9);
  t.not(room.scroll, null);
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'new one', ts: TS, seq: 31 }));
  t.equal(room.newWhileScrolled, 1);
  state.scroll(room, layout(), 10, 100);
  t.equal(room.scroll, null);
  t.equal(room.newWhileScrolled, 0);
});

t.test('format: plain lines for pipes, and wrapped rows with the nick coloured', async (t) => {
  const state = new ClientState(() => Date.parse(TS));
  joined(state);
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'hello\nworld', ts: TS, seq: 1 }));
  state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'waves', ts: TS, seq: 2, me: true }));
  const room = state.room('test')!;
  const time = new Date(TS);
  const hh = String(time.getHours()).padStart(2, '0');
  const [msg, action] = room.entries.slice(-2);
  t.equal(plainLine(msg!, room, false), `[${hh}:04:05] <bob> hello \u21b5 world`);
  t.equal(plainLine(action!, room, true), `[${hh}:04:05] [test] * bob waves`);
  t.equal(plainLine(room.entries[0]!, room, false), `[${hh}:04:05] --> You joined test`);
  t.notMatch(plainLine(msg!, room, false, makeChalk(false)), SGR, 'no colour codes when colour is off');
  t.match(plainLine(msg!, room, false, makeChalk(true)), SGR);
  t.equal(nickColour('bob'), nickColour('BOB'), 'a stable colour per nick');
  const wrapped = entryRows({ id: 1, ts: Date.parse(TS), kind: 'msg', from: 'bob', text: '你好，世界你好，世界你好，世界' }, 24, plain);
  // No row starts with closing punctuation: `，` goes down with the character before it.
  t.same(wrapped, [`${hh}:04 <bob> 你好，世界你`, '            好，世界你', '            好，世界']);
  const coloured = entryRows({ id: 2, ts: 0, kind: 'msg', from: 'bob', text: 'hi' }, 40, makeChalk(true));
  t.match(coloured[0], `\x1b[38;5;${nickColour('bob')}mbob`);
});

t.test('layoutRows marks where the day changes, and history that is not from today', async (t) => {
  const day1 = new Date(2026, 0, 1, 23, 59).getTime();
  const day2 = new Date(2026, 0, 2, 0, 1).getTime();
  const entries = [
    { id: 1, ts: day1, kind: 'msg' as const, from: 'bob', text: 'late' },
    { id: 2, ts: day2, kind: 'msg' as const, from: 'bob', text: 'early' },
    { id: 3, ts: day2, kind: 'msg' as const, from: 'bob', text: 'again' },
  ];
  t.same(layoutRows(entries, 40, plain, undefined, day2).map((r) => r.text), ['-- 2026-01-01 --', '23:59 <bob> late', '-- 2026-01-02 --', '00:01 <bob> early', '00:01 <bob> again']);
  t.same(layoutRows(entries.slice(1), 40, plain, undefined, day2).map((r) => r.text)[0], '00:01 <bob> early', "no line above today's");
});

t.test('status line: server, nick, room, state, countdown, unread and mention marks', async (t) => {
  const state = new ClientState();
  joined(state, 'test');
  joined(state, 'other');
  state.switchTo('test');
  state.apply(event({ type: 'msg', room: 'other', from: 'bob', text: 'alice!', ts: TS, seq: 1 }));
  const client = { server: { host: 'localhost', port: 8000 }, status: { phase: 'reconnecting', retryAt: 5000 }, state };
  t.equal(statusLine(client, 2100, plain, 200), ' localhost:8000 | alice | test | reconnecting in 3s | 1:server [2:test] 3:other(1!)');
});

t.test('status line: fitted in display columns; quiet buffers are folded into +N, never the active one or activity', async (t) => {
  const state = new ClientState();
  for (let i = 1; i <= 12; i++) joined(state, `room${i}`);
  state.apply(event({ type: 'msg', to: 'alice', from: 'bob', text: 'psst', ts: TS }));
  state.switchTo('room10');
  state.apply(event({ type: 'msg', room: 'room3', from: 'bob', text: 'alice, look', ts: TS, seq: 1 }));
  state.apply(event({ type: 'msg', room: 'room7', from: 'bob', text: 'busy', ts: TS, seq: 1 }));
  const client = { server: { host: '127.0.0.1', port: 47311 }, status: { phase: 'connected' }, state };
  const colour = makeChalk(true);
  const all = statusLine(client, 0, plain, 400);
  t.equal(all, ' 127.0.0.1:47311 | alice | room10 | connected | 1:server 2:room1 3:room2 4:room3(1!) 5:room4 6:room5 7:room6 8:room7(1) 9:room8 10:room9 [11:room10] 12:room11 13:room12 14:@bob(1!)');
  t.equal(stringWidth(statusLine(client, 0, colour, 400)), stringWidth(all), 'colour codes take no columns');
  for (const width of [120, 100, 80, 60]) {
    const line = statusLine(client, 0, colour, width);
    t.ok(stringWidth(line) <= width, `fits in ${width} columns`);
    for (const kept of ['[11:room10]', '4:room3(1!)', '8:room7(1)', '14:@bob(1!)']) t.ok(line.includes(kept), `${kept} is kept at ${width} columns`);
    const folded = /\+(\d+)$/.exec(line);
    const shown = statusLine(client, 0, plain, width).split(' ').filter((word) => /^\[?\d+:/.test(word)).length;
    t.ok(folded, `the quiet ones are folded at ${width} columns`);
    t.equal(shown + Number(folded![1]), 14, 'every buffer is either shown or counted');
  }
  t.match(statusLine(client, 0, plain, 120), /^ 127\.0\.0\.1:47311 \| alice /, 'the server is shown when there is room');
  t.match(statusLine(client, 0, plain, 80), /^ alice \| room10 \| connected \| /, 'and left out before a buffer with activity would be');
  t.ok(stringWidth(statusLine(client, 0, colour, 20)) <= 20, 'even a tiny terminal');
});

t.test('/buffer N and Alt+A: buffers past 9, and the next one with activity', async (t) => {
  const client = new ChatClient({ host: 'localhost', port: 8000, nick: 'alice', rooms: ['test'], onNickTaken: 'suggest' });
  for (let i = 1; i <= 11; i++) joined(client.state, `room${i}`);
  await client.submit('/buffer 11');
  t.equal(client.state.active.key, 'room10');
  await client.submit('/b 12');
  t.equal(client.state.active.key, 'room11');
  await client.submit('/b 13');
  t.equal(client.state.active.key, 'room11');
  t.match(client.state.active.entries.at(-1)!.text, /There is no buffer 13: they are numbered 1 to 12/);
  await client.submit('/b x');
  t.match(client.state.active.entries.at(-1)!.text, /Usage: \/buffer N/);
  client.state.switchToNumber(1);
  client.state.apply(event({ type: 'msg', room: 'room2', from: 'bob', text: 'quiet', ts: TS, seq: 1 }));
  client.state.apply(event({ type: 'msg', room: 'room9', from: 'bob', text: 'alice!', ts: TS, seq: 1 }));
  t.ok(client.state.switchToActivity());
  t.equal(client.state.active.key, 'room9', 'a mention first');
  t.ok(client.state.switchToActivity());
  t.equal(client.state.active.key, 'room2', 'then unread lines');
  t.notOk(client.state.switchToActivity(), 'then nothing');
  t.equal(client.state.active.key, 'room2');
});

t.test('options: flags over environment over config file over defaults', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-client-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(configPath({ XDG_CONFIG_HOME: dir }), join(dir, 'chat', 'config.json'));
  t.equal(configPath({ CHAT_CONFIG: '/x.json', XDG_CONFIG_HOME: dir }), '/x.json');
  t.equal(configPath({ HOME: '/home/u' }), '/home/u/.config/chat/config.json');
  t.same(readConfigFile(join(dir, 'none.json')), {});
  const file = join(dir, 'config.json');
  writeFileSync(file, '{"host":"chat.example","port":9000,"nick":"filenick"}');
  const config = readConfigFile(file);
  t.match(resolveOptions({}, {}, config), { host: 'chat.example', port: 9000, nick: 'filenick', nickChosen: true });
  t.match(resolveOptions({}, { CHAT_HOST: 'envhost', CHAT_PORT: '7000', CHAT_NICK: 'envnick' }, config), {
    host: 'envhost', port: 7000, nick: 'envnick', nickChosen: true,
  });
  t.match(resolveOptions({ host: 'h', port: '1234', nick: 'n' }, { CHAT_HOST: 'envhost', CHAT_NICK: 'e' }, config), { host: 'h', port: 1234, nick: 'n', nickChosen: true });
  t.match(resolveOptions({}, {}, {}), { host: 'localhost', port: 8000, nick: loginNick(), nickChosen: false });
  writeFileSync(file, '{nope');
  t.throws(() => readConfigFile(file), { code: 'bad_config' });
  t.throws(() => resolveOptions({ port: 'eighty' }, {}, {}), { code: 'bad_config', message: /--port/ });
  t.equal(loginNick('jane doe'), 'jane_doe');
  t.equal(loginNick(''), 'guest');
  t.equal(loginNick('guest-3'), 'guest', 'a login name the server would refuse as a nick (guest-N is its own)');
  t.equal(new ClientError('connect_failed', 'x').exitCode, 3);
  t.equal(new ClientError('nick_taken', 'x').exitCode, 4);
  t.equal(new ClientError('bad_room', 'x').exitCode, 2);
});

t.test('backoff: quick first retry, doubling, capped, with jitter that only shortens', async (t) => {
  const backoff = new Backoff({ initialMs: 250, maxMs: 2000, jitter: 0.5 }, () => 0);
  t.same([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()], [250, 500, 1000, 2000, 2000]);
  backoff.reset();
  t.equal(backoff.next(), 250);
  t.equal(new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 1).next(), 500);
});

t.test('paste: bracketed pastes and multi-line chunks are taken out of the key stream whole', async (t) => {
  const pastes: string[] = [];
  const filter = new PasteFilter((text) => pastes.push(text));
  const keys: string[] = [];
  filter.on('data', (chunk: Buffer) => keys.push(chunk.toString()));
  filter.write('ab\x1b[200~line 1\rline');
  filter.write(' 2\r\x1b[201~c');
  filter.write('x\ry\rz\r');
  filter.write('typed\r');
  filter.write('\x1b[A');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(pastes, ['line 1\rline 2\r', 'x\ry\rz\r']);
  t.same(keys, ['ab', 'c', 'typed\r', '\x1b[A']);
  t.equal(normalizePaste('a\r\nb\rc\n\n'), 'a\nb\nc');
});

// A fake terminal for blessed: an output stream that says it is a TTY of a given size.
function fakeTerminal(columns: number, rows: number) {
  const output = Object.assign(
    new Writable({ write: (_chunk, _encoding, done) => done() }),
    { isTTY: true, columns, rows },
  );
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
  return { input, output };
}

function screenText(screen: { lines: [number, string][][] }): string[] {
  return screen.lines.map((line) => line.map((cell) => cell[1]).join('').replace(/\x03/g, '').trimEnd());
}

t.test('TUI (headless blessed): draws the log, members, status and input; CJK and emoji columns line up', async (t) => {
  const client = new ChatClient({ host: 'localhost', port: 8000, nick: 'alice', rooms: ['test'], onNickTaken: 'suggest' });
  joined(client.state);
  client.state.switchTo('test');
  const { input, output } = fakeTerminal(80, 12);
  const tui = createTui(client, { colour: true, input, output });
  t.teardown(() => tui.destroy());
  client.state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: '你好，世界 😀👍|', ts: TS, seq: 1 }));
  client.state.apply(event({ type: 'msg', room: 'test', from: 'bob\x1b[31m', text: '{red-bg}x{/red-bg} \x1b]0;t\x07\x1b[2J', ts: TS, seq: 2 }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  input.write('a');
  input.write('😀');
  input.write('b');
  await new Promise((resolve) => setTimeout(resolve, 20));
  tui.render();
  const lines = screenText(tui.screen as never);
  const cjk = lines.find((l) => l.includes('你好'))!;
  t.match(cjk, /<bob> 你好，世界 😀👍\|/);
  // Each wide character takes two cells (the second empty), so the column after them is where a terminal draws it.
  const row = (tui.screen as never as { lines: [number, string][][] }).lines[lines.indexOf(cjk)]!;
  const start = row.findIndex((cell) => cell[1] === '你');
  const bar = row.findIndex((cell, i) => i > start && cell[1] === '|');
  t.equal(bar - start, stringWidth('你好，世界 😀👍'), 'the | after CJK and emoji is at the column a terminal puts it');
  t.ok(lines.some((l) => l.includes('<bob> {red-bg}x{/red-bg}')), 'markup and escapes from others shown as text or removed');
  t.ok(lines.some((l) => l.includes('│ bob')), 'the member list is beside the log');
  t.match(lines[10], /localhost:8000 \| alice \| test \| connecting/);
  t.equal(lines[11], '[test] a😀b');
  t.equal(tui.input.value, 'a😀b');
});

t.test('TUI start: a start that ends just after the terminal answered is drawn once, the room with its banner; a slow one is not waited for', async (t) => {
  const terminal = () => {
    const out = { written: '' };
    const output = Object.assign(
      new Writable({ write: (chunk, _encoding, done) => ((out.written += chunk.toString()), done()) }),
      { isTTY: true, columns: 80, rows: 12 },
    );
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
    return { out, input, output };
  };
  const roomReply = (client: ChatClient) => {
    joined(client.state);
    client.state.apply(event({ type: 'notice', room: 'test', text: 'Welcome to test! Nobody else is here yet.' }));
    client.state.switchTo('test');
  };

  // The join's reply arrives in the turn after the terminal's answer (as the client's start and the probe race).
  const quick = new ChatClient({ host: 'localhost', port: 8000, nick: 'alice', rooms: ['test'], onNickTaken: 'suggest' });
  const first = terminal();
  const started = new Promise<void>((resolve) => setImmediate(() => (roomReply(quick), resolve())));
  const running = runTui(quick, { colour: false, input: first.input, output: first.output }, Promise.resolve(null), started);
  t.teardown(() => quick.quit());
  // blessed writes a space as a cursor move: the banner's words are looked for.
  await until(() => first.out.written.includes('Welcome'), 'the room on screen');
  const before = first.out.written.slice(0, first.out.written.indexOf('Welcome'));
  t.notMatch(before, /localhost:8000/, 'no frame (its status line) was drawn before the room');
  await quick.quit();
  t.equal(await running, ExitCode.ok);

  // A server that takes its time: the screen (connecting) is up meanwhile.
  const slow = new ChatClient({ host: 'localhost', port: 8000, nick: 'alice', rooms: ['test'], onNickTaken: 'suggest' });
  const second = terminal();
  let finish = () => {};
  const later = new Promise<void>((resolve) => (finish = resolve));
  const waiting = runTui(slow, { colour: false, input: second.input, output: second.output }, Promise.resolve(null), later);
  t.teardown(() => slow.quit());
  await until(() => /localhost:8000.*connecting/.test(second.out.written), 'the screen before the start ends');
  roomReply(slow);
  // As the client's start() ends: its listeners are told.
  (slow as unknown as { changed(): void }).changed();
  finish();
  t.notMatch(second.out.written, 'Welcome');
  await until(() => second.out.written.includes('Welcome'), 'the room once it is joined');
  await slow.quit();
  t.equal(await waiting, ExitCode.ok);
});

t.test('TUI (headless): the terminal is sent the clusters, never a stand-in (not even one typed by someone else)', async (t) => {
  const client = new ChatClient({ host: 'localhost', port: 8000, nick: 'alice', rooms: ['test'], onNickTaken: 'suggest' });
  joined(client.state);
  client.state.switchTo('test');
  let written = '';
  const output = Object.assign(
    new Writable({ write: (chunk, _encoding, done) => ((written += chunk.toString()), done()) }),
    { isTTY: true, columns: 80, rows: 12 },
  );
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
  const tui = createTui(client, { colour: false, input, output });
  t.teardown(() => tui.destroy());
  client.state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'x\u{f0000}y 🇨🇳 👨‍👩‍👧 z', ts: TS, seq: 1 }));
  tui.render();
  // Written by render() itself: blessed would write it in the next turn of the loop, behind what was queued there.
  t.match(written, 'x\ufffdy 🇨🇳 👨‍👩‍👧 z', 'the clusters as they were sent; a stand-in from outside is a replacement character');
  t.notMatch(written, /[\u{f0000}-\u{ffffd}]/u, 'no stand-in reaches the terminal');
});

t.test('TUI (headless): narrow terminal hides members; keys switch buffers; PageUp shows "N new"', async (t) => {
  const client = new ChatClient({ host: 'localhost', port: 8000, nick: 'alice', rooms: ['test'], onNickTaken: 'suggest' });
  joined(client.state);
  joined(client.state, 'other');
  client.state.switchTo('test');
  for (let seq = 1; seq <= 40; seq++) client.state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: `line ${seq}`, ts: TS, seq }));
  const { input, output } = fakeTerminal(50, 10);
  const tui = createTui(client, { colour: false, input, output });
  t.teardown(() => tui.destroy());
  await new Promise((resolve) => setTimeout(resolve, 20));
  let lines = screenText(tui.screen as never);
  t.notOk(lines.some((l) => l.includes('│')), 'no member list at 50 columns');
  t.match(lines[7], /line 40 #40$/);
  input.write('\x1b[5~'); // PageUp
  await new Promise((resolve) => setTimeout(resolve, 20));
  client.state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: 'line 41', ts: TS, seq: 41 }));
  tui.render();
  lines = screenText(tui.screen as never);
  t.notOk(lines.some((l) => l.includes('line 41')), 'the new line does not yank the view down');
  t.match(lines[7], /-- 1 new/);
  input.write('\x1b[6~\x1b[6~'); // PageDown
  await new Promise((resolve) => setTimeout(resolve, 20));
  lines = screenText(tui.screen as never);
  t.match(lines[7], /line 41 #41$/);
  input.write('\x1b[<64;5;5M'); // mouse wheel up (SGR mouse report)
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.not(client.state.active.scroll, null, 'the wheel scrolls the log back');
  input.write('\x1b[<65;5;5M\x1b[<65;5;5M\x1b[<65;5;5M');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(client.state.active.scroll, null, 'and down again to the newest');
  input.write('\x1b3'); // Alt+3
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(client.state.active.key, 'other');
  input.write('\x0e'); // Ctrl+N
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(client.state.active.key, '*');
  t.match(screenText(tui.screen as never)[9], /^\[server\]/);
});

t.test('TUI (headless): running transfers get a progress line under the log, gone when they end', async (t) => {
  const client = new ChatClient({ host: 'localhost', port: 8000, nick: 'alice', rooms: ['test'], onNickTaken: 'suggest' });
  joined(client.state);
  client.state.switchTo('test');
  for (let seq = 1; seq <= 20; seq++) client.state.apply(event({ type: 'msg', room: 'test', from: 'bob', text: `line ${seq}`, ts: TS, seq }));
  const { input, output } = fakeTerminal(60, 10);
  const tui = createTui(client, { colour: false, input, output });
  t.teardown(() => tui.destroy());
  const transfer = client.transfers.start('down', 'big.iso', 'test', 1000);
  client.transfers.progress(transfer, 100, 1000);
  client.transfers.progress(transfer, 450, 1000);
  tui.render();
  let lines = screenText(tui.screen as never);
  t.match(lines[7], /^\u21e3 big\.iso \[[█░]+\]\s+45% 450\/1000 B /, 'the progress line is above the status line');
  t.match(lines[6], /line 20 #20$/, 'the log ends above it');
  t.match(lines[8], /localhost:8000/);
  client.transfers.finish(transfer);
  tui.render();
  lines = screenText(tui.screen as never);
  t.match(lines[7], /line 20 #20$/, 'gone when done; the log takes the line back');
  const many = ['a', 'b', 'c', 'd'].map((name) => client.transfers.start('up', `${name}.txt`, 'test', 10));
  tui.render();
  lines = screenText(tui.screen as never);
  t.match(lines[4], /line 20 #20$/);
  t.match(lines[5], /^\u21e1 a\.txt/);
  t.match(lines[6], /^\u21e1 b\.txt/);
  t.equal(lines[7], '... 2 more transfers running', 'at most three lines');
  for (const transfer of many) client.transfers.finish(transfer);
});

t.test('blessed-screen: the screen draws the same bytes as blessed.screen, capabilities compiled when first used; tmux by its variables', async (t) => {
  t.equal(tmuxVersion({ TERM_PROGRAM: 'tmux', TERM_PROGRAM_VERSION: '3.3a' }), 3.3);
  t.equal(tmuxVersion({ TERM_PROGRAM: 'tmux', TERM_PROGRAM_VERSION: 'next-3.4' }), 2, 'not a number: as blessed when tmux -V fails');
  t.equal(tmuxVersion({}), 2);
  const draw = (open: (options: blessed.Widgets.IScreenOptions) => blessed.Widgets.Screen, makeBox: (options: blessed.Widgets.BoxOptions) => unknown) => {
    let written = '';
    const output = Object.assign(new Writable({ write(chunk, _encoding, done) { written += chunk.toString(); done(); } }), { isTTY: true, columns: 40, rows: 6 });
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode() {} });
    const screen = open({ input: input as never, output: output as never, terminal: 'xterm-256color', fullUnicode: true, smartCSR: true, title: 'chat' });
    makeBox({ parent: screen, top: 1, left: 2, width: 20, height: 2, content: 'hello 你好\nbye', style: { bg: 'blue', fg: 'white' } });
    screen.render();
    screen.program.cup(4, 5);
    screen.program.flush();
    screen.destroy();
    return written;
  };
  const theirs = draw((o) => blessed.screen(o), (o) => blessed.box(o as never));
  const ours = draw(openScreen, box);
  // A frame is drawn between a save and a restore of the cursor; the title goes out too (after the screen is set up).
  const frame = (written: string) => written.slice(written.indexOf('\x1b7'), written.indexOf('\x1b8') + 2);
  t.match(frame(ours), 'hello', 'it drew');
  t.equal(frame(ours), frame(theirs), 'the same frame');
  t.ok(ours.includes('\x1b]0;chat\x07') && theirs.includes('\x1b]0;chat\x07'), 'the title');
});
