// What differs between one node and a cluster of nodes, behind one interface, so that every server rule
// (handlers/) is written once. On one node every method answers at once (the hot path stays synchronous); on a
// cluster (cluster/backend.ts) those that need Redis answer with a promise.

import type { AwayEvent, RoomRecord, ServerMessage } from '../../protocol/index.js';
import type { AccountStore } from '../accounts/store.js';
import type { LoginThrottle } from '../accounts/throttle.js';
import type { ModerationStore } from './moderation-store.js';
import type { Authorship, ConversationStore } from './conversation.js';
import type { PrivateStore } from './privates.js';
import type { Member, Room, RoomRefusal } from './rooms.js';
import type { Searcher } from './search.js';
import type { SessionTokens } from './session-tokens.js';

import type { Maybe } from './maybe.js';

export { whenReady, type Maybe } from './maybe.js';

/** A room record before it is numbered: the backend gives it its seq. */
export type RecordDraft = RoomRecord extends infer R ? (R extends unknown ? Omit<R, 'seq'> : never) : never;

export interface RoomCount {
  room: string;
  members: number;
}

export interface MemberList {
  nicks: string[];
  /** How many members the room has in all. */
  count: number;
}

/** Rooms with members, by name; `next`, when there are more, is where the next page starts (after it). */
export interface RoomPage {
  rooms: RoomCount[];
  next?: string;
}

/** Who holds a nick: its spelling, and the principal (state/principals.ts) that private things to it belong to. */
export interface NickHolder {
  nick: string;
  principal: string;
}

export interface Backend {
  /** Accounts: this node's SQLite (or memory), or the cluster's, in Redis. */
  readonly accounts: AccountStore;
  /** Failed logins per nick and per address: this node's count, or the cluster's in Redis. */
  readonly loginThrottle: LoginThrottle;
  /** Authors, edits, deletions, reactions and read markers (state/conversation.ts): SQLite here, or Redis. */
  readonly conversations: ConversationStore;

  /** Connect what must be connected before clients come (Redis); resolves when ready or given up waiting. */
  start(): Promise<void>;
  close(): Promise<void>;

  // ---- nicks ----
  /**
   * Make `nick` the member's (its old nick, if any, is released). False when someone else holds it. The
   * connections of one account hold its nick together; claiming the nick one holds again records a new principal
   * (after a login).
   */
  claimNick(member: Member, nick: string): Maybe<boolean>;
  /** Give a member a free guest nick (its old nick, if any, is released: a logout). */
  claimGuest(member: Member): Maybe<void>;
  /** The member is going away: its nick is free again. */
  releaseNick(member: Member): void;
  /** A free nick close to `nick`, to suggest when it is taken. */
  suggestNick(nick: string): string;
  /** Who holds the nick live, or null when nobody does. */
  lookup(nick: string): Maybe<NickHolder | null>;
  /**
   * Deliver a private event to whoever holds `to` (every connection of an account, on every node), made by `make`
   * from the owner's spelling of the nick. The event delivered, or null when nobody holds the nick.
   */
  sendPrivate(to: string, make: (nick: string) => ServerMessage): Maybe<ServerMessage | null>;

  // ---- rooms ----
  /** The room, opened for `creator` (an address) and on a cluster followed; refused when the table is full. */
  openRoom(name: string, creator: string): Maybe<Room | RoomRefusal>;
  /** The member joins the room (it is open). */
  addMember(room: Room, member: Member): void;
  /** The member leaves the room; a room with no members left here is no longer followed. */
  removeMember(room: string, member: Member): void;
  /** Nicks in the room, sorted: all of them, or in a room of more than `limit` some `limit` of them. */
  members(room: string, limit: number): Maybe<MemberList>;
  /** Members of the room on this node (what a fan-out here costs). */
  membersHere(room: string): number;
  /**
   * Whether another member of the room on this node acts for the same account as `member`: they share its nick
   * there, so one of them joining or leaving is not news to the room.
   */
  accountAlsoIn(room: string, member: Member): boolean;
  /** A page of the rooms with members, by name: at most `limit` after `after`. */
  listRooms(after: string | undefined, limit: number): Maybe<RoomPage>;
  /**
   * Number, keep and fan out a room record; its seq, once it has been delivered to this node's members. With
   * `author`, the conversations store notes its author (ConversationStore.noteSent) in the same write as the record.
   */
  append(room: string, draft: RecordDraft, author?: Authorship): Maybe<number>;
  /** Fan out a room event that is not kept (join, leave, nick); done once delivered to this node's members. */
  announce(room: string, event: ServerMessage): Maybe<void>;
  /**
   * Fan out `event` once in each room where a connection of `holder` (its principal, under its nick) is a member,
   * on any node, the room's name added: news of the principal, not of one connection. Done once this node's rooms
   * have it.
   */
  announceToRoomsOf(holder: NickHolder, event: AwayEvent): Maybe<void>;
  /** Up to `limit` records of `room` with seq < before (the newest when before is undefined), oldest first. */
  before(room: string, before: number | undefined, limit: number): Maybe<RoomRecord[]>;

  // ---- running a room (handlers/moderation.ts) ----
  /** Room rules and away marks: this node's SQLite (or memory), or the cluster's, in Redis. */
  readonly moderation: ModerationStore;
  /** This node's members of the room. */
  localMembers(room: string): Iterable<Member>;
  /**
   * Tell every node following the room (this one too) something for its own state, not for the members: new rules,
   * a member to remove. In order with the room's events. Handled by `onRoomControl`.
   */
  roomControl(room: string, payload: string): void;
  onRoomControl: ((room: string, payload: string) => void) | null;
  /** A room opened for a `post` is not needed any more: a cluster stops following it unless members here need it. */
  releaseRoom(room: string): void;
  // ---- private conversations and search ----
  /** Private conversations and offline mailboxes: SQLite on one node, Redis on a cluster. */
  readonly privates: PrivateStore;
  readonly searcher: Searcher;
  /** Attach tokens, good on every node (state/session-tokens.ts): a cluster's in Redis; one node has only its own. */
  readonly tokens: SessionTokens;
}
