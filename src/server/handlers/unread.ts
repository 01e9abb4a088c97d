// `unread` (docs/protocol.md "Read markers"): the rooms and private conversations an account reads, each with its
// unread messages and mentions counted from the account's marker.

import { nickKey, type UnreadRoom } from '../../protocol/index.js';
import { isPrivateConversation } from '../state/privates.js';
import type { Handler, ServerContext } from './context.js';
import { guestRefused, mentions, withChanges } from './conversation.js';
import { actingUser } from './identity.js';
import { unreadPrivates } from './private-conversation.js';

/** Records `unread` reads back per room to count unread messages and mentions. */
const UNREAD_SCAN = 200;

/** One room's unread count and mentions: counted over its newest records, the rest by seq. */
async function unreadIn(ctx: ServerContext, room: string, marker: number, nick: string): Promise<UnreadRoom> {
  const records = await withChanges(ctx, room, await ctx.backend.before(room, undefined, UNREAD_SCAN));
  const newer = records.filter((record) => record.seq > marker);
  const last = Math.max(marker, records.at(-1)?.seq ?? 0);
  const theirs = newer.filter((record) => nickKey(record.from) !== nickKey(nick) && !(record.type === 'msg' && record.deleted));
  const notScanned = newer.length > 0 ? newer[0]!.seq - marker - 1 : 0;
  return {
    room,
    seq: marker,
    last,
    unread: theirs.length + notScanned,
    mentions: theirs.filter((record) => record.type === 'msg' && mentions(record.text, nick)).length,
  };
}

const unread: Handler<'unread'> = async (ctx, session, { id }) => {
  if (guestRefused(session, id)) return;
  const nick = actingUser(session).nick;
  const markers = await ctx.backend.conversations.markers(session.principal);
  const inRooms = markers.filter(({ room }) => !isPrivateConversation(room));
  const rooms = await Promise.all(inRooms.map(({ room, seq }) => unreadIn(ctx, room, seq, nick)));
  const privates = await unreadPrivates(ctx, session, markers.filter(({ room }) => isPrivateConversation(room)));
  session.send({ type: 'unread', rooms, ...(privates.length > 0 && { privates }), ...(id !== undefined && { id }) });
};

export const unreadHandlers = { unread };
