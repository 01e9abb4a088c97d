// The chat rules, one handler per client message type (docs/protocol.md, "Client to server"), written once for one
// node and for a cluster: what differs between the two is behind ctx.backend.

import { ByeCode, ErrorCode, nickKey, type ClientMessage, type PrivateMsgEvent, type RequestId, type RoomMsgEvent } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { whenReady } from '../state/backend.js';
import type { Handler, ServerContext } from './context.js';
import { authorship, quoteFor, sendMarker, withChanges } from './conversation.js';
import { ensureNick, takeNick } from './identity.js';
import { admit, joined, marked, mayNotSpeak, readRefused } from './moderation.js';
import { privateHistory, sendPrivate } from './private.js';
import { changesFor, replayFor } from './replay.js';
import { announceOrTell, banner, inRoom, membersReply, newestWithin, now, welcomeOnceKept } from './replies.js';

const HISTORY_PAGE_MAX = 200;
const QUIT_REASON_MAX = 200;

const hello: Handler<'hello'> = async (ctx, session, { nick, id }) => {
  if (nick !== undefined && !(await takeNick(ctx, session, nick, id))) return;
  await ensureNick(ctx, session);
  session.reply(id, await welcomeOnceKept(ctx, session, session.nick));
};

const join: Handler<'join'> = async (ctx, session, { room: name, nick, since, key, id }) => {
  const { backend, config } = ctx;
  if (nick !== undefined && !(await takeNick(ctx, session, nick, id))) return;
  await ensureNick(ctx, session);
  const rejoin = session.rooms.has(name);
  if (!rejoin && session.rooms.size >= config.maxRoomsPerConnection) {
    const limit = config.maxRoomsPerConnection;
    session.error(ErrorCode.too_many_rooms, `one connection may be in at most ${limit} rooms; leave one first`, id);
    return;
  }
  const room = await backend.openRoom(name, session.address.key);
  if (room === 'server_full') {
    session.error(ErrorCode.too_many_rooms, 'the server holds as many rooms as it may; try an existing room', id);
    return;
  }
  if (room === 'creator_full') {
    const limit = config.maxRoomsPerAddress;
    session.error(ErrorCode.too_many_rooms, `one address may open at most ${limit} rooms; join an existing room`, id);
    return;
  }
  if (session.closed) return;
  if (!session.rooms.has(name) && !(await admit(ctx, session, name, key, id))) return;
  if (!session.rooms.has(name)) {
    backend.addMember(room, session);
    await announceOrTell(ctx, session, { type: 'join', room: name, nick: session.nick, ts: now() });
  }
  const members = await backend.members(name, config.membersListMax);
  session.reply(id, await joined(ctx, session, name, membersReply(name, members)));
  const replay = await replayFor(ctx, name, room.history, since ?? 0);
  if (replay.count > 0) session.deliver(replay.bytes);
  for (const line of await changesFor(ctx, name, room.history, since ?? 0, config.replyHistoryBytes - replay.bytes.length)) session.deliver(line);
  await sendMarker(ctx, session, name, room.lastSeq);
  session.send(banner(name, members.count - 1, replay.missed - replay.count, replay.firstSeq));
};

const leave: Handler<'leave'> = (ctx, session, { room, id }) => {
  if (!session.rooms.has(room)) {
    session.error(ErrorCode.not_in_room, `you are not in ${JSON.stringify(room)}`, id);
    return;
  }
  // Announced before the member goes, so the leaver sees its own leave as the confirmation.
  return whenReady(announceOrTell(ctx, session, { type: 'leave', room, nick: session.nick, ts: now() }), () => {
    ctx.backend.removeMember(room, session);
    if (id !== undefined) session.send({ type: 'ok', id });
  });
};

type RoomMsgRequest = Extract<ClientMessage, { type: 'msg'; room: string }>;

/** The hot path: checked, numbered, kept and fanned out; on one node all before this returns. */
const roomMsg: Handler<'msg'> = (ctx, session, message) => {
  const request = message as RoomMsgRequest;
  if (!inRoom(session, request.room, request.id)) return;
  return speakInRoom(ctx, session, request, session.nick);
};

/**
 * A message said in a room by `from`, once the sender may reach the room (a member's `msg`, or a `post` without
 * joining, handlers/post.ts): every further rule a room message obeys belongs here (muted, moderated, a reply's
 * quote, its author kept for edits), so that both obey it.
 */
export function speakInRoom(
  ctx: ServerContext,
  session: Session,
  { room, text, id, me, reply_to }: { room: string; text: string; id?: RequestId | undefined; me?: boolean | undefined; reply_to?: number | undefined },
  from: string,
): void | Promise<void> {
  if (mayNotSpeak(ctx, session, room, id)) return;
  if (reply_to === undefined) return appendMessage(ctx, session, room, from, text, me, undefined, id);
  return quoteFor(ctx, session, room, reply_to, id).then((quote) => (quote ? appendMessage(ctx, session, room, from, text, me, quote, id) : undefined));
}

/** Number, keep and fan out a room message; `ok` to the sender when it asked with an id. */
function appendMessage(
  ctx: ServerContext,
  session: Session,
  room: string,
  from: string,
  text: string,
  me: boolean | undefined,
  reply: RoomMsgEvent['reply'],
  id: RequestId | undefined,
): void | Promise<void> {
  // Fields set one by one in the wire's order, not spread in: no object but the record is made.
  const draft: Omit<RoomMsgEvent, 'seq'> = { type: 'msg', room, from, text, ts: now() };
  if (me) draft.me = true;
  if (reply) draft.reply = reply;
  const seq = ctx.backend.append(room, draft, authorship(ctx, session));
  if (id === undefined) return seq instanceof Promise ? seq.then(ignore) : undefined;
  return whenReady(seq, (numbered) => session.send({ type: 'ok', id, seq: numbered }));
}

function ignore(): void {}

const msg: Handler<'msg'> = (ctx, session, message) =>
  'to' in message ? sendPrivate(ctx, session, message) : roomMsg(ctx, session, message);

const nick: Handler<'nick'> = async (ctx, session, { nick: wanted, id }) => {
  if ((await takeNick(ctx, session, wanted, id)) && id !== undefined) session.send({ type: 'ok', id });
};

const who: Handler<'who'> = async (ctx, session, { room, id }) => {
  const members = await ctx.backend.members(room, ctx.config.membersListMax);
  session.reply(id, await marked(ctx, room, membersReply(room, members)));
};

const rooms: Handler<'rooms'> = (ctx, session, { after, limit, id }) =>
  whenReady(ctx.backend.listRooms(after, Math.max(1, Math.min(limit ?? ctx.config.roomsPageMax, ctx.config.roomsPageMax))), (page) =>
    session.reply(id, { type: 'rooms', ...page }),
  );

const history: Handler<'history'> = (ctx, session, message) => {
  if ('with' in message) return privateHistory(ctx, session, message);
  const { room, before, limit, id } = message;
  const pageSize = Math.min(limit ?? 50, HISTORY_PAGE_MAX);
  // Known to have no rules, or none that keep anyone out: public, and reading it costs no lookup. Only a room with
  // members here keeps its cached rules fresh (a cluster sends changes to the nodes that follow it).
  const rules = ctx.backend.membersHere(room) > 0 ? ctx.backend.moderation.cached(room) : undefined;
  const open = rules === null || (rules !== undefined && !rules.inviteOnly && rules.key === undefined && rules.bans.length === 0);
  if (!open) {
    return readRefused(ctx, session, room).then((refusal) => {
      if (refusal) session.error(refusal.code, refusal.message, id);
      else return historyPage(ctx, session, room, before, pageSize, id);
    });
  }
  return historyPage(ctx, session, room, before, pageSize, id);
};

function historyPage(ctx: ServerContext, session: Session, room: string, before: number | undefined, pageSize: number, id: RequestId | undefined): void | Promise<void> {
  // One more than asked: whether there is more is whether it came.
  return whenReady(ctx.backend.before(room, before, pageSize + 1), (older) => {
    const page = older.length > pageSize ? older.slice(1) : older;
    return whenReady(withChanges(ctx, room, page), (current) => {
      const messages = newestWithin(current, ctx.config.replyHistoryBytes);
      session.reply(id, { type: 'history', room, messages, more: older.length > pageSize || messages.length < current.length });
    });
  });
}

const ping: Handler<'ping'> = (_ctx, session, { id }) => {
  session.reply(id, { type: 'pong', ts: now() });
};

const pong: Handler<'pong'> = () => {
  // Any line resets the keepalive clock (session.ts); nothing else to do.
};

const quit: Handler<'quit'> = (_ctx, session, { reason }) => {
  session.close(ByeCode.quit, reason ? reason.slice(0, QUIT_REASON_MAX) : 'quit');
};

export const chatHandlers = { hello, join, leave, msg, nick, who, rooms, history, ping, pong, quit };
