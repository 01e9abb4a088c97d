// One handler per client message type, routed from one table (docs/protocol.md, "Client to server").

import {
  ByeCode,
  ErrorCode,
  type ClientMessage,
  type ClientType,
  type RoomMsgEvent,
  type PrivateMsgEvent,
} from '../protocol/index.js';
import type { Session } from './session.js';
import { ensureNick } from './identity.js';
import { banner, nickTaken, now, roomToJoin, roomToSendTo, welcome } from './replies.js';
import { fileHandlers } from './files/handlers.js';
import { dispatchClustered } from './cluster/handlers.js';

export type Handler<T extends ClientType> = (session: Session, message: Extract<ClientMessage, { type: T }>) => void;

const HISTORY_PAGE_MAX = 200;
const QUIT_REASON_MAX = 200;

/** Take `nick` for the session; announces the change to its rooms. False (after an error reply) when taken. */
function takeNick(session: Session, nick: string, id: ClientMessage['id']): boolean {
  const { nicks } = session.server;
  const old = session.nick;
  if (old === nick) return true;
  if (!nicks.claim(nick, session, old === '' ? undefined : old)) return nickTaken(session, nick, id);
  session.nick = nick;
  if (old === '') return true;
  const ts = now();
  if (session.rooms.size === 0) session.send({ type: 'nick', old, nick, ts });
  for (const room of session.rooms) session.server.bus.publish(room, { type: 'nick', room, old, nick, ts });
  return true;
}

const hello: Handler<'hello'> = (session, { nick, id }) => {
  if (nick !== undefined && !takeNick(session, nick, id)) return;
  ensureNick(session);
  session.reply(id, welcome(session, session.nick));
};

const join: Handler<'join'> = (session, request) => {
  const { room: name, nick, since, id } = request;
  const { server } = session;
  if (nick !== undefined && !takeNick(session, nick, id)) return;
  ensureNick(session);
  const room = roomToJoin(session, request);
  if (!room) return;
  if (!session.rooms.has(name)) {
    room.members.add(session);
    session.rooms.add(name);
    server.bus.publish(name, { type: 'join', room: name, nick: session.nick, ts: now() });
  }
  session.reply(id, { type: 'members', room: name, nicks: room.nicks() });
  for (const record of room.history.since(since ?? 0)) session.send({ ...record, history: true });
  session.send(banner(name, room.members.size - 1));
};

const leave: Handler<'leave'> = (session, { room, id }) => {
  if (!session.rooms.has(room)) {
    session.error(ErrorCode.not_in_room, `you are not in ${JSON.stringify(room)}`, id);
    return;
  }
  session.server.bus.publish(room, { type: 'leave', room, nick: session.nick, ts: now() });
  session.server.removeFromRoom(session, room);
  if (id !== undefined) session.send({ type: 'ok', id });
};

const msg: Handler<'msg'> = (session, message) => {
  const { server } = session;
  const me = message.me ? { me: true as const } : {};
  if ('to' in message) {
    ensureNick(session);
    const target = server.nicks.owner(message.to);
    if (!target) {
      session.error(ErrorCode.no_such_user, `nobody is connected as ${JSON.stringify(message.to)}`, message.id);
      return;
    }
    const event: PrivateMsgEvent = { type: 'msg', to: target.nick, from: session.nick, text: message.text, ts: now(), ...me };
    target.send(event);
    if (target !== session) session.send(event);
    if (message.id !== undefined) session.send({ type: 'ok', id: message.id });
    return;
  }
  const room = roomToSendTo(session, message.room, message.id);
  if (!room) return;
  const event: RoomMsgEvent = {
    type: 'msg',
    room: room.name,
    from: session.nick,
    text: message.text,
    ts: now(),
    seq: room.nextSeq(),
    ...me,
  };
  room.history.add(event);
  server.bus.publish(room.name, event);
  if (message.id !== undefined) session.send({ type: 'ok', id: message.id, seq: event.seq });
};

const nick: Handler<'nick'> = (session, { nick: wanted, id }) => {
  if (takeNick(session, wanted, id) && id !== undefined) session.send({ type: 'ok', id });
};

const who: Handler<'who'> = (session, { room, id }) => {
  session.reply(id, { type: 'members', room, nicks: session.server.rooms.get(room)?.nicks() ?? [] });
};

const rooms: Handler<'rooms'> = (session, { id }) => {
  const list = session.server.rooms.occupied().map((room) => ({ room: room.name, members: room.members.size }));
  session.reply(id, { type: 'rooms', rooms: list });
};

const history: Handler<'history'> = (session, { room: name, before, limit, id }) => {
  const { rooms: registry } = session.server;
  // With a store, a room nobody has joined since the restart still has its history on disk.
  const room = registry.get(name) ?? (registry.store ? registry.open(name) : undefined);
  const pageSize = Math.min(limit ?? 50, HISTORY_PAGE_MAX);
  const older = room ? room.history.before(before ?? room.lastSeq + 1, pageSize + 1) : [];
  const more = older.length > pageSize;
  const messages = more ? older.slice(1) : older;
  session.reply(id, { type: 'history', room: name, messages, more });
};

const ping: Handler<'ping'> = (session, { id }) => {
  session.reply(id, { type: 'pong', ts: now() });
};

const pong: Handler<'pong'> = () => {
  // Any line resets the keepalive clock (session.ts); nothing else to do.
};

const quit: Handler<'quit'> = (session, { reason }) => {
  session.close(ByeCode.quit, reason ? reason.slice(0, QUIT_REASON_MAX) : 'quit');
};

const handlers: { [T in ClientType]: Handler<T> } = {
  hello,
  join,
  leave,
  msg,
  nick,
  who,
  rooms,
  history,
  ping,
  pong,
  quit,
  ...fileHandlers,
};

export function dispatch(session: Session, message: ClientMessage): void {
  const { cluster } = session.server;
  if (cluster && dispatchClustered(session, message, cluster)) return;
  (handlers[message.type] as Handler<typeof message.type>)(session, message as never);
}
