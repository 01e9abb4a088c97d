// Accounts beyond the wire: tokens that survive a restart (accounts.sqlite in the data dir), and `chat-server
// accounts` from the shell.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runAccountsAdmin } from '../src/server/accounts/admin.js';
import { Captured } from './helpers/client-harness.js';
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
