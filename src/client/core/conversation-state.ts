// Conversations in the client's state (docs/protocol.md "Conversations", "Read markers"): a room message's seq,
// the message it replies to, its edits, deletion and reactions, and the account's read marker with the
// "N unread since HH:MM" line. Server events in, state out; no sockets and no blessed here.

import type { DeleteEvent, EditEvent, PrivateRecord, PrivateDeleteEvent, PrivateEditEvent, PrivateReactEvent, PrivateReactionsNowEvent, PrivateReadEvent, ReactEvent, ReactionsNowEvent, ReadEvent, RoomRecord } from '../../protocol/index.js';
import { t } from '../text/i18n/index.js';
import { sanitize, sanitizeLine } from '../text/sanitize.js';
import { clock } from '../text/time.js';

// The shapes this module reads and changes, given structurally (state.ts's Entry, ChatBuffer and ClientState have
// them) so that state.ts may call in here without an import circle.
interface Entry {
  kind: string;
  ts: number;
  text: string;
  from?: string;
  seq?: number;
  self?: boolean;
  mention?: boolean;
  deleted?: boolean;
  edited?: boolean;
  reactions?: { emoji: string; count: number }[];
}
interface ChatBuffer {
  kind: string;
  entries: Entry[];
  readMarker?: number;
  unread: number;
  mentioned: boolean;
  scroll: unknown;
  lastSeen: { seq: number } | null;
}
/** What an entry of a room record carries besides its text: its seq, quote, edit, deletion and reactions. */
export interface RecordFields {
  seq: number;
  text?: string;
  reply?: { seq: number; from: string; text: string };
  edited?: boolean;
  deleted?: boolean;
  reactions?: { emoji: string; count: number }[];
}
interface ClientState {
  readonly active: ChatBuffer;
  room(name: string): ChatBuffer | undefined;
  /** The private buffer with `nick`, if the client has one. */
  privateWith(nick: string): ChatBuffer | undefined;
  changeEntry(buffer: ChatBuffer, entry: Entry, changes: Omit<RecordFields, 'seq'> & { mention?: boolean }): unknown;
  insertEntry(buffer: ChatBuffer, index: number, fields: { kind: 'marker'; text: string }): unknown;
}

/**
 * A change to a message that changed what is shown of it (line mode says each): `author` when the message is in the
 * buffer; `history` when it came with a `since` resume (made while the client was away).
 */
export type MessageChange = { seq: number; author?: string; ts: number; history: boolean } & (
  | { kind: 'edit'; text: string }
  | { kind: 'delete' }
  | { kind: 'react'; reactions: { emoji: string; count: number }[]; by?: { nick: string; emoji: string; on: boolean } }
);

/** What a deleted message's entry says instead of its text (in the language chosen at start). */
export const deletedText = (): string => t('conversation.deleted');

/** A room record's, or a numbered private message's (docs/protocol.md "Changes in private"). */
export function conversationFields(record: RoomRecord | PrivateRecord): RecordFields {
  const fields: RecordFields = { seq: record.seq };
  if (record.reactions?.length) fields.reactions = record.reactions.map((r) => ({ emoji: sanitizeLine(r.emoji), count: r.count }));
  if (record.type !== 'msg') return fields;
  if (record.reply) fields.reply = { seq: record.reply.seq, from: sanitizeLine(record.reply.from), text: sanitizeLine(record.reply.text) };
  if (record.edited) fields.edited = true;
  if (record.deleted) {
    fields.deleted = true;
    fields.text = deletedText();
  }
  return fields;
}

/** The entry of a room message by seq, newest first (a seq comes once per numbering). */
export function entryBySeq(buffer: ChatBuffer, seq: number): Entry | undefined {
  for (let i = buffer.entries.length - 1; i >= 0; i--) {
    const entry = buffer.entries[i]!;
    if (entry.seq === seq && (entry.kind === 'msg' || entry.kind === 'action' || entry.kind === 'file')) return entry;
  }
  return undefined;
}

type ConversationEvent = EditEvent | DeleteEvent | ReactEvent | ReactionsNowEvent | ReadEvent;
type PrivateConversationEvent = PrivateEditEvent | PrivateDeleteEvent | PrivateReactEvent | PrivateReactionsNowEvent | PrivateReadEvent;
type ChangeEvent = Exclude<ConversationEvent | PrivateConversationEvent, ReadEvent | PrivateReadEvent>;

/**
 * Apply a change to a message of a room, or of a private conversation (`with`): the same in both. The change it
 * made, if any (line mode says it).
 */
export function applyConversationEvent(
  state: ClientState,
  event: ConversationEvent | PrivateConversationEvent,
  now = Date.now(),
): MessageChange | null {
  const buffer = 'room' in event ? state.room(event.room) : state.privateWith(event.with);
  if (!buffer) return null;
  if (event.type === 'read') {
    applyReadMarker(state, buffer, event.seq);
    return null;
  }
  const entry = entryBySeq(buffer, event.seq);
  const change = messageChange(entry, event, now);
  if (entry && change) {
    if (event.type === 'edit') state.changeEntry(buffer, entry, { text: sanitize(event.text), edited: true });
    else if (event.type === 'delete') state.changeEntry(buffer, entry, { text: deletedText(), deleted: true, reactions: [], mention: false });
    else state.changeEntry(buffer, entry, { reactions: change.kind === 'react' ? change.reactions : [] });
  }
  return change;
}

/** What an event changes of a message (null: nothing shown, such as a change a resume sends again). */
function messageChange(entry: Entry | undefined, event: ChangeEvent, now: number): MessageChange | null {
  const base = { seq: event.seq, ...(entry?.from !== undefined && { author: entry.from }), history: 'history' in event && event.history === true };
  const at = (ts: string) => Date.parse(ts) || now;
  if (entry?.deleted) return null;
  if (event.type === 'delete') return { ...base, ts: at(event.ts), kind: 'delete' };
  if (event.type === 'edit') {
    const text = sanitize(event.text);
    return entry?.edited && entry.text === text ? null : { ...base, ts: at(event.ts), kind: 'edit', text };
  }
  const reactions = event.reactions.map((r) => ({ emoji: sanitizeLine(r.emoji), count: r.count }));
  if (entry && reactionLine(entry.reactions ?? []) === reactionLine(reactions)) return null;
  // A resume's tally of a message not in the buffer, with no reactions: nothing to say.
  if (!entry && 'history' in event && reactions.length === 0) return null;
  const by = 'nick' in event ? { by: { nick: sanitizeLine(event.nick), emoji: sanitizeLine(event.emoji), on: event.on } } : {};
  return { ...base, ts: now, kind: 'react', reactions, ...by };
}

function unreadEntry(entry: Entry, marker: number): boolean {
  return entry.seq !== undefined && entry.seq > marker && !entry.self && !entry.deleted && (entry.kind === 'msg' || entry.kind === 'action' || entry.kind === 'file');
}

/**
 * The account's marker in a room. The first one since joining puts a "N unread since HH:MM" line above the first
 * unread message and counts from it; later ones (another device read further) lower the count.
 */
export function applyReadMarker(state: ClientState, buffer: ChatBuffer, marker: number): void {
  const first = buffer.readMarker === undefined;
  buffer.readMarker = Math.max(marker, buffer.readMarker ?? 0);
  const unread = buffer.entries.filter((entry) => unreadEntry(entry, buffer.readMarker!));
  if (first) {
    buffer.entries = buffer.entries.filter((entry) => entry.kind !== 'marker');
    const oldest = unread[0];
    if (oldest) {
      const at = buffer.entries.indexOf(oldest);
      state.insertEntry(buffer, at, { kind: 'marker', text: t('conversation.unreadSince', { count: unread.length, time: clock(oldest.ts, false) }) });
    }
  }
  if (buffer !== state.active) {
    buffer.unread = unread.length;
    buffer.mentioned = unread.some((entry) => entry.mention);
  }
}

/** The newest seq shown in a room buffer, to tell the server it was read; undefined when nothing new is. */
export function unreadUpTo(buffer: ChatBuffer): number | undefined {
  if (buffer.kind === 'server' || buffer.readMarker === undefined || buffer.scroll !== null) return undefined;
  const newest = buffer.lastSeen?.seq;
  return newest !== undefined && newest > buffer.readMarker ? newest : undefined;
}

/** The reactions line under a message: `👍 3  🎉 1`. */
export function reactionLine(reactions: readonly { emoji: string; count: number }[]): string {
  return reactions.map((r) => `${r.emoji} ${r.count}`).join('  ');
}
