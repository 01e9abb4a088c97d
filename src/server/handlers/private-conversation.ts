// Replies, edits, deletes, reactions and read markers inside a private conversation (docs/protocol.md "Changes in
// private"): the rules of handlers/conversation.ts, in the one conversation store (state/conversation.ts), keyed
// by the conversation's key (state/privates.ts: two principals and a `|`, never a room name). A request names the
// conversation `with` the other party, as a private `history` does, so it can only ever reach the asker's own
// conversations; its events go to the connections of both parties and nobody else.

import { ErrorCode, nickKey, type ClientMessage, type PrivateRecord, type QuotedMessage, type ServerMessage, type UnreadPrivate } from '../../protocol/index.js';
import type { Session } from '../session.js';
import type { ReadMarker, StoredChange } from '../state/conversation.js';
import { current, hasReacted, tally } from '../state/conversation.js';
import { conversationKey, partiesOf } from '../state/privates.js';
import { isAccountPrincipal } from '../state/principals.js';
import type { ActingUser } from '../state/session-tokens.js';
import type { Handler, ServerContext } from './context.js';
import { logChange } from './catch-up.js';
import { guestRefused, mentions, quoteOf, type InRoom } from './conversation.js';
import { actingUser } from './identity.js';
import { noSuchUser, partyFor, type Party } from './parties.js';
import { now } from './replies.js';

/** Records `unread` reads back per conversation, as per room (handlers/conversation.ts). */
const UNREAD_SCAN = 200;

/** A conversation as a request names it: its key, the user acting in it, and the other party. */
interface Conversation {
  key: string;
  user: ActingUser;
  peer: Party;
}

type PrivateRequest<T extends 'edit' | 'delete' | 'react' | 'read'> = Extract<ClientMessage, { type: T; with: string }>;

/** The asker's conversation with `nick` (whoever holds it now, or the account that owns it); null after no_such_user. */
async function conversationWith(ctx: ServerContext, session: Session, nick: string, id: ClientMessage['id']): Promise<Conversation | null> {
  const peer = await partyFor(ctx, nick);
  if (!peer) {
    noSuchUser(session, nick, id);
    return null;
  }
  const user = actingUser(session);
  return { key: conversationKey(user.principal, peer.principal), user, peer };
}


/** Records of the conversation `key` as they are now (edited, deleted, reacted to): for history and the mailbox. */
export async function withPrivateChanges(ctx: ServerContext, key: string, records: PrivateRecord[]): Promise<PrivateRecord[]> {
  if (records.length === 0) return records;
  const found = await ctx.backend.conversations.changes(key, records.map((record) => record.seq));
  return found.size === 0 ? records : records.map((record) => current(record, found.get(record.seq)));
}

async function newestSeq(ctx: ServerContext, { user, peer }: Conversation): Promise<number> {
  const [newest] = await ctx.backend.privates.page(user.principal, peer.principal, { limit: 1 });
  return newest?.seq ?? 0;
}

/** The message at `seq` as it is now, or null after a no_such_message reply (none, or deleted). */
async function messageAt(ctx: ServerContext, session: Session, conversation: Conversation, seq: number, id: ClientMessage['id']): Promise<PrivateRecord | null> {
  const { user, peer, key } = conversation;
  const [record] = seq > 0 ? await ctx.backend.privates.page(user.principal, peer.principal, { before: seq + 1, limit: 1 }) : [];
  if (record?.seq === seq) {
    const [now] = await withPrivateChanges(ctx, key, [record]);
    if (now && !now.deleted) return now;
  }
  session.error(ErrorCode.no_such_message, `your conversation with ${peer.nick} has no message ${seq}`, id);
  return null;
}

/** What a private reply to `seq` quotes; null after an error reply. */
export async function privateQuote(ctx: ServerContext, session: Session, peer: Party, seq: number, id: ClientMessage['id']): Promise<QuotedMessage | null> {
  const user = actingUser(session);
  const record = await messageAt(ctx, session, { key: conversationKey(user.principal, peer.principal), user, peer }, seq, id);
  return record ? quoteOf(seq, record.from, record.text) : null;
}

/**
 * A private message was kept: its author is remembered (only its author may change it), the sending account has
 * read the conversation up to it, and an account it was sent to gets a marker (at 0) if it had none, so that
 * `unread` counts the conversation before it was ever opened.
 */
export async function notePrivateSent(ctx: ServerContext, session: Session, peer: Party, seq: number): Promise<void> {
  const user = actingUser(session);
  const key = conversationKey(user.principal, peer.principal);
  const { changeableMessages, readMarkersPerAccount } = ctx.config;
  const { conversations } = ctx.backend;
  conversations.noteSent(key, seq, user.principal, changeableMessages, user.account ? { maxRooms: readMarkersPerAccount } : null);
  if (peer.principal !== user.principal && isAccountPrincipal(peer.principal)) await conversations.markRead(peer.principal, key, 0, readMarkersPerAccount);
}

/** Its account's read marker in a conversation, for a reply that carries it (none for a guest). */
export async function markerIn(ctx: ServerContext, session: Session, peer: Party): Promise<{ read?: number }> {
  const user = actingUser(session);
  if (!user.account) return {};
  const marker = await ctx.backend.conversations.marker(user.principal, conversationKey(user.principal, peer.principal));
  return marker === null ? {} : { read: marker };
}

/**
 * An event to both parties: to every connection of each (on every node), made with the other party's nick as
 * `with`. A guest's own copy goes to its connection only (its conversations are its connection's).
 */
async function tellBoth(ctx: ServerContext, { user, peer }: Conversation, make: (peerNick: string) => ServerMessage): Promise<void> {
  if (peer.principal !== user.principal) await ctx.backend.sendPrivate(peer.nick, () => make(user.nick));
  if (user.account) await ctx.backend.sendPrivate(user.nick, () => make(peer.nick));
  else user.send(make(peer.nick));
}

/** The message when it may still be changed or reacted to: among the conversation's newest --changeable-messages. */
async function changeable(ctx: ServerContext, session: Session, conversation: Conversation, seq: number, id: ClientMessage['id']): Promise<PrivateRecord | null> {
  const record = await messageAt(ctx, session, conversation, seq, id);
  if (!record) return null;
  if (seq > (await newestSeq(ctx, conversation)) - ctx.config.changeableMessages) return record;
  session.error(ErrorCode.no_such_message, `message ${seq} can no longer be changed: only the newest ${ctx.config.changeableMessages} messages can`, id);
  return null;
}

/** Edit and delete: the message can be changed, and by its author only (by principal, never by nick). */
async function mayChange(ctx: ServerContext, session: Session, conversation: Conversation, seq: number, action: 'edit' | 'delete', id: ClientMessage['id']): Promise<boolean> {
  if (!(await changeable(ctx, session, conversation, seq, id))) return false;
  // Nobody runs a private conversation: only a message's author may change it (a guest's authorship is known on
  // its own node only, where its connection is).
  const author = await ctx.backend.conversations.author(conversation.key, seq);
  if (author !== null && author === conversation.user.principal) return true;
  session.error(ErrorCode.not_allowed, `only its author may ${action} message ${seq}`, id);
  return false;
}

/** Apply a change, logged for a `since` page to bring (handlers/catch-up.ts); null after a no_such_message or too_large reply. */
async function change(ctx: ServerContext, session: Session, conversation: Conversation, seq: number, request: Parameters<ServerContext['backend']['conversations']['change']>[2], id: ClientMessage['id']): Promise<StoredChange | null> {
  const outcome = await ctx.backend.conversations.change(conversation.key, seq, request);
  if (outcome === 'deleted') session.error(ErrorCode.no_such_message, `message ${seq} was deleted`, id);
  else if (outcome === 'too_many') session.error(ErrorCode.too_large, `a message takes at most ${ctx.config.reactionsPerMessage} different reactions`, id);
  else {
    await logChange(ctx, conversation.key, seq, await newestSeq(ctx, conversation));
    return outcome;
  }
  return null;
}

function ok(session: Session, id: ClientMessage['id']): void {
  if (id !== undefined) session.send({ type: 'ok', id });
}

async function edit(ctx: ServerContext, session: Session, { with: nick, seq, text, id }: PrivateRequest<'edit'>): Promise<void> {
  const conversation = await conversationWith(ctx, session, nick, id);
  if (!conversation || !(await mayChange(ctx, session, conversation, seq, 'edit', id))) return;
  if (!(await change(ctx, session, conversation, seq, { op: 'edit', text }, id))) return;
  const ts = now();
  await tellBoth(ctx, conversation, (peer) => ({ type: 'edit', with: peer, seq, text, ts }));
  ok(session, id);
}

async function deleteMessage(ctx: ServerContext, session: Session, { with: nick, seq, id }: PrivateRequest<'delete'>): Promise<void> {
  const conversation = await conversationWith(ctx, session, nick, id);
  if (!conversation || !(await mayChange(ctx, session, conversation, seq, 'delete', id))) return;
  if (!(await change(ctx, session, conversation, seq, { op: 'delete' }, id))) return;
  const ts = now();
  await tellBoth(ctx, conversation, (peer) => ({ type: 'delete', with: peer, seq, ts }));
  ok(session, id);
}

/** Either party may react to any message of the conversation (the same again takes it back). */
async function react(ctx: ServerContext, session: Session, { with: nick, seq, emoji, id }: PrivateRequest<'react'>): Promise<void> {
  const conversation = await conversationWith(ctx, session, nick, id);
  if (!conversation || !(await changeable(ctx, session, conversation, seq, id))) return;
  const principal = conversation.user.principal;
  const request = { op: 'react' as const, emoji, principal, maxEmoji: ctx.config.reactionsPerMessage };
  const state = await change(ctx, session, conversation, seq, request, id);
  if (!state) return;
  const on = hasReacted(state, emoji, principal);
  const reactions = tally(state);
  const by = conversation.user.nick;
  await tellBoth(ctx, conversation, (peer) => ({ type: 'react', with: peer, seq, nick: by, emoji, on, reactions }));
  ok(session, id);
}

/** The account has read the conversation up to `seq`: kept, and told to all its connections on every node. */
async function read(ctx: ServerContext, session: Session, { with: nick, seq, id }: PrivateRequest<'read'>): Promise<void> {
  if (guestRefused(session, id)) return;
  const conversation = await conversationWith(ctx, session, nick, id);
  if (!conversation) return;
  const { conversations } = ctx.backend;
  const { user, peer, key } = conversation;
  const newest = await newestSeq(ctx, conversation);
  if (newest === 0) return ok(session, id); // nothing to read: no marker spent on it
  const before = await conversations.marker(user.principal, key);
  const marker = await conversations.markRead(user.principal, key, Math.min(seq, newest), ctx.config.readMarkersPerAccount);
  if (marker === -1) {
    session.error(ErrorCode.too_many_rooms, `an account keeps read markers for at most ${ctx.config.readMarkersPerAccount} rooms and conversations`, id);
    return;
  }
  if (marker !== before) await ctx.backend.sendPrivate(user.nick, () => ({ type: 'read', with: peer.nick, seq: marker }));
  ok(session, id);
}

/** `edit`, `delete`, `react` and `read` with `with` are this module's; with `room`, handlers/conversation.ts's. */
export function inPrivateToo(rooms: { edit: InRoom<'edit'>; delete: InRoom<'delete'>; react: InRoom<'react'>; read: InRoom<'read'> }): {
  edit: Handler<'edit'>;
  delete: Handler<'delete'>;
  react: Handler<'react'>;
  read: Handler<'read'>;
} {
  return {
    edit: (ctx, session, message) => ('with' in message ? edit(ctx, session, message) : rooms.edit(ctx, session, message)),
    delete: (ctx, session, message) => ('with' in message ? deleteMessage(ctx, session, message) : rooms.delete(ctx, session, message)),
    react: (ctx, session, message) => ('with' in message ? react(ctx, session, message) : rooms.react(ctx, session, message)),
    read: (ctx, session, message) => ('with' in message ? read(ctx, session, message) : rooms.read(ctx, session, message)),
  };
}

/** The other party's nick, as the newest message names it (an account's nick never changes). */
function peerNick(records: PrivateRecord[], me: string): string | null {
  const newest = records.at(-1);
  if (!newest) return null;
  return nickKey(newest.from) === nickKey(me) ? newest.to : newest.from;
}

/** The private part of `unread`: each conversation the account has a marker in, by the other party's nick. */
export async function unreadPrivates(ctx: ServerContext, session: Session, markers: ReadMarker[]): Promise<UnreadPrivate[]> {
  const user = actingUser(session);
  const counted = await Promise.all(
    markers.map(async ({ room: key, seq: marker }): Promise<UnreadPrivate | null> => {
      const [a, b] = partiesOf(key);
      if (a !== user.principal && b !== user.principal) return null;
      const records = await withPrivateChanges(ctx, key, await ctx.backend.privates.page(a, b, { limit: UNREAD_SCAN }));
      const nick = peerNick(records, user.nick);
      if (nick === null) return null; // a guest's conversation that is gone
      const newer = records.filter((record) => record.seq > marker);
      const theirs = newer.filter((record) => nickKey(record.from) !== nickKey(user.nick) && !record.deleted);
      const notScanned = newer.length > 0 ? newer[0]!.seq - marker - 1 : 0;
      return {
        with: nick,
        seq: marker,
        last: Math.max(marker, records.at(-1)?.seq ?? 0),
        unread: theirs.length + notScanned,
        mentions: theirs.filter((record) => mentions(record.text, user.nick)).length,
      };
    }),
  );
  const out = counted.filter((entry): entry is UnreadPrivate => entry !== null);
  return out.sort((x, y) => (x.with < y.with ? -1 : x.with > y.with ? 1 : 0));
}
