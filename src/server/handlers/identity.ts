// Who a connection is: its nick (a guest nick on first need, since a client may join without saying hello), the
// account it is logged in as, and the user a connection acts for.

import { ErrorCode, nickKey, type ClientMessage } from '../../protocol/index.js';
import type { Session } from '../session.js';
import type { ActingUser } from '../state/session-tokens.js';
import { tokenFollows } from './tokens.js';
import type { ServerContext } from './context.js';
import { nickTaken, now } from './replies.js';
import { awayFollowsNick } from './away.js';

/** Give the session a guest nick when it has none yet. */
export async function ensureNick(ctx: ServerContext, session: Session): Promise<void> {
  if (session.nick === '') await ctx.backend.claimGuest(session);
}

/**
 * Take `nick` for the session and announce the change to its rooms. False (after an error reply) when it is
 * taken, registered to an account the session is not logged in as, or the session is logged in (its nick is its
 * account's).
 */
export async function takeNick(ctx: ServerContext, session: Session, nick: string, id: ClientMessage['id']): Promise<boolean> {
  const account = session.account;
  if (account) {
    if (nickKey(nick) === nickKey(account.nick)) return true;
    session.error(ErrorCode.bad_request, `you are logged in as ${account.nick}, whose nick you have; log out to take another`, id);
    return false;
  }
  if (session.nick === nick) return true;
  if (ctx.config.accounts !== 'off' && (await ctx.backend.accounts.find(nick))) {
    session.error(ErrorCode.nick_registered, `the nick ${JSON.stringify(nick)} belongs to an account: log in as it, or choose another`, id);
    return false;
  }
  return changeNick(ctx, session, nick, id);
}

/** Claim `nick` for the session as it now is (a login may have changed who it acts for) and announce the change. */
export async function changeNick(ctx: ServerContext, session: Session, nick: string, id: ClientMessage['id']): Promise<boolean> {
  const old = session.nick;
  if (!(await ctx.backend.claimNick(session, nick))) return session.closed ? false : nickTaken(ctx, session, nick, id);
  await tokenFollows(ctx, session);
  await announceNick(ctx, session, old);
  await awayFollowsNick(ctx, session, old);
  return true;
}

/** A logged-out connection is a guest again, under a new guest nick. */
export async function becomeGuest(ctx: ServerContext, session: Session): Promise<void> {
  const old = session.nick;
  session.account = null;
  session.loginTokenHash = null;
  await ctx.backend.claimGuest(session);
  await tokenFollows(ctx, session);
  await announceNick(ctx, session, old);
  await awayFollowsNick(ctx, session, old);
}

/** Tell the session's rooms (or the session alone, in none) that its nick changed from `old`. */
async function announceNick(ctx: ServerContext, session: Session, old: string): Promise<void> {
  const nick = session.nick;
  if (old === '' || old === nick) return;
  const ts = now();
  if (session.rooms.size === 0) session.send({ type: 'nick', old, nick, ts });
  await Promise.all([...session.rooms].map((room) => ctx.backend.announce(room, { type: 'nick', room, old, nick, ts })));
}

/** The user a connection acts for: itself, or the session it attached to (perhaps another node's). */
export function actingUser(session: Session): ActingUser {
  return session.owner ?? session;
}
