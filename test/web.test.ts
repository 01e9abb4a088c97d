// The browser gateway in a real headless browser (Debian's chromium driven by playwright-core): the seed's demo,
// a browser and a terminal talking both ways, files up from the page and down to it, user text shown as text,
// dark mode at a phone's width, and https/wss. Screenshots go to a temporary directory named in the output.

import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { peer, server } from './helpers/wire.js';
import { Tmux } from './helpers/client-tmux.js';
import { selfSignedCert } from './helpers/tls.js';

// A real browser opening many pages on a shared machine: more than the default two minutes.
t.setTimeout(300_000);

const CHAT_BIN = resolve(import.meta.dirname, '../bin/chat.js');
const shots = process.env.CHAT_WEB_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'chat-web-shots-'));
t.comment(`screenshots in ${shots}`);

const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
t.teardown(() => browser.close());

async function context(t: Test, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const made = await browser.newContext({ viewport: { width: 900, height: 560 }, ...options });
  t.teardown(() => made.close());
  return made;
}

/** A page in ROOM as NICK, opened through the entry form at /chat/, once the room's welcome line shows. */
async function enter(t: Test, made: BrowserContext, base: string, room: string, nick: string): Promise<Page> {
  const page = await made.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/favicon/.test(message.text())) problems.push(message.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(`${base}/chat/`);
  await page.fill('#room', room);
  await page.fill('#nick', nick);
  await page.click('#enter button');
  await page.waitForURL(`${base}/chat/${room}/**`);
  await page.locator('#log li.notice', { hasText: `Welcome to ${room}` }).waitFor();
  t.equal(await page.locator('#banner').textContent(), 'Welcome to chat-server! Join a room to start talking.', 'the banner');
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#line', text);
  await page.press('#line', 'Enter');
}

/** The log line holding `text`, once it shows. */
async function line(page: Page, text: string) {
  const found = page.locator('#log li', { hasText: text });
  await found.first().waitFor();
  return found;
}

t.test('the seed\'s demo: "Hello world!" in test shows in both test pages with a time, and not in anothertest', async (t) => {
  const { nodes } = await server(t, { webPort: 0 });
  // On a cluster each page is served by another node.
  const bases = nodes.map((node) => `http://127.0.0.1:${node.webAddress!.port}`);
  const made = await context(t);
  const alice = await enter(t, made, bases[0]!, 'test', 'alice');
  const bob = await enter(t, made, bases.at(-1)!, 'test', 'bob');
  const carol = await enter(t, made, bases[0]!, 'anothertest', 'carol');
  await line(alice, 'bob joined');
  await say(alice, 'Hello world!');
  for (const page of [alice, bob]) {
    const hello = await line(page, 'Hello world!');
    t.equal(await hello.count(), 1);
    t.match(await hello.locator('time').textContent(), /^\d\d:\d\d$/, 'with a time');
    t.equal(await hello.locator('.nick').textContent(), 'alice');
  }
  t.same(await bob.locator('#members li').allTextContents(), ['alice', 'bob'], 'the member list');
  // carol's own later message arrives after anything sent to her before it.
  await say(carol, 'only anothertest hears this');
  await line(carol, 'only anothertest hears this');
  t.equal(await carol.locator('#log li', { hasText: 'Hello world!' }).count(), 0, 'anothertest heard nothing');
  t.equal(await alice.locator('#log li', { hasText: 'only anothertest' }).count(), 0);
  await say(bob, 'emoji :smile: :thumbsup: and 中文，你好');
  await line(alice, 'emoji 😄 👍 and 中文，你好');
  await alice.screenshot({ path: join(shots, 'demo-alice.png') });
  await carol.screenshot({ path: join(shots, 'demo-carol.png') });
  for (const page of [alice, bob, carol]) t.same((page as Page & { problems: string[] }).problems, [], 'no script errors, no CSP violations');
});

t.test('a terminal user and a browser user talk both ways; a private message from the page', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const tmux = new Tmux(t);
  const tui = await tmux.chat('tui', ['join', 'test', '--host', '127.0.0.1', '--port', String(port), '--nick', 'tui']);
  await tui.waitFor((lines) => lines.at(-2)!.includes('| connected |'));
  const page = await enter(t, await context(t), base, 'test', 'web');
  await tui.waitFor('web joined test');
  await say(page, 'hi from the browser 你好 :wave:');
  await tui.waitFor('<web> hi from the browser 你好 👋');
  await tui.type('hi from the terminal 😀');
  await tui.keys('Enter');
  await line(page, 'hi from the terminal 😀');
  const raw = await peer(t, port);
  raw.send({ type: 'hello', nick: 'raw' });
  await raw.next({ type: 'welcome' });
  await say(page, '/msg raw psst 秘密');
  t.equal((await raw.next({ type: 'msg', from: 'web' })).text, 'psst 秘密');
  raw.send({ type: 'msg', to: 'web', text: 'psst back' });
  t.match(await (await line(page, 'psst back')).getAttribute('class'), /private/);
  await page.screenshot({ path: join(shots, 'with-terminal.png') });
});

t.test('a file uploaded from the page (file input, and dropped on it) is fetched with `chat get`: the same sha256', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-web-files-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { port, server: chat } = await server(t, { webPort: 0, dataDir });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const page = await enter(t, await context(t), base, 'test', 'web');
  const watcher = await peer(t, port);
  await watcher.join('test', 'watcher');
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await page.setInputFiles('#file', { name: 'photo 照片.bin', mimeType: 'application/octet-stream', buffer: bytes });
  const shared = await watcher.next({ type: 'file', name: 'photo 照片.bin' }, 30_000);
  t.equal(shared.sha256, sha256, 'the server has the same bytes');
  await line(page, 'photo 照片.bin');
  const out = mkdtempSync(join(tmpdir(), 'chat-web-get-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  await promisify(execFile)(process.execPath, [CHAT_BIN, 'get', shared.file, '--host', '127.0.0.1', '--port', String(port), '--nick', 'getter', '-o', out]);
  const [name] = readdirSync(out);
  t.equal(createHash('sha256').update(readFileSync(join(out, name!))).digest('hex'), sha256, '`chat get` saved the same bytes');

  // Dropped on the page.
  // (Page functions are strings here: the tests are typed without the DOM's types.)
  const dropped = await page.evaluateHandle(`(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['dropped 文件\\n'], 'dropped.txt', { type: 'text/plain' }));
    return transfer;
  })()`);
  await page.dispatchEvent('#log', 'drop', { dataTransfer: dropped });
  const fromDrop = await watcher.next({ type: 'file', name: 'dropped.txt' });
  t.equal(fromDrop.size, Buffer.byteLength('dropped 文件\n'));
  await line(page, 'dropped.txt');
});

t.test('a private file sent to the browser user downloads from the page as an attachment; nobody else can fetch it', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const page = await enter(t, await context(t), base, 'test', 'web');
  const sender = await peer(t, port);
  sender.send({ type: 'hello', nick: 'sender' });
  await sender.next({ type: 'welcome' });
  const body = Buffer.from('only for web 只给你\n');
  sender.send({ type: 'upload', to: 'web', name: 'for you.txt', size: body.length, id: 'p' });
  sender.write(body);
  const { file } = await sender.next({ type: 'ok', id: 'p' });
  const entry = await line(page, 'for you.txt');
  const [download] = await Promise.all([page.waitForEvent('download'), entry.locator('button').click()]);
  t.equal(download.suggestedFilename(), 'for you.txt');
  const saved = await download.path();
  t.ok(readFileSync(saved).equals(body), 'the page saved the bytes');
  // Another page (another guest) that knows the id gets nothing.
  const stranger = await enter(t, await context(t), base, 'test', 'stranger');
  const status = await stranger.evaluate(async (id) => (await fetch(`/files/${id}`)).status, file);
  t.equal(status, 404);
});

t.test('a voice message plays in the page', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const page = await enter(t, await context(t), base, 'test', 'web');
  const sender = await peer(t, port);
  await sender.join('test', 'talker');
  const dir = mkdtempSync(join(tmpdir(), 'chat-web-voice-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await promisify(execFile)('espeak-ng', ['-w', join(dir, 'hi.wav'), 'hello from the terminal']);
  await promisify(execFile)('opusenc', ['--quiet', join(dir, 'hi.wav'), join(dir, 'hi.opus')]);
  const voice = readFileSync(join(dir, 'hi.opus'));
  sender.send({ type: 'upload', room: 'test', name: 'voice.opus', size: voice.length, kind: 'voice', duration_ms: 1500, waveform: [10, 200, 90, 40, 120, 250, 60, 5], id: 'v' });
  sender.write(voice);
  await sender.next({ type: 'ok', id: 'v' });
  const entry = await line(page, 'voice message');
  await entry.locator('button').click();
  const audio = entry.locator('audio');
  await audio.waitFor();
  // Polled from here: waitForFunction evaluates its predicate again inside the page, which the page's CSP (no
  // 'unsafe-eval') refuses whenever the first look is too early; page.evaluate is not the page's own script.
  const decoded = `(() => {
    const player = document.querySelector('#log audio');
    return player !== null && player.readyState >= 1 && Number.isFinite(player.duration) && player.duration > 0;
  })()`;
  for (let tries = 0; !(await page.evaluate(decoded)); tries++) {
    if (tries > 300) throw new Error('the browser never decoded the voice message');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(await page.evaluate(`document.querySelector('#log audio').duration > 0.5`), 'the browser decoded it');
});

t.test('user text is shown as text: no HTML, no blessed tags', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const page = await enter(t, await context(t), base, 'test', 'web');
  const attacker = await peer(t, port);
  await attacker.join('test', 'mallory');
  const html = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
  attacker.send({ type: 'msg', room: 'test', text: html });
  attacker.send({ type: 'msg', room: 'test', text: '{red-fg}red?{/red-fg} {bold}no{/bold}' });
  attacker.send({ type: 'upload', room: 'test', name: '<b onmouseover=alert(1)>x</b>.txt', size: 1 });
  attacker.write('x');
  t.equal(await (await line(page, 'onerror')).locator('.text').textContent(), html);
  t.equal(await (await line(page, '{red-fg}')).locator('.text').textContent(), '{red-fg}red?{/red-fg} {bold}no{/bold}');
  await line(page, '<b onmouseover');
  t.equal(await page.locator('#log img, #log script, #log b').count(), 0, 'no element from user text');
  t.equal(await page.evaluate('typeof window.pwned'), 'undefined', 'nothing ran');
  await page.screenshot({ path: join(shots, 'as-text.png') });
});

t.test('a phone\'s width in dark mode: dark colours, nothing wider than the screen, the input line at hand', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const phone = await context(t, { viewport: { width: 390, height: 760 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
  const page = await enter(t, phone, base, 'test', '李雷');
  const friend = await peer(t, port);
  await friend.join('test', 'hanmeimei');
  friend.send({ type: 'msg', room: 'test', text: '你好，李雷！今天下午三点在图书馆见面吧。 https://example.com/a/very/long/link/that/must/wrap/somewhere/and/not/widen/the/page' });
  await line(page, '图书馆');
  await say(page, '好的 :thumbsup:');
  await line(page, '好的 👍');
  const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
  const [r, g, b] = background.match(/\d+/g)!.map(Number);
  t.ok(r! + g! + b! < 150, `a dark background (${background})`);
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'no sideways scrolling');
  t.ok(await page.locator('#line').isVisible(), 'the input line is on screen');
  await page.screenshot({ path: join(shots, 'phone-dark.png') });
});

t.test('with TLS on, the gateway serves https and wss with the same certificate', async (t) => {
  const tls = await selfSignedCert(t);
  const { port, server: chat } = await server(t, { webPort: 0, tls });
  const base = `https://127.0.0.1:${chat.webAddress!.port}`;
  const page = await enter(t, await context(t, { ignoreHTTPSErrors: true }), base, 'test', 'secure');
  const tcp = await peer(t, port);
  await tcp.join('test', 'tcp');
  await say(page, 'over wss');
  t.equal((await tcp.next({ type: 'msg', from: 'secure' })).text, 'over wss');
});

t.test('an account from the page; after a dropped connection the page logs in again with its token and resumes with since', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const page = await enter(t, await context(t), base, 'test', 'web');
  const tcp = await peer(t, port);
  await tcp.join('test', 'tcp');
  await say(page, '/register webacct correct horse battery');
  await line(page, 'logged in as webacct');
  await tcp.next({ type: 'nick', old: 'web', nick: 'webacct' });
  t.equal(await page.locator('#log li', { hasText: 'correct horse' }).count(), 0, 'the password is not shown');
  tcp.send({ type: 'msg', room: 'test', text: 'before the drop' });
  await line(page, 'before the drop');

  const [browserSession] = [...chat.sessions].filter((session) => session.nick === 'webacct');
  browserSession!.stream.destroy();
  await tcp.next({ type: 'leave', nick: 'webacct' });
  tcp.send({ type: 'msg', room: 'test', text: 'while you were away' });
  await tcp.next({ type: 'join', nick: 'webacct' });
  await line(page, 'while you were away');
  t.equal(await page.locator('#log li', { hasText: 'before the drop' }).count(), 1, 'since: nothing twice');
  t.equal(await page.locator('#log li', { hasText: 'while you were away' }).count(), 1);
  t.match(await page.locator('#status').textContent(), /you are webacct/, 'the account again, by its token');
});

t.test('after a drop the page resumes its private conversations with since: what came meanwhile, once', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const page = await enter(t, await context(t), base, 'test', 'web');
  await say(page, '/register pageacct correct horse battery');
  await line(page, 'logged in as pageacct');
  // The account's other device stays connected: what is sent meanwhile reaches it, and does not wait for a login.
  const device = await peer(t, port);
  device.send({ type: 'login', nick: 'pageacct', password: 'correct horse battery', id: 'device' });
  await device.next({ type: 'ok', id: 'device' });
  const raw = await peer(t, port);
  await raw.join('test', 'raw');
  raw.send({ type: 'msg', to: 'pageacct', text: 'private before the drop' });
  await line(page, 'private before the drop');

  const browserSession = [...chat.sessions].find((session) => session.nick === 'pageacct' && session.rooms.has('test'));
  browserSession!.stream.destroy();
  await raw.next({ type: 'leave', nick: 'pageacct' });
  for (const text of ['private while away', 'and a second']) {
    raw.send({ type: 'msg', to: 'pageacct', text });
    await device.next({ type: 'msg', text });
  }
  await raw.next({ type: 'join', nick: 'pageacct' });
  await line(page, 'and a second');
  for (const text of ['private before the drop', 'private while away', 'and a second']) {
    t.equal(await page.locator('#log li.private', { hasText: text }).count(), 1, `${text}: shown once`);
  }
  t.same((page as Page & { problems: string[] }).problems, [], 'no script errors');
});

t.test('with --accounts required the page asks for a login, and joins the room once logged in', async (t) => {
  const { server: chat } = await server(t, { webPort: 0, accounts: 'required' });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const page = await (await context(t)).newPage();
  await page.goto(`${base}/chat/test/`);
  await line(page, 'this server wants you logged in');
  await say(page, '/register member hunter2hunter2');
  await line(page, 'logged in as member');
  await page.locator('#log li.notice', { hasText: 'Welcome to test' }).waitFor();
  t.same(await page.locator('#members li').allTextContents(), ['@member'], 'the first account in the room owns it');
});

t.test('a nick that cannot be had: the suggested one when it is taken, a guest nick when it is not a nick', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  const holder = await peer(t, port);
  await holder.join('test', 'taken');
  const made = await context(t);
  const second = await made.newPage();
  await second.goto(`${base}/chat/test/?nick=taken`);
  await line(second, 'is taken');
  await second.locator('#status', { hasText: /you are taken\S+/ }).waitFor();
  const bad = await made.newPage();
  await bad.goto(`${base}/chat/test/?nick=${encodeURIComponent('no/slash')}`);
  await bad.locator('#status', { hasText: /you are guest-/ }).waitFor();
  t.pass('both are in the room');
});

t.test('a room run from a terminal: topic, replies, edits, reactions, deletes, away, a kick and a ban, as the page shows them', async (t) => {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const base = `http://127.0.0.1:${chat.webAddress!.port}`;
  // The first registered account in the room owns it.
  const owner = await peer(t, port);
  owner.send({ type: 'register', nick: 'owner', password: 'correct horse battery', id: 'r' });
  await owner.next({ type: 'ok', id: 'r' });
  await owner.join('club');
  const page = await enter(t, await context(t), base, 'club', 'webby');
  t.same(await page.locator('#members li').allTextContents(), ['@owner', 'webby'], 'the owner marked @');

  owner.send({ type: 'topic', room: 'club', topic: 'Chapter 3 <b>today</b>' });
  await page.locator('#topic', { hasText: 'Chapter 3 <b>today</b>' }).waitFor();
  await line(page, 'owner set the topic: Chapter 3 <b>today</b>');
  await say(page, '/topic mine now');
  await line(page, 'Only the room\'s operators may do that.');
  await say(page, '/topic');
  await page.locator('#log li.notice', { hasText: 'topic: Chapter 3 <b>today</b>' }).waitFor();

  owner.send({ type: 'msg', room: 'club', text: 'lunch at noon?\nor later' });
  const { seq: question } = await owner.next({ type: 'msg', from: 'owner' });
  await line(page, 'lunch at noon?');
  await say(page, `/reply ${question} helo at noon`);
  const answer = await owner.next({ type: 'msg', from: 'webby' });
  t.same(answer.reply, { seq: question, from: 'owner', text: 'lunch at noon?' });
  const reply = await line(page, 'helo at noon');
  t.equal(await reply.locator('.quote').textContent(), `↪ #${question} owner: lunch at noon?`, 'the quoted first line above the reply');
  t.equal(await reply.locator('.seq').textContent(), `#${answer.seq}`);

  await say(page, `/edit #${answer.seq} hello at noon`);
  await owner.next({ type: 'edit', seq: answer.seq, text: 'hello at noon' });
  owner.send({ type: 'react', room: 'club', seq: answer.seq, emoji: '👍' });
  await owner.next({ type: 'react', seq: answer.seq, nick: 'owner' });
  await say(page, `/react ${answer.seq} :tada:`);
  await owner.next({ type: 'react', seq: answer.seq, nick: 'webby' });
  const edited = page.locator('#log li', { hasText: 'hello at noon' });
  await edited.locator('.reactions', { hasText: '👍 1  🎉 1' }).waitFor();
  t.equal(await edited.locator('.edited').textContent(), ' (edited)');

  owner.send({ type: 'msg', room: 'club', text: 'oops, wrong room' });
  const { seq: oops } = await owner.next({ type: 'msg', text: 'oops, wrong room' });
  await line(page, 'oops, wrong room');
  owner.send({ type: 'delete', room: 'club', seq: oops });
  await page.locator('#log li.deleted', { hasText: 'message deleted' }).waitFor();
  t.equal(await page.locator('#log li', { hasText: 'oops, wrong room' }).count(), 0, 'the deleted text is gone');
  await say(page, '/react 999 👍');
  await line(page, 'There is no such message here');

  // A page that comes later gets the records as they are now, and sees who is away.
  await say(page, '/away at lunch');
  await owner.next({ type: 'away', nick: 'webby', away: true });
  const later = await enter(t, await context(t), base, 'club', 'later');
  const replayed = later.locator('#log li', { hasText: 'hello at noon' });
  await replayed.locator('.reactions', { hasText: '👍 1  🎉 1' }).waitFor();
  t.equal(await replayed.locator('.edited').count(), 1, 'replayed as edited');
  t.match(await replayed.locator('.quote').textContent(), /lunch at noon\?$/, 'replayed with its quote');
  await later.locator('#log li.deleted', { hasText: 'message deleted' }).waitFor();
  t.equal(await later.locator('#topic').textContent(), 'Chapter 3 <b>today</b>', 'the topic on joining');
  t.same(await later.locator('#members li').allTextContents(), ['@owner', 'later', 'webby (away)']);
  await say(page, '/back');
  await line(later, 'webby is back');
  await page.screenshot({ path: join(shots, 'conversation.png') });

  owner.send({ type: 'mute', room: 'club', nick: 'later', reason: 'shush' });
  await line(later, 'owner muted later');
  await say(later, 'can I speak?');
  await line(later, 'You cannot speak here');

  owner.send({ type: 'kick', room: 'club', nick: 'webby', reason: 'too loud' });
  await (await line(page, 'owner kicked webby')).filter({ hasText: 'too loud' }).waitFor();
  await (await line(later, 'owner kicked webby')).filter({ hasText: 'too loud' }).waitFor();
  t.same(await later.locator('#members li').allTextContents(), ['@owner', 'later'], 'the others see webby gone');
  await line(page, 'you are no longer in #club: kicked by owner: too loud');
  t.match(await page.locator('#status').textContent(), /not in the room/);
  await say(page, '/join');
  await owner.next({ type: 'join', nick: 'webby' });
  const joinsBeforeTheBan = owner.received.filter((event) => event.type === 'join' && event.nick === 'webby').length;
  owner.send({ type: 'ban', room: 'club', nick: 'webby', reason: 'still too loud' });
  await line(page, 'you are no longer in #club: banned by owner: still too loud');
  await page.screenshot({ path: join(shots, 'banned.png') });

  // A dropped connection comes back without knocking on the door; knocking says why it stays shut.
  const [browserSession] = [...chat.sessions].filter((session) => session.nick === 'webby');
  browserSession!.stream.destroy();
  // The page has said hello again: a new session, then its welcome drawn (the status said "disconnected" meanwhile).
  while (![...chat.sessions].some((session) => session !== browserSession && session.nick?.startsWith('webby'))) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await page.locator('#status', { hasText: /you are \S+ · not in the room/ }).waitFor();
  await say(page, '/join');
  await (await line(page, 'banned: You are banned from this room')).filter({ hasText: 'still too loud' }).first().waitFor();
  t.equal(await page.locator('#log li', { hasText: 'banned: You are banned' }).count(), 1, 'refused once: when asked, not by itself');
  t.equal(owner.received.filter((event) => event.type === 'join' && event.nick === 'webby').length, joinsBeforeTheBan, 'no join after the ban');
  for (const shown of [page, later]) t.same((shown as Page & { problems: string[] }).problems, [], 'no script errors');
});

/** A page as `web` in room test, a TCP peer `raw` there, and the room's #1 ("room one", from raw) on the page. */
async function pageAndRawPeer(t: Test) {
  const { port, server: chat } = await server(t, { webPort: 0 });
  const page = await enter(t, await context(t), `http://127.0.0.1:${chat.webAddress!.port}`, 'test', 'web');
  const raw = await peer(t, port);
  await raw.join('test', 'raw');
  raw.send({ type: 'msg', room: 'test', text: 'room one' });
  return { chat, page, raw, roomOne: await line(page, 'room one') };
}

t.test('the page changes its own private messages by @NICK and #N: /edit, /react, /delete and /reply go `with` the other party', async (t) => {
  const { page, raw, roomOne } = await pageAndRawPeer(t);
  for (const text of ['page one', 'page two']) {
    await say(page, `/msg raw ${text}`);
    await raw.next({ type: 'msg', to: 'raw', text });
  }

  await say(page, '/edit @raw 1 page one, edited');
  t.match(await raw.next({ type: 'edit' }), { with: 'web', seq: 1, text: 'page one, edited' }, 'the edit went with the other party');
  const pageOne = page.locator('#log li.private', { hasText: 'page one, edited' });
  await pageOne.locator('.edited').waitFor();
  await say(page, '/react @raw 1 :thumbsup:');
  t.match(await raw.next({ type: 'react' }), { with: 'web', seq: 1, reactions: [{ emoji: '👍', count: 1 }] });
  await pageOne.locator('.reactions', { hasText: '👍 1' }).waitFor();
  await say(page, '/delete @raw 2');
  t.match(await raw.next({ type: 'delete' }), { with: 'web', seq: 2 });
  await page.locator('#log li.private.deleted', { hasText: 'message deleted' }).waitFor();
  await say(page, '/reply @raw 1 answering myself');
  t.match(await raw.next({ type: 'msg', text: 'answering myself' }), { to: 'raw', reply: { seq: 1, text: 'page one, edited' } });
  t.equal(await roomOne.locator('.edited, .reactions').count(), 0, 'the room\'s #1 is untouched');
  await say(page, '/edit 1 not mine');
  await line(page, 'Only the message\'s author may change it.');
  t.same((page as Page & { problems: string[] }).problems, [], 'no script errors');
});

t.test('changes in a private conversation (edit, react, delete `with`) change its lines, not the room\'s of the same seq; its seq is not the room\'s', async (t) => {
  const { chat, page, raw, roomOne } = await pageAndRawPeer(t);
  t.equal((await raw.next({ type: 'msg', text: 'room one' })).seq, 1);
  for (const text of ['private one', 'private two', 'private three']) {
    raw.send({ type: 'msg', to: 'web', text });
    await raw.next({ type: 'msg', text });
    await line(page, text);
  }

  raw.send({ type: 'edit', with: 'web', seq: 1, text: 'private one, edited' });
  await raw.next({ type: 'edit', with: 'web', seq: 1 });
  const privateOne = page.locator('#log li.private', { hasText: 'private one, edited' });
  await privateOne.locator('.edited').waitFor();
  raw.send({ type: 'react', with: 'web', seq: 1, emoji: '👍' });
  await privateOne.locator('.reactions', { hasText: '👍 1' }).waitFor();
  raw.send({ type: 'delete', with: 'web', seq: 2 });
  await page.locator('#log li.private.deleted', { hasText: 'message deleted' }).waitFor();
  t.equal(await page.locator('#log li', { hasText: 'private two' }).count(), 0, 'the deleted text is gone');
  t.equal(await roomOne.locator('.text').textContent(), 'room one', 'the room\'s #1 is untouched');
  t.equal(await roomOne.locator('.edited, .reactions').count(), 0);

  // Its other party under a new nick: the changes come `with` that nick.
  raw.send({ type: 'nick', nick: 'renamed' });
  await line(page, 'raw is now renamed');
  raw.send({ type: 'edit', with: 'web', seq: 3, text: 'private three, edited' });
  await page.locator('#log li.private', { hasText: 'private three, edited' }).locator('.edited').waitFor();
  raw.send({ type: 'edit', room: 'test', seq: 1, text: 'room one, edited' });
  await roomOne.locator('.edited').waitFor();
  t.equal(await page.locator('#log li.private', { hasText: 'private one, edited' }).count(), 1, 'the room\'s edit left the private #1 alone');

  // A drop: the page resumes the room from the room's seq (1), not from the private conversation's (3).
  const [browserSession] = [...chat.sessions].filter((session) => session.nick === 'web');
  browserSession!.stream.destroy();
  await raw.next({ type: 'leave', nick: 'web' });
  raw.send({ type: 'msg', room: 'test', text: 'said while the page was gone' });
  raw.send({ type: 'msg', room: 'test', text: 'and this too' });
  await raw.next({ type: 'msg', text: 'and this too' });
  await raw.next({ type: 'join', nick: 'web' });
  await line(page, 'said while the page was gone');
  await line(page, 'and this too');
  t.same((page as Page & { problems: string[] }).problems, [], 'no script errors');
});
