// `chat-server accounts …`: accounts from the shell (docs/protocol.md "Accounts"). It opens the data dir's
// accounts.sqlite (or a cluster's Redis, --redis) directly: safe while the server is stopped, and also while it
// runs (SQLite in WAL mode; Redis), though a server that runs keeps logged-in connections logged in.

import { Command, CommanderError } from 'commander';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { nickProblem, passwordProblem } from '../../protocol/index.js';
import { defaultDataDir } from '../config.js';
import { hashPassword } from './secrets.js';
import { SqliteAccountStore } from './sqlite.js';
import type { AccountStore } from './store.js';

export interface AdminIo {
  stdin: Readable & { isTTY?: boolean; fd?: number };
  stdout: Writable;
  stderr: Writable;
}

class AdminError extends Error {}

/** One line of stdin (the password); on a terminal, without echo. */
async function readPassword(io: AdminIo, prompt: string): Promise<string> {
  const terminal = io.stdin.isTTY === true;
  if (terminal) {
    io.stderr.write(prompt);
    spawnSync('stty', ['-echo'], { stdio: ['inherit', 'ignore', 'ignore'] });
  }
  try {
    let text = '';
    for await (const chunk of io.stdin) {
      text += String(chunk);
      if (text.includes('\n')) break;
    }
    return text.split('\n')[0]!.replace(/\r$/, '');
  } finally {
    if (terminal) {
      spawnSync('stty', ['echo'], { stdio: ['inherit', 'ignore', 'ignore'] });
      io.stderr.write('\n');
    }
  }
}

async function newPassword(io: AdminIo, nick: string): Promise<string> {
  const password = await readPassword(io, `New password for ${nick}: `);
  const problem = passwordProblem(password);
  if (problem) throw new AdminError(problem);
  return password;
}

/** Where the accounts are: a data dir's accounts.sqlite, or a cluster's Redis. */
type Where = { dataDir?: string; redis?: string };

async function openStore(options: Where): Promise<{ store: AccountStore; close(): Promise<void> }> {
  if (options.redis) {
    const { Redis } = await import('ioredis');
    const redis = new Redis(options.redis, { maxRetriesPerRequest: 1 });
    const { RedisAccountStore } = await import('../cluster/accounts.js');
    return { store: new RedisAccountStore(() => redis), close: async () => void (await redis.quit()) };
  }
  const store = new SqliteAccountStore(join(options.dataDir ?? defaultDataDir(), 'accounts.sqlite'));
  return { store, close: async () => store.close() };
}

function program(io: AdminIo, run: (action: (store: AccountStore) => Promise<void>, options: Where) => void): Command {
  const where = (command: Command) =>
    command
      .option('--data-dir <path>', `the server's data dir, where accounts.sqlite is (default ${defaultDataDir()})`)
      .option('--redis <url>', "a cluster's Redis instead of a data dir");
  const checkedNick = (nick: string) => {
    const problem = nickProblem(nick);
    if (problem) throw new AdminError(`bad nick ${JSON.stringify(nick)}: ${problem}`);
    return nick;
  };
  const root = new Command('chat-server accounts')
    .description('Manage accounts from the shell. Safe while the server is stopped; a running server keeps connections that are logged in.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .addHelpText('after', '\nPasswords are read from stdin, one line (without echo on a terminal):\n  printf \'%s\\n\' "$PASSWORD" | chat-server accounts add alice --data-dir /var/lib/chat');
  where(root.command('list').description('list the accounts, one nick a line, with when each was registered')).action((options) =>
    run(async (store) => {
      for (const account of await store.list()) io.stdout.write(`${account.nick}\t${account.created}\n`);
    }, options),
  );
  where(
    root.command('add').description('create an account owning NICK (password from stdin)').argument('<nick>').option('--admin', 'a server admin: may run every room'),
  ).action((nick: string, options) =>
    run(async (store) => {
      checkedNick(nick);
      const hash = await hashPassword(await newPassword(io, nick));
      if (!(await store.create(nick, hash))) throw new AdminError(`${nick} already has an account`);
      if (options.admin) await store.setAdmin(nick, true);
      io.stdout.write(`account ${nick} created${options.admin ? ' (server admin)' : ''}\n`);
    }, options),
  );
  where(
    root.command('admin').description('make NICK a server admin, who may run every room (--remove: no longer)').argument('<nick>').option('--remove', 'no longer an admin'),
  ).action((nick: string, options) =>
    run(async (store) => {
      if (!(await store.setAdmin(nick, !options.remove))) throw new AdminError(`no account owns ${nick}`);
      io.stdout.write(`${nick} is ${options.remove ? 'no longer' : 'now'} a server admin\n`);
    }, options),
  );
  where(root.command('remove').description("delete NICK's account and its login tokens").argument('<nick>')).action((nick: string, options) =>
    run(async (store) => {
      if (!(await store.remove(nick))) throw new AdminError(`no account owns ${nick}`);
      io.stdout.write(`account ${nick} removed\n`);
    }, options),
  );
  where(
    root.command('reset-password').description("set NICK's password (from stdin) and revoke every login token of it").argument('<nick>'),
  ).action((nick: string, options) =>
    run(async (store) => {
      const account = await store.find(nick);
      if (!account) throw new AdminError(`no account owns ${nick}`);
      await store.setPassword(account, await hashPassword(await newPassword(io, account.nick)));
      await store.revokeAll(account);
      io.stdout.write(`password of ${account.nick} reset; its clients must log in again\n`);
    }, options),
  );
  for (const sub of root.commands) sub.exitOverride().configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });
  return root;
}

/** `chat-server accounts ARGS`: resolves with the exit code (0 done, 1 failed, 2 bad usage). */
export async function runAccountsAdmin(args: string[], io: AdminIo): Promise<number> {
  let pending: Promise<void> | null = null;
  const run = (action: (store: AccountStore) => Promise<void>, options: Where) => {
    pending = (async () => {
      const { store, close } = await openStore(options);
      try {
        await action(store);
      } finally {
        await close();
      }
    })();
  };
  try {
    program(io, run).parse(args, { from: 'user' });
    if (!pending) {
      io.stderr.write('usage: chat-server accounts list|add|remove|reset-password|admin [NICK] [--data-dir DIR]\n');
      return 2;
    }
    await pending;
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.stderr.write(`chat-server accounts: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
