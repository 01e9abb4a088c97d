// The room -> members map, each room's history and seq counter. The one place room state lives.

import { ErrorCode, ProtocolError } from '../../protocol/index.js';
import { isAccountPrincipal, sameAccount } from './principals.js';
import { History } from './history.js';
import type { HistoryStore } from '../storage/store.js';
import type { RoomSet } from './room-names.js';
import type { NewsReader, RoomNews } from './room-news.js';

/**
 * The order of nicks and rooms in lists; one collator, as String.localeCompare makes one per call (slow in a big room).
 * Made at the first comparison: its collation data is ~3 MB of RSS a server at rest does not need.
 */
let compareNames: ((a: string, b: string) => number) | null = null;
export function byName(a: string, b: string): number {
  compareNames ??= new Intl.Collator().compare;
  return compareNames(a, b);
}

/** At most `limit` of `nicks`, sorted (the first ones given, when there are more). */
export function sortedNicks(nicks: string[], limit = Infinity): string[] {
  return (nicks.length > limit ? nicks.slice(0, limit) : nicks).sort(byName);
}

/** Seqs a room reserves in its store at a time (one synchronous commit per block; storage/sqlite.ts). */
const SEQ_BLOCK = 1000;
/**
 * The next block is reserved while this many seqs of the current one are left: a reservation the disk refuses is
 * retried with each message for that long before any message must be refused.
 */
const SEQ_RENEW_AT = SEQ_BLOCK / 2;

/**
 * A room message that cannot be numbered: the store could not reserve more seqs (a full disk), and a seq that is not
 * reserved could be given out again after a crash (docs/persistence.md). Nothing was numbered, kept or sent.
 */
export class SeqUnavailableError extends ProtocolError {
  constructor(room: string) {
    super(ErrorCode.unavailable, `the server cannot store messages of ${JSON.stringify(room)} right now (its disk is full); nothing was sent, try again later`);
  }
}

/** What the server's state needs of a connection: its nick, its rooms, and a way to receive bytes. */
export interface Member extends NewsReader {
  nick: string;
  /** Rooms this connection is in (canonical names). */
  readonly rooms: RoomSet;
  readonly closed: boolean;
  /** Who owns what this member receives in private (state/principals.ts): its account, or itself as a guest. */
  readonly principal: string;
  /** `presence`: news of others (joins, leaves, nicks), which may wait a little to leave with more of it. */
  deliver(bytes: Buffer, presence?: boolean): void;
}

export class Room<M extends Member = Member> {
  readonly members = new Set<M>();
  /** Presence news waiting for the next presence pass, kept once for the room (announceToMembers). */
  news: RoomNews | null = null;
  readonly history: History;
  /** Highest seq given out; the next message gets lastSeq + 1. */
  lastSeq = 0;
  /** Who opened it (an address), for its share of the room table. */
  creator = '';
  lastActive = Date.now();
  /** Seqs up to this one are reserved on disk, so none is given out twice across a crash (no limit without a store). */
  private reserved = Number.POSITIVE_INFINITY;
  private readonly store: HistoryStore | undefined;
  /** The members' nicks: how many members hold each, and each once, sorted (sortedNicks). */
  private readonly nickCounts = new Map<string, number>();
  private nickList: string[] = [];
  private nicksCounted = 0;

  constructor(
    readonly name: string,
    historySize: number,
    store?: HistoryStore,
  ) {
    this.history = new History(historySize, store && { room: name, store });
    this.store = store;
    if (store) {
      // A room seen before (by this process or an earlier one): seq continues, the ring holds its newest records.
      this.lastSeq = store.lastSeq(name);
      this.reserved = this.lastSeq;
      for (const record of store.before(name, Number.MAX_SAFE_INTEGER, historySize)) this.history.remember(record);
    }
  }

  /** The seq for the next record. Throws SeqUnavailableError, numbering nothing, past what the store reserved. */
  nextSeq(): number {
    this.lastActive = Date.now();
    const seq = this.lastSeq + 1;
    if (this.reserved - seq < SEQ_RENEW_AT) {
      const upTo = Math.max(this.reserved, seq - 1) + SEQ_BLOCK;
      if (this.store!.reserve(this.name, upTo)) this.reserved = upTo;
    }
    if (seq > this.reserved) throw new SeqUnavailableError(this.name);
    this.lastSeq = seq;
    return seq;
  }

  /** The members' nicks, once each (the connections of one account share one nick), unsorted. */
  distinctNicks(): string[] {
    return [...new Set(Array.from(this.members, (member) => member.nick))];
  }

  /**
   * distinctNicks() sorted; every join is answered with it, so it is kept up to date one nick at a time (a join
   * storm sorted the whole room per joiner). Never change the array.
   */
  sortedNicks(): readonly string[] {
    // Members added or removed other than through nickCame/nickWent: made again from scratch.
    if (this.nicksCounted !== this.members.size) this.recountNicks();
    return this.nickList;
  }

  /** A member with `nick` came (joined, or took the nick). */
  nickCame(nick: string): void {
    this.nicksCounted++;
    const count = this.nickCounts.get(nick) ?? 0;
    this.nickCounts.set(nick, count + 1);
    if (count === 0) this.nickList.splice(this.nickIndex(nick), 0, nick);
  }

  /** A member with `nick` went (left, or gave the nick up). */
  nickWent(nick: string): void {
    const count = this.nickCounts.get(nick);
    if (count === undefined) return;
    this.nicksCounted--;
    if (count > 1) {
      this.nickCounts.set(nick, count - 1);
      return;
    }
    this.nickCounts.delete(nick);
    for (let at = this.nickIndex(nick); at < this.nickList.length && byName(this.nickList[at]!, nick) === 0; at++) {
      if (this.nickList[at] === nick) {
        this.nickList.splice(at, 1);
        break;
      }
    }
  }

  /** Where `nick` is or would go in the sorted list (the first place not before it). */
  private nickIndex(nick: string): number {
    let low = 0;
    let high = this.nickList.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (byName(this.nickList[mid]!, nick) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private recountNicks(): void {
    this.nickCounts.clear();
    for (const member of this.members) this.nickCounts.set(member.nick, (this.nickCounts.get(member.nick) ?? 0) + 1);
    this.nickList = sortedNicks([...this.nickCounts.keys()]);
    this.nicksCounted = this.members.size;
  }
}

/** Whether another member of the room acts for the same account as `member` (they share its nick there). */
export function accountAlsoIn(room: Room | undefined, member: Member): boolean {
  // Only an account's connections share a nick; asking a guest's principal of every member would be O(room).
  if (!room || !isAccountPrincipal(member.principal)) return false;
  for (const other of room.members) if (other !== member && sameAccount(other, member)) return true;
  return false;
}

/** The rooms where any of `holders` (a nick's, on one node) acting for `principal` is a member. */
export function roomsOfPrincipal(holders: Iterable<Member>, principal: string): Set<string> {
  const rooms = new Set<string>();
  for (const holder of holders) if (holder.principal === principal) for (const room of holder.rooms) rooms.add(room);
  return rooms;
}

/** Why a room could not be opened: the server's table is full, or its creator's share of it. */
export type RoomRefusal = 'server_full' | 'creator_full';

export class RoomRegistry<M extends Member = Member> {
  private readonly rooms = new Map<string, Room<M>>();
  /** Rooms in the table per creator (an address): nobody may fill the table alone. */
  private readonly createdBy = new Map<string, number>();

  constructor(
    private readonly historySize: number,
    private readonly maxRooms: number,
    /** Where history is kept beyond the in-memory window; none: memory only. */
    readonly store?: HistoryStore,
    private readonly maxRoomsPerCreator = Infinity,
  ) {}

  get(name: string): Room<M> | undefined {
    return this.rooms.get(name);
  }

  /**
   * The room, created for `creator` when new; refused when the creator already has its share of the table, or the
   * table is full and no room in it is empty to forget.
   */
  open(name: string, creator = ''): Room<M> | RoomRefusal {
    let room = this.rooms.get(name);
    if (room) return room;
    if ((this.createdBy.get(creator) ?? 0) >= this.maxRoomsPerCreator) return 'creator_full';
    if (this.rooms.size >= this.maxRooms && !this.forgetOldestEmpty()) return 'server_full';
    room = new Room<M>(name, this.historySize, this.store);
    room.creator = creator;
    this.rooms.set(name, room);
    this.createdBy.set(creator, (this.createdBy.get(creator) ?? 0) + 1);
    return room;
  }

  /** Retention's rule on every room's ring (History.forgetExpired). */
  forgetExpiredHistory(keepNewest: number, notBefore: number): void {
    for (const room of this.rooms.values()) room.history.forgetExpired(keepNewest, notBefore);
  }

  /** Forget rooms empty since before `before` (their history stays in the store, read again on the next join). */
  forgetEmptySince(before: number): void {
    for (const room of [...this.rooms.values()]) {
      if (room.members.size === 0 && room.lastActive < before) this.forget(room);
    }
  }

  private forget(room: Room<M>): void {
    this.rooms.delete(room.name);
    const count = (this.createdBy.get(room.creator) ?? 1) - 1;
    if (count > 0) this.createdBy.set(room.creator, count);
    else this.createdBy.delete(room.creator);
  }

  /** Rooms that have members, by name. */
  occupied(): Room<M>[] {
    return [...this.rooms.values()].filter((room) => room.members.size > 0).sort((a, b) => byName(a.name, b.name));
  }

  private forgetOldestEmpty(): boolean {
    let oldest: Room<M> | undefined;
    for (const room of this.rooms.values()) {
      if (room.members.size === 0 && (!oldest || room.lastActive < oldest.lastActive)) oldest = room;
    }
    if (!oldest) return false;
    this.forget(oldest);
    return true;
  }
}
