// `post` (docs/protocol.md "post"): a message to a room from a connection that has not joined it, as `chat send`
// does, so a script adds no join and leave lines. The room is opened as a join would open it (and may be refused
// the same way), a closed room or one that bans the poster refuses it, and the message then obeys every rule a
// member's `msg` obeys (speakInRoom).

import { ErrorCode, type RequestId } from '../../protocol/index.js';
import type { Session } from '../session.js';
import type { RoomRefusal } from '../state/rooms.js';
import { speakInRoom } from './chat.js';
import type { Handler, ServerContext } from './context.js';
import { actingUser, ensureNick } from './identity.js';
import { readRefused } from './moderation.js';

/** Posts under way per room, per server: the last one done lets the room go (a cluster stops following it). */
const postingIn = new WeakMap<ServerContext, Map<string, number>>();

function posting(ctx: ServerContext): Map<string, number> {
  let rooms = postingIn.get(ctx);
  if (!rooms) postingIn.set(ctx, (rooms = new Map()));
  return rooms;
}

/** A room this node may not open for a post (too many rooms, server-wide or for the address). */
class RoomRefused extends Error {
  constructor(readonly refusal: RoomRefusal) {
    super(refusal);
  }
}

const post: Handler<'post'> = async (ctx, session, message) => {
  const { room: name, id } = message;
  // An attached connection posts as the user it acts for; any other under its own nick (a guest's, if none yet).
  if (!session.owner) await ensureNick(ctx, session);
  try {
    await withRoomOpen(ctx, name, session.address.key, async () => {
      if (session.closed) return;
      // From outside, as a history page is read: not into a closed room, nor one that bans the poster.
      const refusal = await readRefused(ctx, session, name);
      if (refusal) return void session.error(refusal.code, refusal.message, id);
      await speakInRoom(ctx, session, message, actingUser(session).nick);
    }, (refusal) => new RoomRefused(refusal));
  } catch (error) {
    if (error instanceof RoomRefused) return refuse(ctx, session, error.refusal, id);
    throw error;
  }
};

/**
 * Run `work` with the room open on this node (on a cluster: followed), as a post has it: for a connection acting for
 * a member whose own connection is on another node. A refusal to open it here is thrown, as `refused` makes it.
 */
export async function withRoomOpen<T>(ctx: ServerContext, name: string, address: string, work: () => Promise<T>, refused: (refusal: RoomRefusal) => Error): Promise<T> {
  const rooms = posting(ctx);
  rooms.set(name, (rooms.get(name) ?? 0) + 1);
  try {
    const room = await ctx.backend.openRoom(name, address);
    if (typeof room === 'string') throw refused(room);
    return await work();
  } finally {
    const left = rooms.get(name)! - 1;
    if (left > 0) rooms.set(name, left);
    else {
      rooms.delete(name);
      ctx.backend.releaseRoom(name);
    }
  }
}

function refuse(ctx: ServerContext, session: Session, refusal: RoomRefusal, id: RequestId | undefined): void {
  if (refusal === 'server_full') {
    session.error(ErrorCode.too_many_rooms, 'the server holds as many rooms as it may; post to an existing room', id);
    return;
  }
  const limit = ctx.config.maxRoomsPerAddress;
  session.error(ErrorCode.too_many_rooms, `one address may open at most ${limit} rooms; post to an existing room`, id);
}

export const postHandlers = { post };
