// Replies and checks that the single-node handlers (handlers.ts) and the cluster ones (cluster/handlers.ts) share.

import { ErrorCode, PROTOCOL_VERSION, type ClientMessage, type JoinRequest, type WelcomeEvent } from '../protocol/index.js';
import { attachTokenFor } from './identity.js';
import type { Room } from './rooms.js';
import type { Session } from './session.js';

let stampedAt = 0;
let stamp = '';

/** The server's timestamp for an event; formatted once per millisecond, not once per event. */
export function now(): string {
  const ms = Date.now();
  if (ms !== stampedAt) {
    stampedAt = ms;
    stamp = new Date(ms).toISOString();
  }
  return stamp;
}

/** The `welcome` for a session; an attached connection gets none of its own token. */
export function welcome(session: Session, nick: string, withToken = true): WelcomeEvent {
  const { config, version } = session.server;
  return {
    type: 'welcome',
    nick,
    server: `chat-server ${version}`,
    proto: PROTOCOL_VERSION,
    motd: config.motd,
    ...(withToken && { token: attachTokenFor(session) }),
  };
}

/** Answer nick_taken, with a free nick close to the one asked for. Returns false, for `return nickTaken(...)`. */
export function nickTaken(session: Session, nick: string, id: ClientMessage['id']): false {
  const suggest = session.server.nicks.suggest(nick);
  session.send({
    type: 'error',
    code: ErrorCode.nick_taken,
    message: `the nick ${JSON.stringify(nick)} is taken; try another, such as ${JSON.stringify(suggest)}`,
    ...(id !== undefined && { id }),
    suggest,
  });
  return false;
}

/** The room a join asks for, or null after an error reply when this connection or the server holds too many. */
export function roomToJoin(session: Session, { room: name, id }: JoinRequest): Room<Session> | null {
  const { server } = session;
  if (!session.rooms.has(name) && session.rooms.size >= server.config.maxRoomsPerConnection) {
    session.error(
      ErrorCode.too_many_rooms,
      `one connection may be in at most ${server.config.maxRoomsPerConnection} rooms; leave one first`,
      id,
    );
    return null;
  }
  const room = server.rooms.open(name);
  if (!room) session.error(ErrorCode.too_many_rooms, 'the server holds as many rooms as it may; try an existing room', id);
  return room;
}

/** The room's welcome banner, the last line of a join reply. */
export function banner(room: string, others: number): { type: 'notice'; room: string; text: string } {
  const who = others === 0 ? 'Nobody else is here yet.' : `${others} other${others === 1 ? ' is' : 's are'} here.`;
  return { type: 'notice', room, text: `Welcome to ${room}! ${who}` };
}

/** The room a message is sent to, or null after a not_in_room reply when the sender is not in it. */
export function roomToSendTo(session: Session, name: string, id: ClientMessage['id']): Room<Session> | null {
  const room = session.server.rooms.get(name);
  if (room && session.rooms.has(name)) return room;
  session.error(
    ErrorCode.not_in_room,
    `join ${JSON.stringify(name)} before sending to it: {"type":"join","room":${JSON.stringify(name)}}`,
    id,
  );
  return null;
}
