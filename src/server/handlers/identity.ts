// Who a connection is: its nick (a guest nick on first need, since a client may join without saying hello), and
// the user a connection acts for.

import type { ClientMessage } from '../../protocol/index.js';
import type { Session } from '../session.js';
import type { ServerContext } from './context.js';
import { nickTaken, now } from './replies.js';

/** Give the session a guest nick when it has none yet. */
export async function ensureNick(ctx: ServerContext, session: Session): Promise<void> {
  if (session.nick === '') await ctx.backend.claimGuest(session);
}

/** Take `nick` for the session and announce the change to its rooms. False (after an error reply) when taken. */
export async function takeNick(ctx: ServerContext, session: Session, nick: string, id: ClientMessage['id']): Promise<boolean> {
  const old = session.nick;
  if (old === nick) return true;
  if (!(await ctx.backend.claimNick(session, nick))) return session.closed ? false : nickTaken(ctx, session, nick, id);
  if (old === '') return true;
  const ts = now();
  if (session.rooms.size === 0) session.send({ type: 'nick', old, nick, ts });
  await Promise.all([...session.rooms].map((room) => ctx.backend.announce(room, { type: 'nick', room, old, nick, ts })));
  return true;
}

/** The user a connection acts for: itself, or the session it attached to. */
export function actingUser(session: Session): Session {
  return session.owner ?? session;
}
