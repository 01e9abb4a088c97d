// Accounts (docs/protocol.md "Accounts"): register, login, logout, passwd, and what --accounts required lets a
// guest do. Passwords are hashed (accounts/secrets.ts) and never logged or repeated; a failed login says only
// auth_failed, whatever was wrong, and failures are throttled per nick and per address (accounts/throttle.ts).

import { ErrorCode, nickKey, type ClientMessage, type ClientType } from '../../protocol/index.js';
import { hashPassword, hashToken, newToken, verifyPassword } from '../accounts/secrets.js';
import type { Account } from '../accounts/store.js';
import { addressThrottleKey, nickThrottleKey } from '../accounts/throttle.js';
import type { Session } from '../session.js';
import type { Handler, ServerContext } from './context.js';
import { actingUser, becomeGuest, changeNick } from './identity.js';
import { deliverWaiting } from './private.js';
import { nickTaken } from './replies.js';

/**
 * What a connection may do before it logs in when the server has --accounts required. An attached connection acts
 * for the connection it attached to: logged in when that one is.
 */
const OPEN_TO_GUESTS = new Set<ClientType>(['hello', 'register', 'login', 'attach', 'ping', 'pong', 'quit']);

/**
 * With --accounts required, refuse what a guest may not do (auth_required); true when refused. A refused upload's
 * bytes are skipped.
 */
export function refusedToGuest(ctx: ServerContext, session: Session, message: ClientMessage): boolean {
  if (ctx.config.accounts !== 'required' || actingUser(session).account || OPEN_TO_GUESTS.has(message.type)) return false;
  session.error(ErrorCode.auth_required, 'this server needs an account: {"type":"login","nick":…,"password":…} or register first', message.id);
  if (message.type === 'upload') session.skipRaw(message.size - (message.offset ?? 0));
  return true;
}

/** False after an error reply when the server has no accounts, or the connection acts for another (attached). */
function accountsOpen(ctx: ServerContext, session: Session, id: ClientMessage['id']): boolean {
  if (ctx.config.accounts === 'off') {
    session.error(ErrorCode.accounts_off, 'this server has no accounts (--accounts off): choose a nick with hello', id);
    return false;
  }
  if (session.owner) {
    session.error(ErrorCode.bad_request, 'an attached connection acts for the connection it attached to', id);
    return false;
  }
  return true;
}

function authFailed(session: Session, id: ClientMessage['id']): void {
  session.error(ErrorCode.auth_failed, 'wrong nick, password or token', id);
}

/** False after an auth_throttled reply when the keys have failed too often lately. */
async function notThrottled(ctx: ServerContext, session: Session, keys: string[], id: ClientMessage['id']): Promise<boolean> {
  const wait = await ctx.backend.loginThrottle.wait(keys);
  if (wait <= 0) return true;
  session.error(ErrorCode.auth_throttled, `too many failed logins: try again in ${Math.ceil(wait / 1000)} s`, id);
  return false;
}

/** Act as `account` from now on, under its nick (announced like a nick change). False after an error reply. */
async function logIn(ctx: ServerContext, session: Session, account: Account, tokenHash: string, id: ClientMessage['id']): Promise<boolean> {
  const before = session.account;
  session.account = account;
  if (!(await changeNick(ctx, session, account.nick, id))) {
    session.account = before;
    return false;
  }
  session.loginTokenHash = tokenHash;
  ctx.log.info({ conn: session.id, account: account.nick }, 'logged in');
  return true;
}

/** A new token for the account, kept hashed; the token itself goes to the client once. */
async function issueToken(ctx: ServerContext, account: Account): Promise<{ token: string; tokenHash: string }> {
  const token = newToken();
  const tokenHash = hashToken(token);
  await ctx.backend.accounts.addToken(account, tokenHash);
  return { token, tokenHash };
}

const register: Handler<'register'> = async (ctx, session, { nick, password, id }) => {
  if (!accountsOpen(ctx, session, id)) return;
  if (session.account) {
    session.error(ErrorCode.bad_request, `you are logged in as ${session.account.nick}: log out before registering another account`, id);
    return;
  }
  if (nickKey(nick).startsWith('guest-')) {
    // The server hands guest-N nicks out by itself: one owned by an account could be given to a guest.
    session.error(ErrorCode.bad_nick, 'guest-… nicks are for guests: register another nick', id);
    return;
  }
  const { accounts } = ctx.backend;
  const registered = () => session.error(ErrorCode.nick_registered, `the nick ${JSON.stringify(nick)} already has an account`, id);
  if (await accounts.find(nick)) return registered();
  const holder = await ctx.backend.lookup(nick);
  if (holder && holder.principal !== session.principal) return void nickTaken(ctx, session, nick, id);
  const account = await accounts.create(nick, await hashPassword(password));
  if (!account) return registered();
  ctx.log.info({ conn: session.id, account: account.nick }, 'account registered');
  const { token, tokenHash } = await issueToken(ctx, account);
  if (!(await logIn(ctx, session, account, tokenHash, id))) return;
  session.reply(id, { type: 'ok', account: account.nick, token });
};

const login: Handler<'login'> = async (ctx, session, { nick, password, token, id }) => {
  if (!accountsOpen(ctx, session, id)) return;
  const keys = [addressThrottleKey(session.address.key), ...(nick !== undefined ? [nickThrottleKey(nickKey(nick))] : [])];
  if (!(await notThrottled(ctx, session, keys, id))) return;
  const { accounts } = ctx.backend;
  let account: Account | null = null;
  let issued: { token: string; tokenHash: string } | null = null;
  let tokenHash = '';
  if (token !== undefined) {
    tokenHash = hashToken(token);
    account = await accounts.tokenAccount(tokenHash);
  } else {
    const record = await accounts.find(nick!);
    // Checked against a decoy when there is no such account: a wrong nick takes as long as a wrong password.
    if ((await verifyPassword(password!, record?.passwordHash)) && record) account = record;
  }
  if (!account) {
    await ctx.backend.loginThrottle.failed(keys);
    ctx.log.info({ conn: session.id, remote: session.remote }, 'login failed');
    return authFailed(session, id);
  }
  if (nick !== undefined) await ctx.backend.loginThrottle.succeeded(nickThrottleKey(nickKey(nick)));
  if (token === undefined) {
    issued = await issueToken(ctx, { id: account.id, nick: account.nick });
    tokenHash = issued.tokenHash;
  }
  if (!(await logIn(ctx, session, { id: account.id, nick: account.nick }, tokenHash, id))) return;
  session.reply(id, { type: 'ok', account: account.nick, ...(issued && { token: issued.token }) });
  await deliverWaiting(ctx, session);
};

const logout: Handler<'logout'> = async (ctx, session, { token, id }) => {
  if (!accountsOpen(ctx, session, id)) return;
  const tokenHash = token !== undefined ? hashToken(token) : session.loginTokenHash;
  if (tokenHash === null) {
    session.error(ErrorCode.bad_request, 'you are not logged in; {"type":"logout","token":…} revokes a token', id);
    return;
  }
  const revoked = await ctx.backend.accounts.revokeToken(tokenHash);
  if (token !== undefined && !revoked) return authFailed(session, id);
  if (tokenHash === session.loginTokenHash) {
    ctx.log.info({ conn: session.id, account: session.account?.nick }, 'logged out');
    await becomeGuest(ctx, session);
  }
  if (id !== undefined) session.send({ type: 'ok', id });
};

const passwd: Handler<'passwd'> = async (ctx, session, { old, new: password, id }) => {
  if (!accountsOpen(ctx, session, id)) return;
  const account = session.account;
  if (!account) {
    session.error(ErrorCode.auth_required, 'log in first: passwd changes the password of the account you are logged in as', id);
    return;
  }
  const keys = [addressThrottleKey(session.address.key), nickThrottleKey(nickKey(account.nick))];
  if (!(await notThrottled(ctx, session, keys, id))) return;
  const { accounts } = ctx.backend;
  const record = await accounts.find(account.nick);
  if (!record || record.id !== account.id || !(await verifyPassword(old, record.passwordHash))) {
    await ctx.backend.loginThrottle.failed(keys);
    return authFailed(session, id);
  }
  await accounts.setPassword(account, await hashPassword(password));
  // A new password logs out every other client: whoever knew the old one may have made tokens with it.
  await accounts.revokeAll(account);
  const { token, tokenHash } = await issueToken(ctx, account);
  session.loginTokenHash = tokenHash;
  ctx.log.info({ conn: session.id, account: account.nick }, 'password changed');
  session.reply(id, { type: 'ok', account: account.nick, token });
};

export const accountHandlers = { register, login, logout, passwd };
