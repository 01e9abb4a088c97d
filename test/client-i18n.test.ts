// The client in Chinese: the catalogue (text/i18n) is complete, the language is chosen from --lang and the locale,
// server events are rendered by the client in the chosen language, and the full screen lays Chinese out in tmux.

import t from 'tap';
import { en } from '../src/client/text/i18n/en.js';
import { zhCN } from '../src/client/text/i18n/zh-CN.js';
import { chooseLanguage, languageOf, parseLanguage, setLanguage, t as tr } from '../src/client/text/i18n/index.js';
import { ClientState } from '../src/client/core/state.js';
import { parseInput, helpLines } from '../src/client/core/parse-input.js';
import { describeError } from '../src/client/text/wording.js';
import { statusLine } from '../src/client/view/status-line.js';
import { makeChalk } from '../src/client/view/format.js';
import { main } from '../src/client/cli/cli.js';
import { stringWidth, wrapText } from '../src/client/text/width.js';
import { fakeIo, serve } from './helpers/client-harness.js';
import { columnOf, Tmux } from './helpers/client-tmux.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { COMMANDS } from '../src/client/core/parse-input.js';
import { memberLabel } from '../src/client/core/moderation-state.js';
import { moderationWords, spellDuration } from '../src/client/text/moderation-wording.js';
import { layoutRows } from '../src/client/view/format.js';
import { unreadRooms } from '../src/client/cli/unread-command.js';
import { stringLiterals } from './helpers/string-literals.js';
import { chosenNickProblem, nickProblem, passwordProblem, roomProblem } from '../src/protocol/index.js';
import { problemWords } from '../src/client/text/problem-wording.js';
import { checkedNick } from '../src/client/core/names.js';
import { Transfers } from '../src/client/core/transfers.js';
import { progressLine } from '../src/client/view/progress-line.js';
import { recordingLine } from '../src/client/view/voice-line.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
const HAN = /\p{Script=Han}/u;
/** Keys whose Chinese is rightly the same as the English: marks and formats only. */
const SAME_IN_BOTH = new Set([
  'event.dayChanged', 'tui.scrolled', 'event.reason', 'event.roomBanner', 'files.failed', 'cli.error',
  'mod.reason', 'mod.modeDetails', 'mod.listSeparator', 'mod.awayMessage', 'moderation.reason',
]);

t.test('zh-CN has every key of en, no others, each translated, with no placeholder en does not fill', async (t) => {
  t.same(Object.keys(zhCN).sort(), Object.keys(en).sort());
  for (const [key, english] of Object.entries(en)) {
    const chinese = zhCN[key as keyof typeof en];
    t.ok(chinese.trim().length > 0, `${key} is not empty`);
    for (const name of placeholders(chinese)) t.ok(placeholders(english).includes(name), `${key}: {${name}} is one that en fills`);
    if (!SAME_IN_BOTH.has(key)) t.match(chinese, HAN, `${key} is in Chinese`);
  }
});

t.test('the language: --lang, then the config file, then LC_ALL, LC_MESSAGES, LANG; any Chinese locale is zh-CN', async (t) => {
  t.equal(chooseLanguage(undefined, { LANG: 'zh_CN.UTF-8' }), 'zh-CN');
  t.equal(chooseLanguage(undefined, { LANG: 'zh_TW.UTF-8' }), 'zh-CN', 'zh_TW is zh-CN for now');
  t.equal(chooseLanguage(undefined, { LANG: 'en_US.UTF-8' }), 'en');
  t.equal(chooseLanguage(undefined, {}), 'en');
  t.equal(chooseLanguage(undefined, { LANG: 'C.UTF-8' }), 'en');
  t.equal(chooseLanguage(undefined, { LC_ALL: 'C', LANG: 'zh_CN.UTF-8' }), 'en', 'LC_ALL before LANG');
  t.equal(chooseLanguage(undefined, { LC_MESSAGES: 'zh_CN.UTF-8', LANG: 'en_GB.UTF-8' }), 'zh-CN', 'LC_MESSAGES before LANG');
  t.equal(chooseLanguage(undefined, { LC_ALL: '', LC_MESSAGES: '', LANG: 'zh_CN.UTF-8' }), 'zh-CN', 'empty means unset');
  t.equal(chooseLanguage('en', { LANG: 'zh_CN.UTF-8' }), 'en', '--lang first');
  t.equal(chooseLanguage('zh-CN', { LC_ALL: 'en_US.UTF-8' }), 'zh-CN');
  t.equal(chooseLanguage(undefined, { LANG: 'zh_CN.UTF-8' }, 'en'), 'en', 'the config file before the locale');
  t.equal(chooseLanguage('zh', { LANG: 'C' }, 'en'), 'zh-CN', '--lang before the config file');
  t.equal(languageOf('zh'), 'zh-CN');
  t.equal(languageOf('zhx_YY'), 'en');
  t.equal(parseLanguage('fr'), null);
  t.equal(parseLanguage('zh_CN.UTF-8'), 'zh-CN');
});

t.test('t() fills placeholders; a key is the same call in every language', async (t) => {
  t.teardown(() => setLanguage('en'));
  setLanguage('en');
  t.equal(tr('event.joined', { nick: 'bob', room: 'test' }), 'bob joined test');
  setLanguage('zh-CN');
  t.equal(tr('event.joined', { nick: 'bob', room: 'test' }), 'bob 加入了 test');
  t.equal(tr('status.connected'), '已连接');
});

t.test('in Chinese, what the server sends is said by the client from its fields: welcome, joins, leaves, nicks, errors, the room banner', async (t) => {
  t.teardown(() => setLanguage('en'));
  setLanguage('zh-CN');
  const state = new ClientState();
  state.apply({ type: 'welcome', server: 'chat-server', nick: 'me', motd: 'Welcome!' } as never);
  t.equal(state.serverBuffer.entries[0]!.text, '已连接到 chat-server，昵称 me。');
  state.apply({ type: 'join', room: 'test', nick: 'me', ts: new Date().toISOString() } as never);
  state.apply({ type: 'join', room: 'test', nick: 'bob', ts: new Date().toISOString() } as never);
  state.apply({ type: 'notice', room: 'test', text: 'Welcome to test! 1 other is here. 5 earlier messages are not repeated here: page back with {"type":"history","room":"test","before":6}.' });
  state.apply({ type: 'nick', old: 'bob', nick: 'Bobby', room: 'test', ts: new Date().toISOString() } as never);
  state.apply({ type: 'leave', room: 'test', nick: 'Bobby', reason: 'quit', ts: new Date().toISOString() } as never);
  state.apply({ type: 'error', code: 'not_in_room', message: 'you are not in room "x"' } as never);
  state.apply({ type: 'error', code: 'no_such_user', message: 'nobody is called "zed"' } as never);
  state.apply({ type: 'error', code: 'a_new_code', message: 'something new' } as never);
  const room = state.room('test')!;
  t.same(
    room.entries.map((e) => e.text),
    [
      '你加入了 test',
      'bob 加入了 test',
      '欢迎来到 test！这里还有 1 个人。更早的 5 条消息没有显示：按 PageUp 查看。',
      'bob 改名为 Bobby',
      'Bobby 离开了 test（quit）',
    ],
  );
  t.same(state.serverBuffer.entries.slice(-3).map((e) => e.text), ['你不在那个房间：请先 /join 加入。', '没有使用这个昵称的在线用户。', '服务器回复：a_new_code。']);
  state.apply({ type: 'notice', room: 'test', text: 'Something the operator wrote' });
  t.equal(room.entries.at(-1)!.text, 'Something the operator wrote', 'other notices are shown as sent');
  state.apply({ type: 'bye', code: 'shutdown', reason: 'server shutting down' } as never);
  t.equal(state.serverBuffer.entries.at(-1)!.text, '服务器关闭了连接：服务器正在关闭');
  t.equal(parseInput('/nope').kind === 'error' && (parseInput('/nope') as { message: string }).message, '未知命令 /nope。输入 /help 查看命令列表。');
  t.match(helpLines().join('\n'), /\/notify \[all\|mentions\|off\] +这个窗口的通知/);
  t.equal(describeError({ code: 'rate_limited', message: 'slow down' }), '你发送得太快了，请慢一点。');
});

t.test('in English, the banner and errors keep the server\'s own detail', async (t) => {
  setLanguage('en');
  const state = new ClientState();
  state.nick = 'me';
  state.apply({ type: 'join', room: 'test', nick: 'me', ts: new Date().toISOString() } as never);
  state.apply({ type: 'notice', room: 'test', text: 'Welcome to test! Nobody else is here yet.' });
  t.equal(state.room('test')!.entries.at(-1)!.text, 'Welcome to test! Nobody else is here yet.');
  t.equal(describeError({ code: 'no_such_user', message: 'nobody is called "zed"' }), 'Nobody is called "zed".');
});

t.test('the status line in Chinese fits its columns: wide characters count two', async (t) => {
  t.teardown(() => setLanguage('en'));
  setLanguage('zh-CN');
  const state = new ClientState();
  state.nick = '小明';
  for (const name of ['测试', 'room2', 'room3', 'room4', 'room5', 'room6']) state.openRoom(name);
  state.switchTo('测试');
  const line = statusLine(
    { server: { host: '127.0.0.1', port: 8000 }, status: { phase: 'reconnecting', retryAt: 5000 }, queued: 2, state },
    1000,
    makeChalk(false),
    60,
  );
  t.ok(stringWidth(line) <= 60, line);
  t.match(line, '4 秒后重新连接，2 条排队');
  t.match(line, '[2:测试]');
});

t.test('chat --help and errors on the command line follow the language; a --lang chat does not speak is refused', async (t) => {
  let io = fakeIo({ LANG: 'zh_CN.UTF-8' });
  await main(['node', 'chat', '--help'], io);
  t.match(io.stdout.text, '在 chat-server 的房间里聊天');
  t.match(io.stdout.text, '退出码：0 成功');
  io = fakeIo({ LANG: 'zh_CN.UTF-8' });
  await main(['node', 'chat', 'join', 'test', '--help'], io);
  t.match(io.stdout.text, '不把窗口记录到');
  t.match(io.stdout.text, /^用法： chat join/, 'commander\'s titles too');
  t.match(io.stdout.text, '-h, --help         显示命令的帮助');
  for (const line of io.stdout.text.split('\n')) t.ok(stringWidth(line) <= 80, `help fits 80 columns: ${line}`);
  io = fakeIo({ LANG: 'zh_CN.UTF-8' });
  t.equal(await main(['node', 'chat', 'join', '--bogus'], io), 2);
  t.match(io.stderr.text, "错误：未知选项 '--bogus'");
  io = fakeIo({ LANG: 'zh_CN.UTF-8' });
  await main(['node', 'chat', 'send', '--lang', 'en', '--help'], io);
  t.match(io.stdout.text, 'send one message and exit');
  io = fakeIo({});
  t.equal(await main(['node', 'chat', 'join', 'bad room', '--lang=zh-CN', '--host', '127.0.0.1', '--port', '1'], io), 2);
  t.match(io.stderr.text, /^chat：房间名 "bad room" 无效/);
  io = fakeIo({});
  t.equal(await main(['node', 'chat', '--lang', 'fr', 'rooms'], io), 2);
  t.match(io.stderr.text, '--lang fr is not a language chat speaks');
  setLanguage('en');
});

t.test('Chinese wraps beside any Han character, never before closing punctuation; English at spaces', async (t) => {
  t.same(wrapText('以 NICK 登录（询问密码，不显示）', 16), ['以 NICK 登录（询', '问密码，不显示）']);
  t.same(wrapText('你好世界，再见', 8), ['你好世', '界，再见']);
  t.same(wrapText('the quick brown fox', 10), ['the quick', 'brown fox']);
});

const connectedZh = (lines: string[]) => lines.at(-2)!.includes('| 已连接 |');
const args = (port: number, nick: string, ...rooms: string[]) => ['join', ...rooms, '--host', '127.0.0.1', '--port', String(port), '--nick', nick];
const ZH = { LANG: 'zh_CN.UTF-8', LC_ALL: '', LC_MESSAGES: '' };

t.test('chat join with LANG=zh_CN.UTF-8: the full screen in Chinese, the join notice translated, the columns aligned', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const alice = await tmux.chat('alice', args(port, 'alice', 'test'), { columns: 100, rows: 24 }, ZH);
  let lines = await alice.waitFor(connectedZh);
  await alice.waitFor('欢迎来到 test！这里还没有其他人。');
  const bob = await tmux.chat('bob', args(port, '鲍勃', 'test'), { columns: 100, rows: 24 }, ZH);
  await bob.waitFor(connectedZh);
  await bob.waitFor('欢迎来到 test！这里还有 1 个人。');
  lines = await alice.waitFor('鲍勃 加入了 test');
  await alice.waitFor((l) => l.some((x) => x.includes('│ 2 人在线')));

  await bob.type('你好 alice，我是鲍勃');
  await bob.waitFor((l) => l.at(-1)!.endsWith('我是鲍勃'));
  await bob.keys('Enter');
  lines = await alice.waitFor('<鲍勃> 你好 alice，我是鲍勃');
  const border = columnOf(lines[0]!, '│');
  t.ok(border > 0, 'the member list is shown');
  for (const line of lines.slice(0, -2)) t.equal(columnOf(line, '│'), border, `the border is in its column: ${line}`);
  const status = lines.at(-2)!;
  t.match(status, /127\.0\.0\.1:\d+ \| alice \| test \| 已连接 \| 1:服务器 \[2:test\]/);
  t.ok(stringWidth(status.trimEnd()) <= 100);

  await alice.type('/who');
  await alice.keys('Enter');
  await alice.waitFor('test 里有（2）：alice, 鲍勃');
  await alice.type('/join bad room');
  await alice.keys('Enter');
  await alice.waitFor('房间名 "bad room" 无效');

  // --lang en wins over LANG.
  const carol = await tmux.chat('carol', [...args(port, 'carol', 'test'), '--lang', 'en'], { columns: 100, rows: 24 }, ZH);
  await carol.waitFor((l) => l.at(-2)!.includes('| connected |'));
  await carol.waitFor('Welcome to test! 2 others are here.');
  await alice.waitFor('carol 加入了 test');
});

t.test('in Chinese, what operators do is said from the event\'s fields; in English the server\'s sentence is shown', async (t) => {
  t.teardown(() => setLanguage('en'));
  const ts = '2026-12-02T09:00:00.000Z';
  const kick = { type: 'moderation', room: 'class', action: 'kick', by: 'alice', nick: 'bob', reason: '刷屏', text: 'alice kicked bob from class: 刷屏', ts } as const;
  const ban = { type: 'moderation', room: 'class', action: 'ban', by: 'alice', nick: 'carol', reason: 'spam', until: '2026-12-02T11:00:00.000Z', text: 'alice banned carol in class for 2h: spam', ts } as const;
  const mode = { type: 'moderation', room: 'class', action: 'mode', by: 'alice', mode: '+l 20', text: 'alice set mode +l 20 on class (limited to 20 members); modes now +l', ts } as const;
  const joined = (state: ClientState) => {
    state.nick = 'dave';
    state.apply({ type: 'join', room: 'class', nick: 'dave', ts });
    state.apply({ type: 'members', room: 'class', nicks: ['alice', 'bob', 'carol', 'dave'], ops: ['alice'], away: ['carol'] });
    return state.room('class')!;
  };

  setLanguage('zh-CN');
  const state = new ClientState();
  const room = joined(state);
  for (const event of [kick, ban, mode]) state.apply(event);
  state.apply({ type: 'topic', room: 'class', topic: '第三章', by: 'alice', ts });
  state.apply({ type: 'away', room: 'class', nick: 'dave', away: true, message: '吃饭', ts });
  state.apply({ type: 'notice', text: 'alice invites you to vault: {"type":"join","room":"vault"}' });
  t.same(room.entries.slice(-5).map((e) => e.text), [
    'alice 把 bob 请出了 class：刷屏',
    'alice 在 class 封禁了 carol，时长 2小时：spam',
    'alice 把 class 的模式设为 +l 20（人数上限为 20）',
    'class 的主题：第三章（由 alice 设置）',
    'dave 暂时离开：吃饭',
  ]);
  t.equal(state.serverBuffer.entries.at(-1)!.text, 'alice 邀请你加入 vault：输入 /join vault');
  t.same(room.members, ['alice', 'dave'], 'the kicked and the banned are gone from the member list');
  t.equal(memberLabel(room, 'dave'), 'dave（离开）');
  state.apply({ type: 'leave', room: 'class', nick: 'dave', reason: 'kicked by alice: 刷屏', ts });
  t.equal(room.entries.at(-1)!.text, '你离开了 class（被 alice 请出：刷屏）', 'the kicked member is told in Chinese too');
  t.equal(spellDuration(90), '1分钟30秒');
  t.equal(describeError({ code: 'not_operator', message: 'only the operators of class may kick' }), '只有这个房间的管理员才能这样做。');
  t.match(helpLines().join('\n'), /\/kick NICK \[REASON\] +把 NICK 请出本房间/);
  t.match(helpLines().join('\n'), /\/reply N TEXT +回复本房间或本私聊的第 N 条消息/);
  t.match(parseInput('/kick'), { kind: 'error', message: /^用法：\/kick NICK \[REASON\]/ });

  setLanguage('en');
  const english = new ClientState();
  const inEnglish = joined(english);
  for (const event of [kick, ban, mode]) english.apply(event);
  t.same(inEnglish.entries.slice(-3).map((e) => e.text), [kick.text, ban.text, mode.text], 'the server\'s own sentences');
  t.equal(moderationWords(kick), kick.text, 'said from the fields, English reads as the server words it');
  t.equal(moderationWords(ban), ban.text);
  t.equal(memberLabel(inEnglish, 'carol'), 'carol (away)');
  english.apply({ type: 'leave', room: 'class', nick: 'dave', reason: 'banned by alice: spam', ts });
  t.equal(inEnglish.entries.at(-1)!.text, 'You left class (banned by alice: spam)');
});

t.test('in Chinese, an edited and a deleted message and the unread marker line', async (t) => {
  t.teardown(() => setLanguage('en'));
  setLanguage('zh-CN');
  const now = Date.parse('2026-12-02T10:00:00Z');
  const state = new ClientState(() => now);
  state.nick = 'alice';
  state.apply({ type: 'join', room: 'test', nick: 'alice', ts: '2026-12-02T09:00:00Z' });
  const msg = (seq: number, from: string, text: string) => state.apply({ type: 'msg', room: 'test', from, text, ts: `2026-12-02T09:0${seq}:00Z`, seq, history: true });
  msg(1, 'alice', '午饭？');
  msg(2, 'bob', '你号');
  msg(3, 'bob', '发错了');
  msg(4, 'carol', '中午');
  state.apply({ type: 'edit', room: 'test', seq: 2, text: '你好', ts: '2026-12-02T09:05:00Z' });
  state.apply({ type: 'delete', room: 'test', seq: 3, ts: '2026-12-02T09:05:00Z' });
  state.apply({ type: 'read', room: 'test', seq: 1 });
  const text = layoutRows(state.room('test')!.entries, 60, makeChalk(false), undefined, now).map((r) => r.text).join('\n');
  t.match(text, /─+ 自 \d\d:\d\d 起有 2 条未读 ─+\n.*<bob> 你好 （已编辑） #2/, 'the marker line above the first unread, then the edited message');
  t.match(text, /<bob> 消息已删除 #3/);
  t.match(parseInput('/react 1 :nosuchemoji:'), { kind: 'command' });
  await t.rejects(unreadRooms({ host: '127.0.0.1', port: 1, nick: 'alice', token: null } as never), { message: '已读标记属于账号：请先用 chat login 登录' });
});

t.test('every command\'s help is the catalogue\'s: the English of COMMANDS is en.ts\'s help.NAME', async (t) => {
  for (const command of COMMANDS) t.equal(command.help, en[`help.${command.name}` as keyof typeof en], `/${command.name}`);
});

/** The literals src/client shows that may be English: file formats, and arguments that pick a catalogue key. */
const ENGLISH_ALLOWED: { file: string; text: RegExp; why: string }[] = [
  { file: 'core/chat-logs.ts', text: /^--- (Day changed|Log opened|Log closed) /, why: 'the log files are written as irssi writes them, for the tools that read those' },
  { file: 'core/known-servers.ts', text: /^# /, why: "the known_servers file's header, as ssh's known_hosts" },
  { file: 'core/names.ts', text: /^nick to send to$/, why: 'names which catalogue message checkedNick says, never shown' },
  { file: 'core/chat-commands.ts', text: /^nick to send to$/, why: 'as above' },
  { file: 'cli/oneshot.ts', text: /^nick to send to$/, why: 'as above' },
  { file: 'core/connection.ts', text: /^timed out$/, why: 'an ETIMEDOUT error: describeConnectError says it by its code' },
  { file: 'text/problem-wording.ts', text: /^a (nick|room name) /, why: 'the protocol\'s problems it recognises, to say them from the catalogue' },
];
/** Two words of a sentence: `is away`, `Topic of` (not keys, paths, codes, protocol lines or placeholders). */
const SENTENCE = /\b[A-Za-z][a-z]+ [a-z]{2,}\b/;
const catalogueHelp = new Set(Object.entries(en).filter(([key]) => key.startsWith('help.')).map(([, text]) => text));

function englishSentences(source: string, file: string): string[] {
  return stringLiterals(source)
    .filter((literal) => SENTENCE.test(literal.text))
    .filter((literal) => !catalogueHelp.has(literal.text as never))
    .filter((literal) => !ENGLISH_ALLOWED.some((allowed) => allowed.file === file && allowed.text.test(literal.text)))
    .map((literal) => `${file}:${literal.line}: ${JSON.stringify(literal.text)}`);
}

t.test('the guard finds an English sentence in code, not in comments, keys, regular expressions or placeholders', async (t) => {
  const source = [
    "// You are not in that room: a comment",
    "/* Topic of a room */",
    "const pattern = /^(\\S+) invites you to (\\S+): /;",
    "state.info(buffer, t('mod.away', { message: `${said}` }));",
    "state.info(buffer, `You are marked away${said}.`);",
    "throw new ClientError('server_error', 'the server accepted it');",
    "const x = a / b; const y = `${c ? 'no such file' : ''}`;",
  ].join('\n');
  t.same(englishSentences(source, 'sample.ts'), [
    'sample.ts:5: "You are marked away ."',
    'sample.ts:6: "the server accepted it"',
    'sample.ts:7: "no such file"',
  ]);
});

t.test('src/client has no English sentence outside the catalogue: every word the client shows is in en.ts and zh-CN.ts', async (t) => {
  const root = join(import.meta.dirname, '../src/client');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const found = files(root)
    .filter((file) => !file.includes(`${sep}text${sep}i18n${sep}`))
    .flatMap((file) => englishSentences(readFileSync(file, 'utf8'), relative(root, file).split(sep).join('/')));
  t.same(found, [], 'move each into text/i18n/en.ts (with its zh-CN.ts) and say it with t(key), or allow it above with why');
});

t.test('what is wrong with a nick, a room name or a password: the protocol\'s words in English, Chinese in Chinese', async (t) => {
  t.teardown(() => setLanguage('en'));
  const problems = [
    nickProblem(''), nickProblem('x'.repeat(200)), nickProblem('a\u200bb'), nickProblem('bad nick'), chosenNickProblem('guest-12'),
    roomProblem(''), roomProblem('r'.repeat(200)), roomProblem('bad room'), passwordProblem('short'), passwordProblem('p'.repeat(2000)),
  ];
  t.notOk(problems.some((p) => p === null), 'each is a problem');
  setLanguage('en');
  t.same(problems.map((p) => problemWords(p!)), problems, 'English reads as the protocol words it');
  setLanguage('zh-CN');
  for (const problem of problems) t.match(problemWords(problem!), HAN, `in Chinese: ${problem}`);
  t.throws(() => checkedNick('bad nick'), { message: /^昵称 "bad nick" 无效：昵称只能包含字母、数字/ });
});

t.test('in Chinese, the progress line says 剩余 for ETA, and the recording line 录音 for REC', async (t) => {
  t.teardown(() => setLanguage('en'));
  let now = 1_000_000;
  const transfers = new Transfers(() => now);
  const up = transfers.start('up', 'report.pdf', 'test', 10 * 1024 * 1024);
  const figures = () => transfers.figures(up);
  setLanguage('zh-CN');
  t.match(progressLine(up, figures(), 80), / 剩余 -:--$/, 'no estimate yet');
  transfers.progress(up, 1024 * 1024, 10 * 1024 * 1024);
  now += 1000;
  transfers.progress(up, 2 * 1024 * 1024, 10 * 1024 * 1024);
  t.match(progressLine(up, figures(), 80), / 1.0 MiB\/s 剩余 0:08$/);
  t.equal(recordingLine(3900, 0.5), '● 录音 0:03 ████░░░░ 回车发送，Esc 取消');
  setLanguage('en');
  t.match(progressLine(up, figures(), 80), / 1.0 MiB\/s ETA 0:08$/);
  t.equal(recordingLine(3900, 0.5), '● REC 0:03 ████░░░░ Enter sends, Esc cancels');
});
