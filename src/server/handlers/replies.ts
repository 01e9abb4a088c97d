// Replies and checks that several handlers share.

import { ErrorCode, PROTOCOL_VERSION, type ClientMessage, type JoinEvent, type LeaveEvent, type MembersEvent, type RoomRecord, type WelcomeEvent } from '../../protocol/index.js';
import type { Session } from '../session.js';
import type { MemberList } from '../state/backend.js';
import { conversationBytesAtMost } from '../state/conversation.js';
import type { ServerContext } from './context.js';
import { attachTokenFor, tokenKept } from './tokens.js';

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
export function welcome(ctx: ServerContext, session: Session, nick: string, withToken = true): WelcomeEvent {
  return {
    type: 'welcome',
    nick,
    server: `chat-server ${ctx.version}`,
    proto: PROTOCOL_VERSION,
    motd: ctx.config.motd,
    ...(withToken && { token: attachTokenFor(ctx, session) }),
    ...((session.owner ?? session).account && { account: (session.owner ?? session).account!.nick }),
  };
}

/** The `welcome`, once its token is good on every node: a one-shot may use it the moment it reads it. */
export async function welcomeOnceKept(ctx: ServerContext, session: Session, nick: string): Promise<WelcomeEvent> {
  const event = welcome(ctx, session, nick);
  await tokenKept(session);
  return event;
}

/** Answer nick_taken, with a free nick close to the one asked for. Returns false, for `return nickTaken(...)`. */
export function nickTaken(ctx: ServerContext, session: Session, nick: string, id: ClientMessage['id']): false {
  const suggest = ctx.backend.suggestNick(nick);
  session.send({
    type: 'error',
    code: ErrorCode.nick_taken,
    message: `the nick ${JSON.stringify(nick)} is taken; try another, such as ${JSON.stringify(suggest)}`,
    ...(id !== undefined && { id }),
    suggest,
  });
  return false;
}

/**
 * The room's welcome banner, the last line of a join reply; it says so when the replay left out older messages
 * (one reply carries at most --reply-history bytes of them).
 */
export function banner(room: string, others: number, notReplayed = 0, firstReplayed = 0): { type: 'notice'; room: string; text: string } {
  const who = others === 0 ? 'Nobody else is here yet.' : `${others} other${others === 1 ? ' is' : 's are'} here.`;
  const paging = `{"type":"history","room":${JSON.stringify(room)},"before":${firstReplayed}}`;
  const older = notReplayed > 0 ? ` ${notReplayed} earlier messages are not repeated here: page back with ${paging}.` : '';
  return { type: 'notice', room, text: `Welcome to ${room}! ${who}${older}` };
}

/** True when the sender is in the room; else false, after a not_in_room reply. */
export function inRoom(session: Session, room: string, id: ClientMessage['id']): boolean {
  if (session.rooms.has(room)) return true;
  session.error(
    ErrorCode.not_in_room,
    `join ${JSON.stringify(room)} before sending to it: {"type":"join","room":${JSON.stringify(room)}}`,
    id,
  );
  return false;
}

/** At most the bytes a record takes on the wire: every character of its text escaped (\u0001), and the rest. */
function recordBytesAtMost(record: RoomRecord): number {
  return 6 * (record.type === 'msg' ? record.text.length : record.name.length) + 256 + conversationBytesAtMost(record);
}

/** The newest of `records` (oldest first) that fit in `budget` bytes, oldest first; the newest one always. */
export function newestWithin(records: RoomRecord[], budget: number): RoomRecord[] {
  let bytes = 0;
  let start = records.length;
  while (start > 0) {
    bytes += recordBytesAtMost(records[start - 1]!);
    if (bytes > budget && start < records.length) break;
    start--;
  }
  return start === 0 ? records : records.slice(start);
}

/** A `members` reply: every nick, or in a room bigger than --members-list some of them and how many in all. */
export function membersReply(room: string, { nicks, count }: MemberList): MembersEvent {
  return count > nicks.length ? { type: 'members', room, nicks, count } : { type: 'members', room, nicks };
}

/**
 * A join or leave: to the whole room; only to the member it is about in a room past --quiet-room, or when another
 * connection of its account is in the room (the nick was there before and stays).
 */
export function announceOrTell(ctx: ServerContext, member: Session, event: JoinEvent | LeaveEvent): void | Promise<void> {
  const news = !ctx.backend.accountAlsoIn(event.room, member);
  if (news && ctx.backend.membersHere(event.room) <= ctx.config.quietRoomMembers) return ctx.backend.announce(event.room, event);
  member.send(event);
}
