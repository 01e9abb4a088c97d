// Attach tokens (docs/protocol.md "hello", "attach"; state/session-tokens.ts): made on a connection's first
// `welcome`, kept by the backend while the connection lives (again when who it is changes: a nick, a login), good
// on every node of a cluster, and gone with the connection. A reply that tells the client its token, or who it is
// now, leaves once the token is kept so: a one-shot that uses it at once, on any node, finds it. The connection a token belongs to may be on another
// node: the attached connection then acts for a `RemoteUser`, as the token last said it was.

import { randomBytes } from 'node:crypto';
import { nickKey } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { accountPrincipal } from '../state/principals.js';
import { TOKEN_SHAPE, type ActingUser, type TokenHolder } from '../state/session-tokens.js';
import type { ServerContext } from './context.js';

/** Whom each session's token is counted against, as last kept (its account, or its address). */
const keptUnder = new WeakMap<Session, string>();
/** Each session's token work in order: a token dropped at close stays dropped. */
const queued = new WeakMap<Session, Promise<void>>();
/** The users of other nodes that attached connections here act for. */
const remoteUsers = new WeakSet<ActingUser>();

function inOrder(session: Session, work: () => unknown): Promise<void> {
  const next = (queued.get(session) ?? Promise.resolve()).then(work).then(
    () => {},
    () => {},
  );
  queued.set(session, next);
  return next;
}

/** Resolves once the session's token is kept as the session now is (at once when there is nothing to keep). */
export function tokenKept(session: Session): Promise<void> {
  return queued.get(session) ?? Promise.resolve();
}

function ownerOf(session: Session): string {
  return session.account ? accountPrincipal(session.account.id) : `addr:${session.address.key}`;
}

/** Keep the session's token (again) as the session now is. */
function keep(ctx: ServerContext, session: Session): Promise<void> {
  const token = session.attachToken;
  const owner = ownerOf(session);
  const before = keptUnder.get(session);
  keptUnder.set(session, owner);
  const holder: TokenHolder = { nick: session.nick, principal: session.principal, account: session.account };
  return inOrder(session, async () => {
    if (before !== undefined && before !== owner) await ctx.backend.tokens.drop(token, before);
    await ctx.backend.tokens.keep(token, holder, owner);
  });
}

/** The token that lets a second connection of this user attach (128 random bits), made on first need. */
export function attachTokenFor(ctx: ServerContext, session: Session): string {
  if (!session.attachToken) {
    session.attachToken = randomBytes(16).toString('base64url');
    ctx.attachTokens.set(session.attachToken, session);
    keep(ctx, session);
  }
  return session.attachToken;
}

/** Who the session is changed (a nick, a login or logout): its token says so on every node, once this resolves. */
export function tokenFollows(ctx: ServerContext, session: Session): Promise<void> {
  return session.attachToken && !session.closed ? keep(ctx, session) : Promise.resolve();
}

/** The session closed: its token is good nowhere any more. */
export function tokenEnds(ctx: ServerContext, session: Session): void {
  const token = session.attachToken;
  if (!token) return;
  ctx.attachTokens.delete(token);
  const owner = keptUnder.get(session);
  if (owner !== undefined) inOrder(session, () => ctx.backend.tokens.drop(token, owner));
}

/** The live user a token stands for: a connection of this node, or one of another node; null when none. */
export async function tokenUser(ctx: ServerContext, token: string): Promise<ActingUser | null> {
  const local = ctx.attachTokens.get(token);
  if (local) return local.closed ? null : local;
  if (!TOKEN_SHAPE.test(token)) return null;
  const holder = await ctx.backend.tokens.find(token);
  return holder && remoteUser(ctx, holder);
}

/** A user on another node, as its token says it is. It is in no room this node knows of (see `actsIn`). */
function remoteUser(ctx: ServerContext, holder: TokenHolder): ActingUser {
  const user: ActingUser = {
    ...holder,
    rooms: new Set<string>(),
    closed: false,
    // Its own copies (a guest's private message): to the nick, while its principal holds it.
    send(message) {
      void (async () => {
        if ((await ctx.backend.lookup(holder.nick))?.principal === holder.principal) await ctx.backend.sendPrivate(holder.nick, () => message);
      })().catch(() => {});
    },
  };
  remoteUsers.add(user);
  return user;
}

/** Whether the user the session acts for is in the room: its own rooms, or for another node's user the room's members. */
export async function actsIn(ctx: ServerContext, session: Session, room: string): Promise<boolean> {
  const user: ActingUser = session.owner ?? session; // identity.ts actingUser (which imports this file)
  if (user.rooms.has(room)) return true;
  if (!remoteUsers.has(user)) return false;
  const { nicks } = await ctx.backend.members(room, Number.MAX_SAFE_INTEGER);
  return nicks.some((nick) => nickKey(nick) === nickKey(user.nick));
}
