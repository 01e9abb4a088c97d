// Accounts beyond the wire: tokens that survive a restart (accounts.sqlite in the data dir), `chat-server
// accounts` from the shell, and the client's `chat register/login/passwd/logout` with the token it keeps.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../src/client/cli/cli.js';
import { ExitCode } from '../src/client/core/errors.js';
import { runAccountsAdmin } from '../src/server/accounts/admin.js';
import { Captured, connectClient, fakeIo, serve, texts, until } from './helpers/client-harness.js';
import { startRedis } from './helpers/redis.js';
import { Peer, startServer, type Event } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';
const BIN = fileURLToPath(new URL('../bin/chat-server.js', import.meta.url));

function tempDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function connect(t: { teardown(fn: () => void): void }, port: number): Promise<Peer> {
  const p = await Peer.connect(port);
  t.teardown(() => p.destroy());
  return p;
}

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

async function admin(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = { stdin: new PassThrough(), stdout: new Captured(), stderr: new Captured() };
  io.stdin.end(stdin);
  const code = await runAccountsAdmin(args, io);
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

t.test('accounts and tokens survive a server restart (accounts.sqlite in the data dir), hashed', async (t) => {
  const dataDir = tempDir(t, 'chat-accounts-');
  let { server, port } = await startServer({ dataDir });
  const alice = await connect(t, port);
  const { token } = await ask(alice, { type: 'register', nick: 'alice', password: PASSWORD, id: 1 });
  await server.close();
  ({ server, port } = await startServer({ dataDir }));
  t.teardown(() => server.close());
  const again = await connect(t, port);
  t.match(await ask(again, { type: 'login', token, id: 2 }), { type: 'ok', account: 'alice' });
  const eve = await connect(t, port);
  t.match(await ask(eve, { type: 'hello', nick: 'alice', id: 3 }), { type: 'error', code: 'nick_registered' });
  const stored = readFileSync(join(dataDir, 'accounts.sqlite')).toString('latin1');
  t.notOk(stored.includes(PASSWORD) || stored.includes(token), 'neither the password nor the token is stored as it is');
});

t.test('chat-server accounts: add, list, reset-password, remove (password from stdin)', async (t) => {
  const dataDir = tempDir(t, 'chat-admin-');
  t.match(await admin(['add', 'alice', '--data-dir', dataDir], 'short\n'), { code: 1, stderr: /at least 8/ });
  t.match(await admin(['add', 'alice', '--data-dir', dataDir], `${PASSWORD}\n`), { code: 0, stdout: /alice created/ });
  t.match(await admin(['add', 'ALICE', '--data-dir', dataDir], `${PASSWORD}\n`), { code: 1, stderr: /already has an account/ });
  t.match(await admin(['add', 'bob', '--data-dir', dataDir], `${PASSWORD}\n`), { code: 0 });
  t.match(await admin(['list', '--data-dir', dataDir]), { code: 0, stdout: /^alice\t\S+\nbob\t\S+\n$/ });
  t.match(await admin(['frobnicate']), { code: 2 });

  const { server, port } = await startServer({ dataDir });
  t.teardown(() => server.close());
  const first = await connect(t, port);
  const { token } = await ask(first, { type: 'login', nick: 'alice', password: PASSWORD, id: 1 });
  t.ok(token, 'the server accepts an account added from the shell');
  t.match(await admin(['reset-password', 'alice', '--data-dir', dataDir], 'a new password\n'), { code: 0 });
  const second = await connect(t, port);
  t.match(await ask(second, { type: 'login', token, id: 2 }), { type: 'error', code: 'auth_failed' }, 'its tokens are revoked');
  t.match(await ask(second, { type: 'login', nick: 'alice', password: 'a new password', id: 3 }), { type: 'ok' });
  t.match(await admin(['remove', 'bob', '--data-dir', dataDir]), { code: 0, stdout: /bob removed/ });
  t.match(await admin(['remove', 'bob', '--data-dir', dataDir]), { code: 1, stderr: /no account/ });
  const third = await connect(t, port);
  t.match(await ask(third, { type: 'hello', nick: 'bob', id: 4 }), { type: 'welcome', nick: 'bob' }, 'a removed account\'s nick is free');

  const listed = await new Promise<string>((resolve) =>
    execFile('node', [BIN, 'accounts', 'list', '--data-dir', dataDir], (_error, stdout) => resolve(stdout)),
  );
  t.match(listed, /^alice\t/, 'the real binary runs it too');
});

t.test('chat-server accounts --redis: a cluster\'s accounts, which every node accepts', async (t) => {
  const redis = await startRedis(t);
  t.match(await admin(['add', 'alice', '--redis', redis.url], `${PASSWORD}\n`), { code: 0 });
  t.match(await admin(['list', '--redis', redis.url]), { code: 0, stdout: /^alice\t/ });
  const { server, port } = await startServer({ redisUrl: redis.url, dataDir: tempDir(t, 'chat-redis-') });
  t.teardown(() => server.close());
  const p = await connect(t, port);
  const { token } = await ask(p, { type: 'login', nick: 'alice', password: PASSWORD, id: 1 });
  t.ok(token);
  t.match(await admin(['reset-password', 'alice', '--redis', redis.url], 'another password\n'), { code: 0 });
  t.match(await ask(p, { type: 'login', token, id: 2 }), { type: 'error', code: 'auth_failed' }, 'its tokens are revoked');
  t.match(await admin(['remove', 'alice', '--redis', redis.url]), { code: 0 });
  t.equal((await admin(['list', '--redis', redis.url])).stdout, '', 'no accounts left');
  t.match(await ask(p, { type: 'login', nick: 'alice', password: 'another password', id: 3 }), { type: 'error', code: 'auth_failed' });
});

t.test('/register and /login NICK in the chat window: the password is asked as a secret, the token kept', async (t) => {
  const { port } = await serve(t);
  const kept: { server: string; account: string; token: string }[] = [];
  const keepToken = (server: { host: string; port: number }, credential: { account: string; token: string } | null) =>
    credential && kept.push({ server: `${server.host}:${server.port}`, ...credential });
  /** A client whose view answers each secret asked with the next of `typed` (null: Escape). */
  const withAnswers = async (nick: string) => {
    const client = await connectClient(t, port, nick, ['test'], { keepToken });
    const typed: (string | null)[] = [];
    const prompts: string[] = [];
    client.secrets.setAsker((question) => {
      prompts.push(question.prompt);
      const answer = typed.shift();
      setImmediate(() => (answer === undefined || answer === null ? question.cancel() : question.answer(answer)));
    });
    return { client, typed, prompts, last: () => client.state.active.entries.at(-1)?.text };
  };

  const alice = await withAnswers('alice');
  alice.typed.push(PASSWORD, 'something else');
  await alice.client.submit('/register');
  t.match(alice.last(), /not the same; nothing was sent/);
  alice.typed.push(PASSWORD);
  await alice.client.submit('/register');
  t.match(alice.last(), /Cancelled; nothing was sent/);
  t.same(kept, []);
  alice.typed.push('short');
  await alice.client.submit('/register');
  t.match(alice.last(), /at least 8/);
  alice.typed.push(PASSWORD, PASSWORD);
  await alice.client.submit('/register');
  t.same(alice.prompts.slice(-2), ['Password for alice:', 'Again:']);
  t.equal(alice.last(), 'Registered and logged in as alice.');
  t.match(kept, [{ server: `127.0.0.1:${port}`, account: 'alice', token: /^[A-Za-z0-9_-]{43}$/ }]);
  t.notOk(alice.client.state.buffers.some((b) => b.entries.some((e) => e.text.includes(PASSWORD))), 'the password is shown nowhere');

  const bob = await withAnswers('bob');
  bob.typed.push(PASSWORD, PASSWORD);
  await bob.client.submit('/register alice');
  t.match(bob.last(), /already has an account/, 'nick_registered in words');
  bob.typed.push('wrong password');
  await bob.client.submit('/login alice');
  t.match(bob.last(), /wrong nick, password or token/i);
  bob.typed.push(PASSWORD);
  await bob.client.submit('/login alice');
  t.equal(bob.last(), 'Logged in as alice.');
  t.equal(bob.client.state.nick, 'alice');
  t.equal(kept.length, 2);

  // Line mode has no way to ask without echo: it says where to register instead.
  const line = await connectClient(t, port, 'carol', ['test']);
  await line.submit('/login carol');
  t.match(line.state.active.entries.at(-1)?.text, /Passwords cannot be typed here/);
});

t.test('chat register, login, passwd and logout keep the token (mode 0600), never the password', async (t) => {
  const { port } = await serve(t);
  const config = tempDir(t, 'chat-config-');
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1', XDG_CONFIG_HOME: config };
  const tokens = join(config, 'chat', 'tokens.json');
  const run = async (args: string[], stdin?: string) => {
    const io = fakeIo(env);
    if (stdin !== undefined) io.stdin.end(stdin);
    const code = await main(['node', 'chat', ...args], io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  t.match(await run(['register', '--nick', 'alice'], 'short\n'), { code: ExitCode.usage, stderr: /at least 8/ });
  t.match(await run(['register', '--nick', 'alice'], `${PASSWORD}\n`), { code: ExitCode.ok, stdout: /Registered alice/ });
  t.equal(statSync(tokens).mode & 0o777, 0o600, 'the token file is the user\'s alone');
  const kept = JSON.parse(readFileSync(tokens, 'utf8'))[`127.0.0.1:${port}`];
  t.match(kept, { account: 'alice', token: /^[A-Za-z0-9_-]{43}$/ });
  t.notOk(readFileSync(tokens, 'utf8').includes(PASSWORD));

  // The full-screen client logs in with the kept token; a one-shot beside it shares the nick instead of clashing.
  const bob = await connectClient(t, port, 'bob', ['test']);
  const tui = await connectClient(t, port, 'someone', ['test'], { loginToken: () => kept.token });
  t.equal(tui.state.nick, 'alice');
  t.match(await run(['send', 'test', 'from the shell']), { code: ExitCode.ok });
  t.match(await run(['send', '--to', 'bob', 'psst']), { code: ExitCode.ok });
  await until(() => texts(bob, 'test').includes('from the shell'), 'bob to see the message');
  t.equal(bob.state.room('test')!.entries.find((e) => e.text === 'from the shell')!.from, 'alice');
  await until(() => texts(bob, '@alice').includes('psst'), 'the private message from alice');
  await bob.submit('/msg alice hello both');
  await until(() => texts(tui, '@bob').includes('hello both'), 'the full-screen client to get it');

  // In the full-screen client: /register says how, /login uses the token `chat register` kept.
  let carolToken: string | null = null;
  const carol = await connectClient(t, port, 'carol', ['test'], { loginToken: () => carolToken });
  await carol.submit('/register');
  t.match(carol.state.active.entries.at(-1)?.text, /chat register --nick NAME in a shell/);
  await carol.submit('/login');
  t.match(carol.state.active.entries.at(-1)?.text, /No login token is kept/);
  const carolEnv = { ...env, XDG_CONFIG_HOME: tempDir(t, 'chat-carol-') };
  const io = fakeIo(carolEnv);
  io.stdin.end(`${PASSWORD}\n`);
  t.equal(await main(['node', 'chat', 'register', '--nick', 'carol2'], io), ExitCode.ok, io.stderr.text);
  carolToken = JSON.parse(readFileSync(join(carolEnv.XDG_CONFIG_HOME, 'chat', 'tokens.json'), 'utf8'))[`127.0.0.1:${port}`].token;
  await carol.submit('/login');
  t.match(carol.state.active.entries.at(-1)?.text, 'Logged in as carol2.');
  t.equal(carol.state.nick, 'carol2');

  t.match(await run(['login', '--nick', 'alice'], 'wrong password\n'), { code: ExitCode.failed, stderr: /wrong nick, password or token/i });
  t.match(await run(['login', '--nick', 'alice'], `${PASSWORD}\n`), { code: ExitCode.ok, stdout: /Logged in as alice/ });
  t.match(await run(['passwd'], `${PASSWORD}\nnew password here\n`), { code: ExitCode.ok, stdout: /changed/ });
  t.match(await run(['send', 'test', 'after passwd']), { code: ExitCode.ok }, 'the new token was kept');
  const renewed = JSON.parse(readFileSync(tokens, 'utf8'))[`127.0.0.1:${port}`].token as string;
  t.match(await run(['logout']), { code: ExitCode.ok, stdout: /Logged out of alice/ });
  t.same(JSON.parse(readFileSync(tokens, 'utf8')), {}, 'forgotten here');
  const guest = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send', 'test', 'as alice?', '--nick', 'alice'], guest), ExitCode.nickTaken, 'a guest cannot take alice');
  t.match(guest.stderr.text, /belongs to an account/);
  const peer = await connect(t, port);
  t.match(await ask(peer, { type: 'login', token: renewed, id: 1 }), { type: 'error', code: 'auth_failed' }, 'and revoked on the server');
});
