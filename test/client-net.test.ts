// The headless client and the CLI against a real in-process chat-server over real sockets.

import t, { type Test } from 'tap';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatServer } from '../src/server/server.js';
import { main } from '../src/client/cli/cli.js';
import { ExitCode } from '../src/client/core/errors.js';
import { loginNick } from '../src/client/cli/options.js';
import { ClientState } from '../src/client/core/state.js';
import { Backoff, DEFAULT_BACKOFF } from '../src/client/core/backoff.js';
import { makeChalk } from '../src/client/view/format.js';
import { statusLine } from '../src/client/view/status-line.js';
import { stringWidth } from '../src/client/text/width.js';
import { fileTable } from '../src/client/text/wording.js';
import { connectClient, fakeIo, freePort, serve, texts, until } from './helpers/client-harness.js';

const quick = { initialMs: 50, maxMs: 200, jitter: 0 };

/**
 * A peer that plays the server by script: `answer` gets each request line, parsed, with the socket it came on.
 * Its sockets are returned with its port (a test may cut them); all of it goes at the test's end.
 */
async function scriptedPeer(
  t: Test,
  answer: (socket: net.Socket, request: { type: string; [field: string]: any }) => void,
): Promise<{ port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const peer = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const request = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        answer(socket, request);
      }
    });
  });
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => peer.close(() => resolve()));
  });
  return { port: (peer.address() as net.AddressInfo).port, sockets };
}

t.test('two clients chat in one room; another room sees nothing of it', async (t) => {
  const { port } = await serve(t);
  const alice = await connectClient(t, port, 'alice', ['test']);
  const bob = await connectClient(t, port, 'bob', ['Test']);
  const carol = await connectClient(t, port, 'carol', ['anothertest']);
  let bells = 0;
  alice.onBell(() => bells++);
  t.equal(bob.state.active.key, 'test', 'room names come back lowercase');
  await alice.submit('hello bob :smile:');
  await bob.submit('hi alice, 你好，世界 😀👍');
  await bob.submit('/me waves');
  await until(() => texts(alice, 'test').length === 3, 'alice to see three messages');
  t.same(texts(alice, 'test'), ['hello bob 😄', 'hi alice, 你好，世界 😀👍', 'waves']);
  t.same(texts(bob, 'test'), texts(alice, 'test'));
  t.equal(alice.state.room('test')!.entries.find((e) => e.text.startsWith('hi alice'))!.mention, true);
  t.same(alice.state.room('test')!.members, ['alice', 'bob']);
  t.equal(bells, 1, 'the bell rang once, for the mention');
  t.same(texts(carol, 'anothertest'), [], 'room isolation');
  t.notOk(carol.state.room('test'));
});

t.test('private messages open a buffer on both sides; commands answer in words', async (t) => {
  const { port } = await serve(t);
  const alice = await connectClient(t, port, 'alice', ['test']);
  const bob = await connectClient(t, port, 'bob', ['test']);
  // bob's join reaches alice in the next presence pass: before it, a line of alice's may not be her last one.
  await until(() => alice.state.room('test')!.members.includes('bob'), 'alice to see bob join');
  await alice.submit('/msg bob secret 🤫');
  t.equal(alice.state.active.key, '@bob', '/msg switches to the private buffer');
  await until(() => texts(bob, '@alice').length === 1, 'bob to get the private message');
  t.same(texts(bob, '@alice'), ['secret 🤫']);
  t.same(texts(alice, '@bob'), ['secret 🤫']);
  t.same(texts(bob, 'test'), [], 'not in the room');
  await bob.submit('back at you'); // bob is still in the room buffer
  await alice.submit('/msg nobody hello?');
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: 'Nobody is connected as "nobody", and no account has that nick.' });
  t.notOk(alice.state.buffer('@nobody'), 'no empty buffer is left for a nick nobody has');
  alice.state.switchTo('test');
  await alice.submit('/msg @bob as the buffer is written');
  t.equal(alice.state.active.key, '@bob', '/msg @bob is /msg bob');
  await until(() => texts(bob, '@alice').length === 2, 'bob to get it');
  await alice.submit('/query @alice-not-here');
  t.equal(alice.state.active.key, '@alice-not-here', '/query @nick too');
  await alice.submit('/leave');
  await alice.submit('/frob');
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: /Unknown command \/frob/ });
  alice.state.switchTo('test');
  await alice.submit('/who');
  t.match(alice.state.active.entries.at(-1), { kind: 'info', text: 'In test (2): alice, bob' });
  await alice.submit('/join other');
  t.equal(alice.state.active.key, 'other');
  await alice.submit('/rooms');
  t.match(alice.state.active.entries.at(-1), { kind: 'info', text: /Rooms: .*other \(1\).*test \(2\)|Rooms: .*test \(2\).*other \(1\)/ });
  await alice.submit('/join bad room!');
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: /^Bad room name "bad room!": .*without spaces\. Usage: \/join ROOM$/ });
  await alice.submit('/join bad!');
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: /Bad room name "bad!"/ });
  await alice.submit('/leave');
  t.notOk(alice.state.room('other'), '/leave closes the buffer');
  await alice.submit('/nick bob');
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: /The nick "bob" is taken/ });
  await alice.submit('/nick alicia');
  await until(() => bob.state.room('test')!.members.includes('alicia'), 'bob to see the nick change');
  t.equal(alice.state.nick, 'alicia');
  t.match(bob.state.room('test')!.entries.at(-1), { kind: 'nick', text: 'alice is now known as alicia' });
  await alice.submit('/help');
  t.ok(alice.state.active.entries.some((e) => e.text.includes('/msg NICK TEXT')));
  await alice.submit('/clear');
  t.equal(alice.state.active.entries.length, 0);
});

t.test('nick taken: interactive use takes the suggested nick, scripts fail with nick_taken', async (t) => {
  const { port } = await serve(t);
  await connectClient(t, port, 'alice', ['test']);
  const second = await connectClient(t, port, 'alice', ['test'], { onNickTaken: 'suggest' });
  t.equal(second.state.nick, 'alice2');
  t.ok(second.state.serverBuffer.entries.some((e) => /The nick alice is taken; you are alice2 instead/.test(e.text)));
  t.match(second.state.active.entries.at(-1), { kind: 'error', text: /The nick alice is taken; you are alice2 instead\. Type \/nick/ }, 'said in the room on screen');
  await t.rejects(connectClient(t, port, 'ALICE', ['test']), { code: 'nick_taken', exitCode: ExitCode.nickTaken });
});

t.test('the first rooms\' joins go out with the hello, naming its nick: the room is joined in one round trip', async (t) => {
  // A peer that answers nothing until it has both the hello and the join: a client that waits for the welcome
  // before it joins never gets one.
  const received: { type: string; nick?: string; room?: string; id?: number }[] = [];
  let answered = false;
  const { port } = await scriptedPeer(t, (socket, request) => {
    received.push(request);
    const hello = received.find((r) => r.type === 'hello');
    const joinRequest = received.find((r) => r.type === 'join');
    if (!hello || !joinRequest || answered) return;
    answered = true;
    const ts = new Date().toISOString();
    socket.write(JSON.stringify({ type: 'welcome', nick: 'alice', server: 'scripted', proto: 1, motd: '', id: hello.id }) + '\n');
    socket.write(JSON.stringify({ type: 'join', room: 'test', nick: 'alice', ts }) + '\n');
    socket.write(JSON.stringify({ type: 'members', room: 'test', nicks: ['alice'], id: joinRequest.id }) + '\n');
  });
  const alice = await connectClient(t, port, 'alice', ['test']);
  t.match(received.slice(0, 2), [{ type: 'hello', nick: 'alice' }, { type: 'join', room: 'test', nick: 'alice' }]);
  t.equal(received.filter((r) => r.type === 'join').length, 1, 'joined once');
  t.same(alice.state.room('test')!.members, ['alice']);
});

t.test('a nick taken at the start: the join sent with the hello is refused too, and made again under the new nick, never as a guest', async (t) => {
  const { port } = await serve(t);
  const first = await connectClient(t, port, 'alice', ['test']);
  const second = await connectClient(t, port, 'alice', ['test'], { onNickTaken: 'suggest' });
  t.equal(second.state.nick, 'alice2');
  await until(() => first.state.room('test')!.members.includes('alice2'), 'alice to see alice2 join');
  t.same(second.state.room('test')!.members, ['alice', 'alice2']);
  t.same(first.state.room('test')!.members, ['alice', 'alice2']);
  t.notOk(first.state.room('test')!.entries.some((e) => /guest/.test(e.text)), 'no guest came and went');
  // A script with a chosen nick still fails, with the hello's words.
  await t.rejects(connectClient(t, port, 'alice', ['test']), { code: 'nick_taken', exitCode: ExitCode.nickTaken });
  t.same(first.state.room('test')!.members, ['alice', 'alice2'], 'the failed start left nobody in the room');
});

t.test('reconnect after the connection drops: rejoin with since, nothing lost, nothing twice', async (t) => {
  const { server, port } = await serve(t);
  const alice = await connectClient(t, port, 'alice', ['test']);
  const bob = await connectClient(t, port, 'bob', ['test'], { backoff: { initialMs: 300, maxMs: 300, jitter: 0 } });
  await alice.submit('m1');
  await until(() => texts(bob, 'test').length === 1, 'bob to see m1');
  const bobSession = [...server.sessions].find((s) => s.nick === 'bob')!;
  bobSession.stream.destroy();
  await until(() => bob.status.phase === 'reconnecting', 'bob to notice');
  await until(() => !server.nicks.owner('bob'), 'the server to forget bob');
  await alice.submit('m2 while bob is away');
  await alice.submit('m3 while bob is away');
  await until(() => bob.status.phase === 'connected', 'bob to reconnect');
  await alice.submit('m4');
  await until(() => texts(bob, 'test').length >= 4, 'bob to see m4');
  t.same(texts(bob, 'test'), ['m1', 'm2 while bob is away', 'm3 while bob is away', 'm4']);
  t.equal(bob.state.nick, 'bob', 'the same nick again');
  t.ok(bob.state.room('test')!.entries.some((e) => e.text === 'Reconnected.'));
});

t.test('line mode holds what it sends while reconnecting, and sends it once connected again', async (t) => {
  const { server, port } = await serve(t);
  const alice = await connectClient(t, port, 'alice', ['test']);
  const script = await connectClient(t, port, 'script', ['test'], {
    holdWhileReconnecting: true,
    backoff: { initialMs: 200, maxMs: 200, jitter: 0 },
  });
  [...server.sessions].find((s) => s.nick === 'script')!.stream.destroy();
  await until(() => script.status.phase === 'reconnecting', 'the script to notice');
  await script.submit('sent while away');
  t.equal(script.status.phase, 'connected');
  await until(() => texts(alice, 'test').includes('sent while away'), 'the held message');
  t.same(texts(alice, 'test'), ['sent while away']);
});

t.test('lines typed while disconnected wait in a visible queue and go out, once, on /reconnect; back-off capped at 5 s', async (t) => {
  const first = new ChatServer({});
  const { port } = await first.listen(0, '127.0.0.1');
  t.teardown(() => first.close());
  // A back-off far longer than the test: only /reconnect brings alice back.
  const alice = await connectClient(t, port, 'alice', ['test'], { backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } });
  await first.close();
  await until(() => alice.status.phase === 'reconnecting' && alice.status.retryAt !== undefined, 'alice to notice');
  await alice.submit('typed while away');
  await alice.submit('/me waves while away');
  const room = alice.state.room('test')!;
  t.same(room.entries.filter((e) => e.kind === 'queued').map((e) => e.text), ['typed while away', 'waves while away'], 'shown as queued');
  t.equal(alice.queued, 2);
  t.match(statusLine(alice, Date.now(), makeChalk(false), 200), /reconnecting in \d+s, 2 queued/, 'the status line counts them');
  await alice.submit('/reconnect');
  t.equal(alice.status.phase, 'reconnecting', 'no server yet: the attempt fails and waits again');
  await until(() => alice.status.retryAt !== undefined, 'the next attempt to be scheduled');

  const second = new ChatServer({});
  await second.listen(port, '127.0.0.1');
  t.teardown(() => second.close());
  const bob = await connectClient(t, port, 'bob', ['test']);
  await alice.submit('/reconnect');
  await until(() => alice.status.phase === 'connected', 'alice to reconnect at once');
  await alice.submit('typed after');
  await until(() => texts(bob, 'test').length === 3, 'bob to get all three');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(texts(bob, 'test'), ['typed while away', 'waves while away', 'typed after'], 'in order, each once');
  await until(() => texts(alice, 'test').length === 3, 'alice to see her own three');
  t.same(texts(alice, 'test'), ['typed while away', 'waves while away', 'typed after']);
  t.equal(room.entries.filter((e) => e.kind === 'queued').length, 0, 'the queued lines made way for the sent ones');
  t.equal(alice.queued, 0);
  await alice.submit('/reconnect');
  t.match(room.entries.at(-1), { kind: 'info', text: `Connected to 127.0.0.1:${port} already.` });

  const backoff = new Backoff(DEFAULT_BACKOFF, () => 0);
  const delays = Array.from({ length: 30 }, () => backoff.next());
  t.equal(Math.max(...delays), 5000, 'the default back-off is capped at 5 s');
});

t.test('reconnect after the server restarts: new numbering is detected, nothing lost, nothing twice', async (t) => {
  const first = new ChatServer({});
  const { port } = await first.listen(0, '127.0.0.1');
  t.teardown(() => first.close());
  const alice = await connectClient(t, port, 'alice', ['test'], { backoff: quick });
  const bob = await connectClient(t, port, 'bob', ['test'], { backoff: { initialMs: 700, maxMs: 700, jitter: 0 } });
  await alice.submit('before 1');
  await alice.submit('before 2');
  await alice.submit('before 3');
  await until(() => texts(bob, 'test').length === 3, 'bob to see three');
  await first.close();
  const second = new ChatServer({});
  await second.listen(port, '127.0.0.1');
  t.teardown(() => second.close());
  await until(() => alice.status.phase === 'connected', 'alice to reconnect');
  t.equal(bob.status.phase, 'reconnecting', 'bob is still waiting to retry');
  await alice.submit('during: sent before bob is back');
  await until(() => bob.status.phase === 'connected', 'bob to reconnect', 5000);
  await alice.submit('after');
  await until(() => texts(bob, 'test').includes('after'), 'bob to see "after"');
  t.same(texts(bob, 'test'), ['before 1', 'before 2', 'before 3', 'during: sent before bob is back', 'after']);
  t.same(texts(alice, 'test'), ['before 1', 'before 2', 'before 3', 'during: sent before bob is back', 'after']);
});

t.test('scrolling above the log loads older pages of history from the server', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-client-history-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { port } = await serve(t, { dataDir, historyPerRoom: 5 });
  const bob = await connectClient(t, port, 'bob', ['test']);
  for (let i = 1; i <= 12; i++) await bob.submit(`m${i}`);
  const alice = await connectClient(t, port, 'alice', ['test']);
  const room = alice.state.room('test')!;
  t.same(texts(alice, 'test'), ['m8', 'm9', 'm10', 'm11', 'm12'], 'a late joiner gets the last page');
  t.equal(await alice.loadOlder(room, 4), 4);
  t.same(texts(alice, 'test'), ['m4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12']);
  t.equal(await alice.loadOlder(room, 4), 3);
  t.same(texts(alice, 'test'), Array.from({ length: 12 }, (_, i) => `m${i + 1}`));
  t.equal(room.moreHistory, false);
  t.equal(await alice.loadOlder(room), 0);
});

t.test('a scripted raw peer: lines split anywhere (inside UTF-8 too), garbage, ping, then an abrupt close', async (t) => {
  const received: string[] = [];
  const { port, sockets } = await scriptedPeer(t, (socket, request) => {
    received.push(request.type);
    if (request.type === 'hello') {
      const bytes = Buffer.from(JSON.stringify({ type: 'welcome', nick: 'alice', server: 'scripted', proto: 1, motd: '', id: request.id }) + '\n');
      for (let i = 0; i < bytes.length; i++) socket.write(bytes.subarray(i, i + 1));
    } else if (request.type === 'join') {
      const ts = new Date().toISOString();
      const msg = Buffer.from(JSON.stringify({ type: 'msg', room: 'test', from: 'bob', text: '你好，世界 😀', ts, seq: 1 }) + '\n');
      const cut = msg.indexOf(Buffer.from('好')) + 1; // inside the three bytes of 好
      socket.write(JSON.stringify({ type: 'join', room: 'test', nick: 'alice', ts }) + '\n');
      socket.write(JSON.stringify({ type: 'members', room: 'test', nicks: ['alice', 'bob'], id: request.id }) + '\nnot json at all\n{"no":"type"}\n');
      socket.write(Buffer.concat([msg.subarray(0, cut)]));
      setTimeout(() => {
        socket.write(Buffer.concat([msg.subarray(cut), Buffer.from('{"type":"ping","ts":"x"}\n')]));
      }, 20);
    }
  });
  const alice = await connectClient(t, port, 'alice', ['test'], { backoff: { initialMs: 5000, maxMs: 5000, jitter: 0 } });
  await until(() => texts(alice, 'test').length === 1, 'the split message');
  t.same(texts(alice, 'test'), ['你好，世界 😀']);
  await until(() => received.includes('pong'), 'a pong for the ping');
  t.equal(alice.attachToken, null, 'a welcome without a token');
  await alice.submit(`/send ${join(process.cwd(), 'package.json')}`);
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: /^This server cannot take file transfers beside the chat/ });
  t.equal(alice.transfers.list.length, 0);
  for (const socket of sockets) socket.destroy();
  await until(() => alice.status.phase === 'reconnecting', 'the client to notice the close');
  t.match(alice.state.room('test')!.entries.at(-1), { kind: 'error', text: /^Disconnected .*reconnecting/ });
});

t.test('chat send: exits 0 once echoed; private with --to; errors have exit codes and words', async (t) => {
  const { port } = await serve(t);
  const bob = await connectClient(t, port, 'bob', ['test']);
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1' };
  let io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send', 'test', 'build', 'passed', ':tada:', '--nick', 'ci'], io), ExitCode.ok, io.stderr.text);
  await until(() => texts(bob, 'test').includes('build passed 🎉'), 'bob to get the message');
  io = fakeIo({ ...env, CHAT_NICK: 'ci' });
  t.equal(await main(['node', 'chat', 'send', '--to', 'bob', 'psst'], io), ExitCode.ok, io.stderr.text);
  await until(() => texts(bob, '@ci').includes('psst'), 'bob to get the private message');
  io = fakeIo(env);
  io.stdin.end('from stdin\n');
  t.equal(await main(['node', 'chat', 'send', 'test', '--nick', 'ci'], io), ExitCode.ok, io.stderr.text);
  await until(() => texts(bob, 'test').includes('from stdin'), 'the text read from stdin');

  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send', 'test', 'hi', '--nick', 'bob'], io), ExitCode.nickTaken);
  t.match(io.stderr.text, /the nick bob is taken.*--nick/);
  // A nick nobody chose (the login name) that someone else holds (no chat window of this user kept its session):
  // refused as a chosen one is, and as chat send-file refuses; never sent under another nick.
  await connectClient(t, port, loginNick(), ['elsewhere']);
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send', 'test', 'from a script'], io), ExitCode.nickTaken);
  t.match(io.stderr.text, /is taken/);

  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send', 'no room!', 'hi'], io), ExitCode.usage);
  t.match(io.stderr.text, /bad room name "no room!"/);
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send', '--to', 'nobody', 'hi', '--nick', 'ci'], io), ExitCode.failed);
  t.match(io.stderr.text, /Nobody is connected as "nobody"/);

  const closed = await freePort();
  io = fakeIo({});
  t.equal(await main(['node', 'chat', 'send', 'test', 'hi', '--host', '127.0.0.1', '--port', String(closed)], io), ExitCode.unavailable);
  t.match(io.stderr.text, new RegExp(`no chat-server is running at 127\\.0\\.0\\.1:${closed}.*chat-server --port ${closed}`));
});

t.test('settings from the config file in the user config directory; NO_COLOR; colour only on a terminal', async (t) => {
  const { port } = await serve(t);
  const bob = await connectClient(t, port, 'bob', ['test']);
  const home = mkdtempSync(join(tmpdir(), 'chat-client-config-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, 'chat'));
  writeFileSync(join(home, 'chat', 'config.json'), JSON.stringify({ host: '127.0.0.1', port, nick: 'fromconfig' }));
  let io = fakeIo({ XDG_CONFIG_HOME: home });
  t.equal(await main(['node', 'chat', 'send', 'test', 'configured'], io), ExitCode.ok, io.stderr.text);
  await until(() => bob.state.room('test')!.entries.find((e) => e.text === 'configured'), 'the message');
  t.equal(bob.state.room('test')!.entries.find((e) => e.text === 'configured')!.from, 'fromconfig');

  const lineMode = async (env: Record<string, string>, tty: boolean) => {
    const io = fakeIo({ XDG_CONFIG_HOME: home, ...env });
    io.stdout.isTTY = tty;
    io.stdin.end('colour check\n');
    t.equal(await main(['node', 'chat', 'join', 'test', '--nick', 'painter'], io), ExitCode.ok, io.stderr.text);
    return io.stdout.text;
  };
  t.match(await lineMode({}, true), /\x1b\[/, 'colours on a terminal');
  t.notMatch(await lineMode({ NO_COLOR: '1' }, true), /\x1b/, 'NO_COLOR: none');
  t.notMatch(await lineMode({}, false), /\x1b/, 'none in a pipe');
  io = fakeIo({ XDG_CONFIG_HOME: home, CHAT_PORT: 'http' });
  t.equal(await main(['node', 'chat', 'rooms'], io), ExitCode.usage);
  t.match(io.stderr.text, /CHAT_PORT must be a number/);
});

t.test('chat rooms and chat who', async (t) => {
  const { port } = await serve(t);
  await connectClient(t, port, 'alice', ['test']);
  await connectClient(t, port, 'bob', ['test', 'other']);
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1' };
  let io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'rooms'], io), ExitCode.ok);
  t.same(io.stdout.text.split('\n').filter(Boolean).sort(), ['other  1', 'test   2']);
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'who', 'TEST'], io), ExitCode.ok);
  t.equal(io.stdout.text, 'alice\nbob\n');
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'who', 'test', '--json'], io), ExitCode.ok);
  t.match(JSON.parse(io.stdout.text), { type: 'members', room: 'test', nicks: ['alice', 'bob'] });
});

t.test('chat rooms pads by display width: Chinese room names line up with the others', async (t) => {
  const { port } = await serve(t);
  await connectClient(t, port, 'alice', ['中文房间', 'test', 'a-much-longer-room']);
  await connectClient(t, port, 'bob', ['中文房间', '日本']);
  const io = fakeIo({ CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1' });
  t.equal(await main(['node', 'chat', 'rooms'], io), ExitCode.ok);
  const lines = io.stdout.text.split('\n').filter(Boolean);
  t.equal(lines.length, 4);
  const widths = lines.map((line) => stringWidth(line));
  t.same(widths, widths.map(() => stringWidth('a-much-longer-room  1')), 'every line as wide: the counts are in one column');
  t.ok(lines.some((line) => /^中文房间 {12}2$/.test(line)), '中文房间 is 8 columns wide, padded to 18, then the gap');
});

t.test('chat rooms reads every page of a server with many rooms', async (t) => {
  const { port } = await serve(t, { roomsPageMax: 2 });
  await connectClient(t, port, 'alice', ['a1', 'a2', 'a3', 'a4', 'a5']);
  const io = fakeIo({ CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1' });
  t.equal(await main(['node', 'chat', 'rooms'], io), ExitCode.ok);
  t.same(io.stdout.text.split('\n').filter(Boolean).map((line) => line.split(/ +/)[0]), ['a1', 'a2', 'a3', 'a4', 'a5'], 'all five, in three pages');
});

t.test('chat files ROOM lists a room\'s files for scripts: id, size, sender, name', async (t) => {
  const { port } = await serve(t);
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1' };
  const dir = mkdtempSync(join(tmpdir(), 'chat-files-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '报告.txt'), 'x'.repeat(3000));
  let io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send-file', 'test', join(dir, '报告.txt'), '--nick', 'alice'], io), ExitCode.ok);
  const id = io.stdout.text.trim();
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'files', 'test'], io), ExitCode.ok);
  t.match(io.stdout.text, new RegExp(`^${id}  2\\.9 KiB  alice  报告\\.txt\\n$`));
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'files', 'test', '--json'], io), ExitCode.ok);
  t.match(JSON.parse(io.stdout.text), { type: 'files', room: 'test', files: [{ file: id, name: '报告.txt', size: 3000, from: 'alice' }] });
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'files', 'bad room'], io), ExitCode.usage);
});

t.test('/files lists the files in aligned columns (names of any width)', async (t) => {
  const state = new ClientState(() => Date.UTC(2026, 0, 1, 12));
  const room = state.openRoom('test');
  const files = [
    { name: 'a.txt', size: 12 },
    { name: '照片-国庆.jpg', size: 3_000_000 },
    { name: 'notes with spaces.md', size: 1536 },
  ];
  files.forEach((f, i) => state.noteFile(room, { file: String(i).repeat(22), name: f.name, size: f.size, sha256: 'f'.repeat(64), from: i === 1 ? 'bob' : 'carolina', ts: '2026-01-01T12:00:00Z' }));
  const lines = fileTable(room.files);
  t.equal(lines.length, 3);
  for (const column of ['from ', '000000']) {
    const at = lines.map((line) => stringWidth(line.slice(0, line.indexOf(column) === -1 ? line.search(/\d{22}$/) : line.indexOf(column))));
    t.same(at, at.map(() => at[0]), `"${column}" starts in one column`);
  }
  t.match(lines[1], /^#2 {2}照片-国庆\.jpg {9}2\.9 MiB {2}from bob at \d\d:\d\d {7}1{22}$/);
  t.equal(lines.map((line) => stringWidth(line)).filter((w, _, all) => w === all[0]).length, 3, 'every line as wide');
});

t.test('help names the environment variables and the config file', async (t) => {
  for (const argv of [['--help'], ['join', '--help'], ['send', '--help']]) {
    const io = fakeIo();
    t.equal(await main(['node', 'chat', ...argv], io), ExitCode.ok);
    t.match(io.stdout.text, /CHAT_HOST/);
    t.match(io.stdout.text, /CHAT_PORT/);
    t.match(io.stdout.text, /CHAT_NICK/);
    t.match(io.stdout.text, /config\.json/);
  }
  let io = fakeIo();
  t.equal(await main(['node', 'chat', 'frobnicate'], io), ExitCode.usage);
  io = fakeIo();
  t.equal(await main(['node', 'chat', '--version'], io), ExitCode.ok);
  t.match(io.stdout.text, /^chat \d+\.\d+\.\d+\n$/);
});

t.test('line mode: stdin lines are sent, events printed as plain lines; --json prints protocol lines', async (t) => {
  const { port } = await serve(t);
  const bob = await connectClient(t, port, 'bob', ['test']);
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1', CHAT_NICK: 'script' };
  const io = fakeIo(env);
  const done = main(['node', 'chat', 'join', 'test'], io);
  await until(() => bob.state.room('test')!.members.includes('script'), 'the script to join');
  await bob.submit('hello script \x1b[31mred');
  await until(() => io.stdout.text.includes('<bob> hello script red'), 'bob\'s line');
  io.stdin.write('first line\n/me waves\n');
  io.stdin.end('last line\n');
  t.equal(await done, ExitCode.ok, io.stderr.text);
  t.same(texts(bob, 'test'), ['hello script \x1b[31mred'.replace('\x1b[31m', ''), 'first line', 'waves', 'last line']);
  const lines = io.stdout.text.split('\n').filter(Boolean);
  for (const line of lines) t.match(line, /^\[\d\d:\d\d:\d\d\] /);
  t.ok(lines.includes(lines.find((l) => l.endsWith('<script> first line'))!));
  t.ok(lines.some((l) => l.endsWith('* script waves')));
  t.notMatch(io.stdout.text, /\x1b/, 'no escape sequences in a pipe');

  const json = fakeIo(env);
  json.stdin.end('as json\n');
  t.equal(await main(['node', 'chat', 'join', 'test', '--json'], json), ExitCode.ok, json.stderr.text);
  const events = json.stdout.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  t.ok(events.some((e) => e.type === 'msg' && e.text === 'as json' && e.from === 'script'));
  t.ok(events.some((e) => e.type === 'welcome'));

  const taken = fakeIo({ ...env, CHAT_NICK: 'bob' });
  taken.stdin.end();
  t.equal(await main(['node', 'chat', 'join', 'test'], taken), ExitCode.nickTaken);
  const bad = fakeIo(env);
  bad.stdin.end();
  t.equal(await main(['node', 'chat', 'join', 'a/b'], bad), ExitCode.usage);
  t.match(bad.stderr.text, /bad room name "a\/b"/);
});

t.test('files: the client keeps the attach token; /send is announced from our nick, numbered; /files, /get', async (t) => {
  const { server, port } = await serve(t);
  const dir = mkdtempSync(join(tmpdir(), 'chat-client-files-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const alice = await connectClient(t, port, 'alice', ['test'], { backoff: quick });
  const bob = await connectClient(t, port, 'bob', ['test']);
  const token = alice.attachToken;
  t.type(token, 'string', 'the token of the welcome is kept');

  const bytes = Buffer.alloc(300 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 10)) & 0xff;
  writeFileSync(join(dir, 'photo one.jpg'), bytes);
  const beforeMembers = [...bob.state.room('test')!.members];
  await alice.submit(`/send ${join(dir, 'photo one.jpg')}`);
  t.equal(alice.transfers.list.length, 1, 'the upload runs beside the chat');
  await alice.submit('chat goes on');
  await alice.transfersDone();
  t.equal(alice.transfers.list.length, 0);
  const announced = await until(() => bob.state.room('test')!.entries.find((e) => e.kind === 'file'), 'bob to see the file');
  t.equal(announced.from, 'alice', 'the file is from alice, not from a second nick');
  t.match(announced.text, /^shared photo one\.jpg \(300 KiB\), file \S+$/);
  const number = announced.seq!;
  t.equal(bob.state.room('test')!.files[0]!.number, number, 'numbered by its seq');
  t.same(bob.state.room('test')!.members, beforeMembers, 'the transfer connection did not join the room');
  t.notOk(bob.state.room('test')!.entries.some((e) => e.kind === 'join' && e.from !== 'bob' && e.from !== 'alice'), 'no join from it');
  t.ok(texts(bob, 'test').includes('chat goes on'));
  t.match(alice.state.room('test')!.entries.find((e) => e.kind === 'file'), { self: true, text: /^shared photo one\.jpg/, seq: number });
  t.ok(alice.state.room('test')!.entries.some((e) => e.kind === 'info' && e.text === 'Sent photo one.jpg (300 KiB).'));

  // bob downloads it by number into a directory; a second /get does not overwrite the first.
  await bob.submit(`/get ${number} ${dir}/`);
  await bob.transfersDone();
  const saved = bob.state.room('test')!.entries.filter((e) => e.kind === 'info' && e.text.startsWith('Saved '));
  t.equal(saved.length, 1);
  t.match(saved[0]!.text, `Saved photo one.jpg to ${join(dir, 'photo one (1).jpg')} (300 KiB, sha256 verified).`);
  t.same(readFileSync(join(dir, 'photo one (1).jpg')), bytes, 'identical bytes');

  // /files asks the server: a client that joined later numbers the same file too.
  const carol = await connectClient(t, port, 'carol', ['test'], { downloadDir: dir });
  carol.state.clear(carol.state.room('test')!);
  carol.state.room('test')!.files.length = 0;
  await carol.submit('/files');
  const listed = carol.state.room('test')!.entries.map((e) => e.text);
  t.match(listed[0], 'Files in test (1); /get N [DIR] downloads one:');
  t.match(listed[1], new RegExp(`^ {2}#${number} {2}photo one\\.jpg {2}300 KiB {2}from alice at \\d\\d:\\d\\d {2}\\S+$`));
  const id = carol.state.room('test')!.files[0]!.file;
  await carol.submit(`/get ${id}`);
  await carol.transfersDone();
  t.same(readFileSync(join(dir, 'photo one (2).jpg')), bytes, 'by id, into the default directory');

  // Errors in words.
  await alice.submit(`/send ${join(dir, 'missing.txt')}`);
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: `Cannot send ${join(dir, 'missing.txt')}: no such file or directory.` });
  await alice.submit(`/send ${dir}`);
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: /: it is a directory\.$/ });
  await bob.submit('/get 7');
  t.match(bob.state.active.entries.at(-1), { kind: 'error', text: 'There is no file #7 here; /files lists the files of this buffer.' });
  await bob.submit(`/get ${number} ${join(dir, 'nowhere')}`);
  t.match(bob.state.active.entries.at(-1), { kind: 'error', text: `Cannot save into ${join(dir, 'nowhere')}: no such file or directory.` });
  await bob.submit('/get 0000000000000000000000');
  await bob.transfersDone();
  t.match(bob.state.active.entries.at(-1), { kind: 'error', text: /^Could not download 0000000000000000000000: No file has the id/ });
  bob.state.switchTo('*');
  await bob.submit('/send x');
  t.match(bob.state.active.entries.at(-1), { kind: 'error', text: /Files are shared in a room or a private buffer/ });

  // A private file, from the private buffer; numbered there.
  writeFileSync(join(dir, 'note.txt'), 'just for you\n');
  await alice.submit('/query bob');
  await alice.submit(`/send ${join(dir, 'note.txt')}`);
  await alice.transfersDone();
  const priv = await until(() => bob.state.buffer('@alice')?.entries.find((e) => e.kind === 'file'), 'bob to get the private file');
  t.match(priv, { from: 'alice', text: /^shared #1 note\.txt \(13 B\)/ });
  bob.state.switchTo('@alice');
  await bob.submit('/files');
  t.match(bob.state.active.entries.at(-1), { kind: 'info', text: /^ {2}#1 {2}note\.txt {2}13 B {2}from alice/ });

  // The token changes with a reconnect, and the new one works.
  const session = [...server.sessions].find((s) => s.nick === 'alice' && !s.owner)!;
  session.stream.destroy();
  await until(() => alice.status.phase === 'reconnecting', 'alice to notice');
  await until(() => alice.status.phase === 'connected', 'alice to reconnect');
  t.type(alice.attachToken, 'string');
  t.not(alice.attachToken, token, 'a new token from the new welcome');
  alice.state.switchTo('test');
  await alice.submit(`/send ${join(dir, 'note.txt')}`);
  await alice.transfersDone();
  await until(() => bob.state.room('test')!.files.length === 2, 'the second room file');
  t.equal(bob.state.room('test')!.files[1]!.from, 'alice');
});

t.test('several servers: the client starts on the first that answers and moves on when it goes away', async (t) => {
  const dead = await freePort();
  const a = await serve(t);
  const b = await serve(t);
  const servers = [dead, a.port, b.port].map((port) => ({ host: '127.0.0.1', port }));
  const alice = await connectClient(t, dead, 'alice', ['test'], { servers, backoff: quick });
  t.same(alice.server, { host: '127.0.0.1', port: a.port }, 'the dead server was skipped');
  t.ok(a.server.nicks.owner('alice'), 'alice is on the second server');
  const bob = await connectClient(t, b.port, 'bob', ['test']);
  await a.server.close();
  await until(() => alice.status.phase === 'connected' && alice.server.port === b.port, 'alice to fail over to the third server');
  await bob.submit('hello from b');
  await until(() => texts(alice, 'test').includes('hello from b'), 'alice to hear bob on the new server');
  t.pass('chatting on the next server');
});

t.test('--host takes several servers, with or without ports', async (t) => {
  const { parseServers, resolveOptions } = await import('../src/client/cli/options.js');
  t.same(parseServers('a,b:8001 [::1]:8002 10.0.0.1', 8000), [
    { host: 'a', port: 8000 },
    { host: 'b', port: 8001 },
    { host: '::1', port: 8002 },
    { host: '10.0.0.1', port: 8000 },
  ]);
  t.throws(() => parseServers('a:notaport', 8000), { code: 'bad_config' });
  const options = resolveOptions({ host: 'x:9000,y', port: '7000' }, {}, {});
  t.same(options.servers, [{ host: 'x', port: 9000 }, { host: 'y', port: 7000 }]);
  t.match(options, { host: 'x', port: 9000 });
  t.same(resolveOptions({}, { CHAT_HOST: 'p,q' }, {}).servers.map((s) => s.host), ['p', 'q']);
});

t.test('a closed stdout (| head -1) ends the command quietly with exit 0', async (t) => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const bin = fileURLToPath(new URL('../bin/chat.js', import.meta.url));
  const { port } = await serve(t);
  // The reading end is closed before chat writes anything, as `head -1` closes it after its line.
  const closedReader = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('node', [bin, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CHAT_HOST: '127.0.0.1', CHAT_PORT: String(port), CHAT_NICK: 'piped' },
      });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stderr }));
    });
  for (const args of [['--help'], ['join', 'r', '--json'], ['join', 'r'], ['rooms']]) {
    const { code, stderr } = await closedReader(args);
    t.equal(code, 0, `chat ${args.join(' ')} exits 0`);
    t.equal(stderr, '', `chat ${args.join(' ')} says nothing on stderr`);
  }
});
