// What happened to room messages after they were sent (docs/protocol.md "Conversations"): who wrote each recent one
// (a principal, state/principals.ts, so that only its author may change it), its edits, its deletion and its
// reactions; and each account's read marker per room. The records in history stay as they were sent: their
// current state is laid over them when they are replayed or paged (`current`). One node keeps this in SQLite
// (storage/conversation-sqlite.ts), a cluster in Redis (cluster/conversation.ts).

import type { PrivateRecord, Reaction, RoomRecord } from '../../protocol/index.js';
import type { Maybe } from './maybe.js';

/** How a message was changed, as stored: new text, deleted (text and reactions gone), reactions by principal. */
export interface StoredChange {
  t?: string;
  d?: 1;
  r?: { e: string; p: string[] }[];
}

export type ChangeRequest =
  | { op: 'edit'; text: string }
  | { op: 'delete' }
  | { op: 'react'; emoji: string; principal: string; maxEmoji: number };

/** The change made, or why not: the message is deleted already, or has as many different emoji as it may. */
export type ChangeOutcome = StoredChange | 'deleted' | 'too_many';

export interface ReadMarker {
  room: string;
  seq: number;
}

/** Who sent a room message, given with its record (Backend.append): what `noteSent` is told, in the record's own write. */
export interface Authorship {
  principal: string;
  /** --changeable-messages: how many of the room's newest messages keep their author. */
  window: number;
  /** An account's (its read marker is raised), or null: a guest's, kept in memory on its node only. */
  account: { maxRooms: number } | null;
}

/**
 * The authorship of the last room message given one (Backend.append): the same sender sends most of a burst, and its
 * authorship (frozen, never changed once made) serves again, so no object is made per message.
 */
export class LastAuthorship {
  private last: Readonly<Authorship> | null = null;

  /** The authorship of `principal` under these limits; `maxRooms` null: a sender without read markers (a guest). */
  of(principal: string, window: number, maxRooms: number | null): Readonly<Authorship> {
    const last = this.last;
    if (
      last !== null &&
      last.principal === principal &&
      last.window === window &&
      (last.account === null ? maxRooms === null : last.account.maxRooms === maxRooms)
    ) {
      return last;
    }
    this.last = Object.freeze({ principal, window, account: maxRooms === null ? null : Object.freeze({ maxRooms }) });
    return this.last;
  }
}

export interface ConversationStore {
  /**
   * A room message was sent by `principal`: remember its author, in memory here (a guest's messages can only be
   * changed from its own connection, on this node), and for an account (`account` given) where every node and the
   * next start see it, forgetting the author of the message `window` seqs older (older messages can no longer be
   * changed); the account has read the room up to it.
   */
  noteSent(room: string, seq: number, principal: string, window: number, account: { maxRooms: number } | null): void;
  /** The principal that sent a recent message of the room, or null (no such message, or too old to change). */
  author(room: string, seq: number): Maybe<string | null>;
  /** How the given messages were changed, by seq (unchanged ones absent). */
  changes(room: string, seqs: number[]): Maybe<Map<number, StoredChange>>;
  /** Apply one change, atomically (two reactions at once both count). */
  change(room: string, seq: number, request: ChangeRequest): Maybe<ChangeOutcome>;
  /** Raise the account's marker in `room` to `seq` (never lowers it). The marker now, or -1 when the account has markers for `maxRooms` other rooms. */
  markRead(principal: string, room: string, seq: number, maxRooms: number): Maybe<number>;
  marker(principal: string, room: string): Maybe<number | null>;
  markers(principal: string): Maybe<ReadMarker[]>;
  /**
   * Message `seq` of a conversation was changed at `ts`, when the conversation's newest seq was `at`: logged for
   * `since` resumes (handlers/catch-up.ts), and forgotten once the newest seq passes `at + window`.
   */
  logChange(conversation: string, seq: number, at: number, ts: string, window: number): Maybe<void>;
  /** The messages at or before `since` last changed when the newest seq was `since` or later, oldest change first. */
  changedSince(conversation: string, since: number): Maybe<ChangeLogEntry[]>;
  /**
   * A private conversation is over (a guest's connection closed): its authors, changes, and the markers of its two
   * parties in it, gone.
   */
  forget(conversation: string, parties: readonly string[]): Maybe<void>;
  close(): void;
}

/** A message changed, and when (its last change). */
export interface ChangeLogEntry {
  seq: number;
  ts: string;
}

/**
 * The authors of the newest messages this node has seen sent, by room and seq: edits and deletes right after
 * sending (the common case) need no lookup, and a guest's authorship never leaves its node. A ring of `window`
 * per room (no string made per message), for at most `maxRooms` rooms: the room first seen goes first.
 */
export class RecentAuthors {
  private readonly rooms = new Map<string, { seqs: number[]; principals: string[]; size: number }>();

  constructor(private readonly maxRooms = 10_000) {}

  add(room: string, seq: number, principal: string, window: number): void {
    let ring = this.rooms.get(room);
    if (!ring) {
      if (this.rooms.size >= this.maxRooms) this.rooms.delete(this.rooms.keys().next().value!);
      ring = { seqs: [], principals: [], size: Math.max(1, window) };
      this.rooms.set(room, ring);
    }
    const at = seq % ring.size;
    ring.seqs[at] = seq;
    ring.principals[at] = principal;
  }

  get(room: string, seq: number): string | undefined {
    const ring = this.rooms.get(room);
    if (!ring) return undefined;
    const at = seq % ring.size;
    return ring.seqs[at] === seq ? ring.principals[at] : undefined;
  }
}

/** Apply a change to a stored state: the one rule, which the Redis script (cluster/conversation.ts) repeats in Lua. */
export function applyChange(state: StoredChange, request: ChangeRequest): ChangeOutcome {
  if (state.d) return 'deleted';
  if (request.op === 'delete') return { d: 1 };
  if (request.op === 'edit') return { ...state, t: request.text };
  const reactions = (state.r ?? []).map((entry) => ({ e: entry.e, p: [...entry.p] }));
  const entry = reactions.find((candidate) => candidate.e === request.emoji);
  if (!entry) {
    if (reactions.length >= request.maxEmoji) return 'too_many';
    reactions.push({ e: request.emoji, p: [request.principal] });
  } else {
    const at = entry.p.indexOf(request.principal);
    if (at === -1) entry.p.push(request.principal);
    else entry.p.splice(at, 1);
    if (entry.p.length === 0) reactions.splice(reactions.indexOf(entry), 1);
  }
  const { r: _dropped, ...rest } = state;
  return reactions.length > 0 ? { ...rest, r: reactions } : rest;
}

/** The tally shown to clients: each emoji and how many gave it, in the order they were first given. */
export function tally(state: StoredChange): Reaction[] {
  return (state.r ?? []).map((entry) => ({ emoji: entry.e, count: entry.p.length }));
}

/** Whether `principal` has given `emoji` to the message. */
export function hasReacted(state: StoredChange, emoji: string, principal: string): boolean {
  return state.r?.some((entry) => entry.e === emoji && entry.p.includes(principal)) ?? false;
}

/**
 * A record as it is now: its text edited, or deleted (no text, quote or reactions), with its reactions. One rule for
 * a room's records and a private conversation's, which change alike.
 */
export function current(record: RoomRecord, change: StoredChange | undefined): RoomRecord;
export function current(record: PrivateRecord, change: StoredChange | undefined): PrivateRecord;
export function current(record: RoomRecord | PrivateRecord, change: StoredChange | undefined): RoomRecord | PrivateRecord {
  if (!change) return record;
  // A file takes reactions only (handlers/conversation.ts).
  if (record.type === 'file') return change.r && change.r.length > 0 ? { ...record, reactions: tally(change) } : record;
  if (change.d) {
    const { reply: _reply, me: _me, reactions: _reactions, ...rest } = record;
    return { ...rest, text: '', deleted: true };
  }
  const now = { ...record };
  if (change.t !== undefined) {
    now.text = change.t;
    now.edited = true;
  }
  if (change.r && change.r.length > 0) now.reactions = tally(change);
  return now;
}

/** At most the bytes a record's quote and reactions add on the wire (every character escaped), for reply budgets. */
export function conversationBytesAtMost(record: RoomRecord | PrivateRecord): number {
  let bytes = 0;
  for (const reaction of record.reactions ?? []) bytes += 6 * reaction.emoji.length + 40;
  if (record.type === 'msg' && record.reply) bytes += 6 * (record.reply.text.length + record.reply.from.length) + 64;
  return bytes;
}

/** Parse a stored change; a damaged one counts as no change. */
export function parseChange(json: string): StoredChange {
  try {
    const value = JSON.parse(json) as StoredChange;
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}
