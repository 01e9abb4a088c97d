// `chat register`, `chat login`, `chat passwd`, `chat logout` (docs/protocol.md "Accounts"): the client keeps the
// token the server gives, never the password (core/credentials.ts), and `chat join`, the one-shots and file
// transfers log in with it by themselves.

import { t } from '../text/i18n/index.js';
import type { Command } from 'commander';
import { passwordProblem, type ServerMessage } from '../../protocol/index.js';
import { Connection, type Request } from '../core/connection.js';
import { credentialsPath, readCredential, saveCredential, type Credential } from '../core/credentials.js';
import { ClientError, ExitCode } from '../core/errors.js';
import { logInWithToken } from '../core/handshake.js';
import { checkedNick } from '../core/names.js';
import { expectReply } from '../core/replies.js';
import { problemWords } from '../text/problem-wording.js';
import type { Io } from './io.js';
import type { ConnectOptions } from './options.js';
import { readNewPassword, readPasswords } from './password.js';
import type { TransferCommandContext } from './transfer-commands.js';

/** The options with the login token kept for their server. */
export function withKeptToken(options: ConnectOptions, env: Io['env']): ConnectOptions {
  return { ...options, token: readCredential(credentialsPath(env), options)?.token ?? null };
}

/** The kept token of each server, read when asked (the full-screen client asks at each connection). */
export function keptTokens(env: Io['env']): (server: { host: string; port: number }) => string | null {
  const path = credentialsPath(env);
  return (server) => readCredential(path, server)?.token ?? null;
}

/** Keeps what /register and /login NICK got in the full-screen client, where `chat register` keeps it. */
export function tokenKeeper(env: Io['env']): (server: { host: string; port: number }, credential: Credential | null) => void {
  const path = credentialsPath(env);
  return (server, credential) => saveCredential(path, server, credential);
}

function checkedPassword(password: string): string {
  const problem = passwordProblem(password);
  if (problem) throw new ClientError('bad_config', problemWords(problem));
  return password;
}

/** Connect, send one request, and return its `ok`; the connection is closed after. */
async function requestOk(options: ConnectOptions, request: Request, before?: (conn: Connection) => Promise<void>): Promise<Extract<ServerMessage, { type: 'ok' }>> {
  const conn = await Connection.connect(options.host, options.port);
  try {
    await before?.(conn);
    return expectReply(await conn.request(request), 'ok');
  } finally {
    await conn.quit();
  }
}

export function addAccountCommands(program: Command, context: TransferCommandContext): void {
  const { io } = context;
  const where = (options: ConnectOptions) => `${options.host}:${options.port}`;
  const keep = (options: ConnectOptions, reply: Extract<ServerMessage, { type: 'ok' }>) => {
    if (!reply.account || !reply.token) throw new ClientError('server_error', t('cli.noToken'));
    saveCredential(credentialsPath(io.env), options, { account: reply.account, token: reply.token });
  };
  /** A command with the connection options whose action, given the settings, says what it did on stdout. */
  const command = (name: string, description: string, run: (options: ConnectOptions) => Promise<string>) =>
    context
      .withConnectionOptions(program.command(name).description(description))
      .action((flags: { host?: string; port?: string; nick?: string }) => {
        context.setAction(async () => {
          io.stdout.write(`${await run(context.settings(flags))}\n`);
          return ExitCode.ok;
        });
      });

  command('register', t('cli.register'), async (options) => {
    const nick = checkedNick(options.nick, 'nick');
    const password = checkedPassword(await readNewPassword(io, t('cli.passwordFor', { nick })));
    const reply = await requestOk(options, { type: 'register', nick, password });
    keep(options, reply);
    return t('cli.registered', { account: reply.account ?? nick, where: where(options) });
  });

  command('login', t('cli.login'), async (options) => {
    const nick = checkedNick(options.nick, 'nick');
    const [password] = await readPasswords(io, [t('cli.passwordFor', { nick })]);
    const reply = await requestOk(options, { type: 'login', nick, password: password! });
    keep(options, reply);
    return t('cli.loggedIn', { account: reply.account ?? nick, where: where(options) });
  });

  command('passwd', t('cli.passwd'), async (options) => {
    const token = options.token;
    if (!token) throw new ClientError('bad_config', t('cli.notLoggedIn', { where: where(options) }));
    // On a terminal each is asked; from a script they are the first two lines of stdin.
    const [old, fresh] = io.stdin.isTTY
      ? [(await readPasswords(io, [t('cli.oldPassword')]))[0]!, await readNewPassword(io, t('cli.newPassword'))]
      : await readPasswords(io, ['', '']);
    const reply = await requestOk(options, { type: 'passwd', old: old!, new: checkedPassword(fresh!) }, async (conn) => {
      const login = await logInWithToken(conn, token);
      if (!login.ok) throw new ClientError('server_error', t('cli.tokenRefused', { reason: login.reason }));
    });
    keep(options, reply);
    return t('cli.passwordChanged', { account: reply.account ?? '' });
  });

  command('logout', t('cli.logout'), async (options) => {
    const path = credentialsPath(io.env);
    const kept = readCredential(path, options);
    if (!kept) return t('cli.notLoggedInShort', { where: where(options) });
    const conn = await Connection.connect(options.host, options.port);
    try {
      const reply = await conn.request({ type: 'logout', token: kept.token });
      // Already revoked (a new password, an admin): forgotten here too.
      if (!(reply.type === 'error' && reply.code === 'auth_failed')) expectReply(reply, 'ok');
    } finally {
      await conn.quit();
    }
    saveCredential(path, options, null);
    return t('cli.loggedOut', { account: kept.account, where: where(options) });
  });
}
