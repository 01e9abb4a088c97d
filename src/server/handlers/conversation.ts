// Conversations (docs/protocol.md "Conversations" and "Read markers"): replies, edits, deletes and reactions to a
// room's messages by seq, and each account's read marker per room. Written once for one node and a cluster: the
// state is behind ctx.backend.conversations, and changes reach the room's members as events (`announce`).

import { ErrorCode, nickKey, type ClientMessage, type QuotedMessage, type RoomRecord, type UnreadRoom } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { whenReady, type Maybe } from '../state/backend.js';
import { current, hasReacted, tally, type Authorship, type ChangeRequest, type StoredChange } from '../state/conversation.js';
import { logChange } from './catch-up.js';
import type { Handler, ServerContext } from './context.js';
import { actingUser } from './identity.js';
import { mayNotSpeak, operatesRoom } from './moderation.js';
import { inRoom, now } from './replies.js';
import { isPrivateConversation } from '../state/privates.js';

/** The first line of a quoted message, at most this long. */
const QUOTE_MAX_CHARS = 120;

/**
 * The room form of a request that also has a private one (`with`, handlers/private-conversation.ts, which routes
 * each to its handler).
 */
export type InRoom<T extends 'edit' | 'delete' | 'react' | 'read'> = (
  ctx: ServerContext,
  session: Session,
  message: Extract<ClientMessage, { type: T; room: string }>,
) => void | Promise<void>;

/** Each connection's newest room message still on its way (a cluster numbers them in Redis). */
const inFlight = new WeakMap<Session, Promise<unknown>>();

/** A room message is on its way (pipelined, handlers/index.ts): what refers to it by seq waits for it. */
export function pipelined<T>(session: Session, sent: Promise<T>): Promise<T> {
  inFlight.set(session, sent);
  return sent;
}

/** Until the connection's room messages sent so far are numbered and kept: a reply, edit or read may name them. */
async function sentSoFar(session: Session): Promise<void> {
  const newest = inFlight.get(session);
  if (newest) await newest;
}

/**
 * Whether `actor` may edit or delete a message sent by `author` (a principal): only its author may. The one place
 * this is decided: moderation (room operators deleting any message) belongs here.
 */
export async function mayChangeMessage(ctx: ServerContext, actor: Session, room: string, author: string | null, action: 'edit' | 'delete'): Promise<boolean> {
  if (author !== null && actor.principal === author) return true;
  return action === 'delete' && (await operatesRoom(ctx, actor, room));
}

/** The principal whose read markers these are, or null for a guest (guests have none). */
function readerOf(session: Session): string | null {
  return actingUser(session).account ? session.principal : null;
}

/** Records as they are now (edited, deleted, reacted to), for a join's replay and `history` pages. */
export function withChanges(ctx: ServerContext, room: string, records: RoomRecord[]): Maybe<RoomRecord[]> {
  if (records.length === 0) return records;
  const changes = ctx.backend.conversations.changes(room, records.map((record) => record.seq));
  const apply = (found: Map<number, StoredChange>) =>
    found.size === 0 ? records : records.map((record) => current(record, found.get(record.seq)));
  return changes instanceof Promise ? changes.then(apply) : apply(changes);
}

/**
 * Who sends a room message, given with it to Backend.append: its author is remembered, and the sender's account
 * has read the room up to it, in the message's own write.
 */
export function authorship(ctx: ServerContext, session: Session): Readonly<Authorship> {
  const { changeableMessages, readMarkersPerAccount } = ctx.config;
  return ctx.lastAuthorship.of(session.principal, changeableMessages, readerOf(session) !== null ? readMarkersPerAccount : null);
}

/** The message at `seq` as it is now, or null after a no_such_message reply. */
async function messageAt(ctx: ServerContext, session: Session, room: string, seq: number, id: ClientMessage['id']): Promise<RoomRecord | null> {
  const [record] = seq > 0 ? await ctx.backend.before(room, seq + 1, 1) : [];
  if (record?.seq === seq) {
    const [now] = await withChanges(ctx, room, [record]);
    if (now && !(now.type === 'msg' && now.deleted)) return now;
  }
  session.error(ErrorCode.no_such_message, `${room} has no message ${seq}`, id);
  return null;
}

/** What a reply to `seq` quotes: its author and first line. Null after an error reply. */
export async function quoteFor(ctx: ServerContext, session: Session, room: string, seq: number, id: ClientMessage['id']): Promise<QuotedMessage | null> {
  await sentSoFar(session);
  const record = await messageAt(ctx, session, room, seq, id);
  if (!record) return null;
  return quoteOf(seq, record.from, record.type === 'msg' ? record.text : record.name);
}

/** What a reply quotes of a message: its author and first line, cut at QUOTE_MAX_CHARS. */
export function quoteOf(seq: number, from: string, text: string): QuotedMessage {
  const firstLine = text.split('\n', 1)[0]!;
  return { seq, from, text: firstLine.length > QUOTE_MAX_CHARS ? `${firstLine.slice(0, QUOTE_MAX_CHARS - 1)}…` : firstLine };
}

/**
 * The message at `seq` when it may still be changed or reacted to: a message (or with `files`, a file too) among the
 * room's newest --changeable-messages. Null after a no_such_message reply.
 */
async function changeable(ctx: ServerContext, session: Session, room: string, seq: number, id: ClientMessage['id'], files = false): Promise<RoomRecord | null> {
  const record = await messageAt(ctx, session, room, seq, id);
  if (!record) return null;
  if ((record.type === 'msg' || files) && seq > (await newestSeq(ctx, room)) - ctx.config.changeableMessages) return record;
  session.error(ErrorCode.no_such_message, `message ${seq} of ${room} can no longer be changed: only the newest ${ctx.config.changeableMessages} messages can`, id);
  return null;
}

/** Apply a change; false after a no_such_message or too_large reply. */
async function change(ctx: ServerContext, session: Session, room: string, seq: number, request: ChangeRequest, id: ClientMessage['id']): Promise<StoredChange | null> {
  const outcome = await ctx.backend.conversations.change(room, seq, request);
  if (outcome === 'deleted') {
    session.error(ErrorCode.no_such_message, `message ${seq} of ${room} was deleted`, id);
    return null;
  }
  if (outcome === 'too_many') {
    session.error(ErrorCode.too_large, `a message takes at most ${ctx.config.reactionsPerMessage} different reactions`, id);
    return null;
  }
  await logChange(ctx, room, seq, await newestSeq(ctx, room));
  return outcome;
}

/** Checks shared by edit and delete: in the room, the message can be changed, and by this connection. */
async function mayChange(ctx: ServerContext, session: Session, room: string, seq: number, action: 'edit' | 'delete', id: ClientMessage['id']): Promise<boolean> {
  if (!inRoom(session, room, id)) return false;
  await sentSoFar(session);
  if (!(await changeable(ctx, session, room, seq, id))) return false;
  // No author known: a guest's message sent from another node, or before a restart; nobody here may change it.
  const author = await ctx.backend.conversations.author(room, seq);
  if (await mayChangeMessage(ctx, session, room, author ?? null, action)) return true;
  const who = action === 'delete' ? "its author or the room's operators" : 'its author';
  session.error(ErrorCode.not_allowed, `only ${who} may ${action} message ${seq}`, id);
  return false;
}

function ok(session: Session, id: ClientMessage['id']): void {
  if (id !== undefined) session.send({ type: 'ok', id });
}

const edit: InRoom<'edit'> = async (ctx, session, { room, seq, text, id }) => {
  // Muted (or without a voice in a moderated room): an edit would be speaking.
  if (!inRoom(session, room, id) || mayNotSpeak(ctx, session, room, id)) return;
  if (!(await mayChange(ctx, session, room, seq, 'edit', id))) return;
  if (!(await change(ctx, session, room, seq, { op: 'edit', text }, id))) return;
  await ctx.backend.announce(room, { type: 'edit', room, seq, text, ts: now() });
  ok(session, id);
};

const deleteMessage: InRoom<'delete'> = async (ctx, session, { room, seq, id }) => {
  if (!(await mayChange(ctx, session, room, seq, 'delete', id))) return;
  if (!(await change(ctx, session, room, seq, { op: 'delete' }, id))) return;
  await ctx.backend.announce(room, { type: 'delete', room, seq, ts: now() });
  ok(session, id);
};

/**
 * Add one's reaction, or take it back: reactions count people (principals), whatever their nick. Any message of the
 * room's newest --changeable-messages takes them, whoever sent it.
 */
const react: InRoom<'react'> = async (ctx, session, { room, seq, emoji, id }) => {
  if (!inRoom(session, room, id) || mayNotSpeak(ctx, session, room, id)) return;
  await sentSoFar(session);
  // A file shared in the room takes reactions too (it is numbered like a message), but no edit.
  if (!(await changeable(ctx, session, room, seq, id, true))) return;
  const principal = session.principal;
  const state = await change(ctx, session, room, seq, { op: 'react', emoji, principal, maxEmoji: ctx.config.reactionsPerMessage }, id);
  if (!state) return;
  const on = hasReacted(state, emoji, principal);
  await ctx.backend.announce(room, { type: 'react', room, seq, nick: session.nick, emoji, on, reactions: tally(state) });
  ok(session, id);
};

/** Refused to guests: read markers belong to accounts. True after the error reply. */
export function guestRefused(session: Session, id: ClientMessage['id']): boolean {
  if (readerOf(session)) return false;
  session.error(ErrorCode.auth_required, 'read markers belong to accounts: log in or register first', id);
  return true;
}

/** The newest seq of a room (0 when it has none): no marker goes past it. */
async function newestSeq(ctx: ServerContext, room: string): Promise<number> {
  const [newest] = await ctx.backend.before(room, undefined, 1);
  return newest?.seq ?? 0;
}

/** The account has read up to `seq`: kept, and told to its other connections on every node (it is theirs too). */
const read: InRoom<'read'> = async (ctx, session, { room, seq, id }) => {
  if (guestRefused(session, id) || !inRoom(session, room, id)) return;
  await sentSoFar(session);
  const principal = session.principal;
  const before = await ctx.backend.conversations.marker(principal, room);
  const marker = await ctx.backend.conversations.markRead(principal, room, Math.min(seq, await newestSeq(ctx, room)), ctx.config.readMarkersPerAccount);
  if (marker === -1) {
    session.error(ErrorCode.too_many_rooms, `an account keeps read markers for at most ${ctx.config.readMarkersPerAccount} rooms`, id);
    return;
  }
  if (marker !== before) await ctx.backend.sendPrivate(actingUser(session).nick, () => ({ type: 'read', room, seq: marker }));
  ok(session, id);
};

/**
 * Part of a join's reply, for an account: its read marker in the room (set to the room's newest message on its
 * first join, so that what was said before it came is not unread).
 */
export async function sendMarker(ctx: ServerContext, session: Session, room: string, newest: number): Promise<void> {
  const principal = readerOf(session);
  if (!principal) return;
  const { conversations } = ctx.backend;
  let marker = await conversations.marker(principal, room);
  if (marker === null) marker = await conversations.markRead(principal, room, newest, ctx.config.readMarkersPerAccount);
  if (marker >= 0) session.send({ type: 'read', room, seq: marker });
}

/** Whether `text` names `nick` as a word (case as nicks compare). */
export function mentions(text: string, nick: string): boolean {
  const key = nickKey(nick);
  const folded = nickKey(text);
  for (let at = folded.indexOf(key); at !== -1; at = folded.indexOf(key, at + 1)) {
    const before = folded[at - 1];
    const after = folded[at + key.length];
    if ((before === undefined || !/[\p{L}\p{N}_-]/u.test(before)) && (after === undefined || !/[\p{L}\p{N}_-]/u.test(after))) return true;
  }
  return false;
}

export const conversationHandlers = { edit, delete: deleteMessage, react, read };
