// Away marks (docs/protocol.md "Running a room"). A mark is its principal's (state/principals.ts): an account's,
// shared by every connection of the account, or one guest connection's. It is kept under the nick the principal
// holds and moves with a guest that changes nick; it ends with `back`, with the guest's connection, or with the
// account's last connection. A mark counts only while its principal still holds the nick, so one left behind (a
// node that died) never passes to whoever takes the nick next.

import { nickKey } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { isAccountPrincipal } from '../state/principals.js';
import type { ServerContext } from './context.js';

/** Whether `principal` holds `nick` now (on any node). */
async function holds(ctx: ServerContext, nick: string, principal: string): Promise<boolean> {
  return (await ctx.backend.lookup(nick))?.principal === principal;
}

/** The nicks among `nicks` whose holders are away now. */
export async function awayAmong(ctx: ServerContext, nicks: string[]): Promise<string[]> {
  const marks = await ctx.backend.moderation.awayOf(nicks);
  const away: string[] = [];
  for (const [i, mark] of marks.entries()) {
    if (mark && (await holds(ctx, nicks[i]!, mark.principal))) away.push(nicks[i]!);
  }
  return away;
}

/** The away message of `user` (the user a connection acts for), or null when it is not away. */
export async function awayMessageOf(ctx: ServerContext, user: Pick<Session, 'nick' | 'principal'>): Promise<string | null> {
  const [mark] = await ctx.backend.moderation.awayOf([user.nick]);
  return mark?.principal === user.principal ? mark.message : null;
}

/**
 * `principal` may no longer hold `nick`: its mark there ends, a guest's at once (its connection is over or it is
 * someone else now), an account's once no connection of it holds the nick any more.
 */
async function markEnds(ctx: ServerContext, nick: string, principal: string): Promise<void> {
  if (isAccountPrincipal(principal) && (await holds(ctx, nick, principal))) return;
  await ctx.backend.moderation.clearAway(nick, principal);
}

/** A connection closed: its mark ends when it was a guest's, or its account's last connection. */
export async function wentAway(ctx: ServerContext, session: Session): Promise<void> {
  if (session.nick === '' || session.owner) return;
  try {
    await markEnds(ctx, session.nick, session.principal);
  } catch {
    // Redis away: the mark stays behind, and counts for nobody once the nick is someone else's.
  }
}

/**
 * The session's nick changed from `old` (a guest renamed, logged in or out): a guest's mark moves with it to the new
 * nick; the mark of whom it no longer is (the guest before a login, the account after its last logout) ends.
 */
export async function awayFollowsNick(ctx: ServerContext, session: Session, old: string): Promise<void> {
  if (old === '' || nickKey(old) === nickKey(session.nick)) return;
  const [mark] = await ctx.backend.moderation.awayOf([old]);
  if (!mark) return;
  if (mark.principal === session.principal) {
    await ctx.backend.moderation.setAway(session.nick, mark.principal, mark.message);
    await ctx.backend.moderation.clearAway(old, mark.principal);
    return;
  }
  await markEnds(ctx, old, mark.principal);
}
