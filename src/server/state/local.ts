// One node: everything the backend answers is in this process's memory (and the history store), at once.

import { encode, lineBytes, type AwayEvent, type RoomRecord, type ServerMessage } from '../../protocol/index.js';
import type { AccountStore } from '../accounts/store.js';
import type { ModerationStore } from './moderation-store.js';
import { MemoryLoginThrottle } from '../accounts/throttle.js';
import type { Backend, MemberList, NickHolder, RecordDraft, RoomCount, RoomPage } from './backend.js';
import type { Authorship, ConversationStore } from './conversation.js';
import { changesRecord } from './history.js';
import type { PrivateStore } from './privates.js';
import type { NickRegistry } from './nicks.js';
import type { Searcher } from './search.js';
import { OneNodeTokens } from './session-tokens.js';
import { RoomNews } from './room-news.js';
import { accountAlsoIn, byName, roomsOfPrincipal, sortedNicks, type Member, type Room, type RoomRefusal, type RoomRegistry } from './rooms.js';

/**
 * The same bytes to every member of a room: the event is serialised once. No copy of the set: a delivery may cut
 * off a slow member, which deletes it from the set, and a Set iterator skips deleted entries and goes on from
 * where it was (ECMAScript Set iteration is live).
 */
export function fanOut(members: ReadonlySet<Member> | undefined, bytes: Buffer): void {
  if (!members) return;
  for (const member of members) member.deliver(bytes);
}

/**
 * Presence news (joins, leaves, nicks, changes) to every member of `room`: kept once for the room until the next
 * presence pass (state/room-news.ts), where each member takes it with whatever else it is owed, in order.
 */
export function announceToMembers(room: Room, bytes: Buffer): void {
  if (room.members.size === 0) return;
  let news = room.news;
  if (news === null) {
    news = room.news = new RoomNews((closed) => {
      if (room.news === closed) room.news = null;
    });
    for (const member of room.members) news.add(member);
  }
  news.push(bytes);
}

/** A page of this node's rooms with members, by name: those after `after`, at most `limit`. */
export function roomPage(rooms: RoomRegistry, after: string | undefined, limit: number): RoomPage {
  const occupied = rooms.occupied();
  const start = after === undefined ? 0 : occupied.findIndex((room) => byName(room.name, after) > 0);
  const page = start === -1 ? [] : occupied.slice(start, start + limit);
  const list = page.map((room): RoomCount => ({ room: room.name, members: room.members.size }));
  return start !== -1 && start + limit < occupied.length ? { rooms: list, next: page.at(-1)!.name } : { rooms: list };
}

export class LocalBackend implements Backend {
  constructor(
    private readonly rooms: RoomRegistry,
    private readonly nicks: NickRegistry<Member>,
    readonly accounts: AccountStore,
    readonly moderation: ModerationStore,
    readonly conversations: ConversationStore,
    readonly privates: PrivateStore,
    readonly searcher: Searcher,
  ) {}

  onRoomControl: ((room: string, payload: string) => void) | null = null;

  readonly loginThrottle = new MemoryLoginThrottle();
  readonly tokens = new OneNodeTokens();

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.accounts.close();
    this.moderation.close();
    this.conversations.close();
    this.privates.close();
  }

  claimNick(member: Member, nick: string): boolean {
    if (!this.nicks.claim(nick, member, member.nick === '' ? undefined : member.nick)) return false;
    this.renamed(member, nick);
    return true;
  }

  claimGuest(member: Member): void {
    if (member.nick !== '') this.nicks.release(member.nick, member);
    this.renamed(member, this.nicks.claimGuest(member));
  }

  /** The member's nick is now `nick`; its rooms' sorted nick lists follow. */
  private renamed(member: Member, nick: string): void {
    for (const name of member.rooms) {
      const room = this.rooms.get(name);
      room?.nickWent(member.nick);
      room?.nickCame(nick);
    }
    member.nick = nick;
  }

  releaseNick(member: Member): void {
    if (member.nick !== '') this.nicks.release(member.nick, member);
  }

  suggestNick(nick: string): string {
    return this.nicks.suggest(nick);
  }

  lookup(nick: string): NickHolder | null {
    const owner = this.nicks.owner(nick);
    return owner ? { nick: owner.nick, principal: owner.principal } : null;
  }

  sendPrivate(to: string, make: (nick: string) => ServerMessage): ServerMessage | null {
    const holders = this.nicks.holdersOf(to);
    if (holders.length === 0) return null;
    const event = make(holders[0]!.nick);
    const bytes = encode(event);
    for (const holder of holders) holder.deliver(bytes);
    return event;
  }

  openRoom(name: string, creator: string): Room | RoomRefusal {
    return this.rooms.open(name, creator);
  }

  addMember(room: Room, member: Member): void {
    if (room.members.has(member)) return;
    room.members.add(member);
    member.rooms.add(room.name);
    room.nickCame(member.nick);
    room.news?.add(member);
  }

  removeMember(name: string, member: Member): void {
    member.rooms.delete(name);
    const room = this.rooms.get(name);
    if (!room) return;
    if (room.members.delete(member)) {
      room.nickWent(member.nick);
      room.news?.remove(member);
    }
    room.lastActive = Date.now();
  }

  members(name: string, limit: number): MemberList {
    // In a room of more than `limit`, the first `limit` to have joined (sorting them all on every join would cost
    // a join storm the square of the room's size).
    const room = this.rooms.get(name);
    if (room && room.members.size <= limit) {
      const nicks = room.sortedNicks();
      return { nicks: nicks as string[], count: nicks.length };
    }
    const nicks = room?.distinctNicks() ?? [];
    return { nicks: sortedNicks(nicks, limit), count: nicks.length };
  }

  accountAlsoIn(room: string, member: Member): boolean {
    return accountAlsoIn(this.rooms.get(room), member);
  }

  membersHere(room: string): number {
    return this.rooms.get(room)?.members.size ?? 0;
  }

  listRooms(after: string | undefined, limit: number): RoomPage {
    return roomPage(this.rooms, after, limit);
  }

  append(name: string, draft: RecordDraft, author?: Authorship): number {
    const room = this.rooms.get(name);
    if (!room) return 0;
    const record = draft as RoomRecord;
    record.seq = room.nextSeq();
    // The JSON sent is the JSON stored (the store takes it without the newline).
    const json = JSON.stringify(record);
    room.history.add(record, json);
    // Queued for the history writer's batch, like the record (storage/conversation-sqlite.ts).
    if (author) this.conversations.noteSent(name, record.seq, author.principal, author.window, author.account);
    fanOut(room.members, lineBytes(json));
    return record.seq;
  }

  releaseRoom(): void {
    // One node follows nothing: an empty room stays in the table until it is forgotten like any other.
  }

  announce(room: string, event: ServerMessage): void {
    const here = this.rooms.get(room);
    if (!here) return;
    if (changesRecord(event)) here.history.noteChanged();
    if (here.members.size > 0) announceToMembers(here, encode(event));
  }

  announceToRoomsOf(holder: NickHolder, event: AwayEvent): void {
    for (const room of roomsOfPrincipal(this.nicks.holdersOf(holder.nick), holder.principal)) this.announce(room, { ...event, room });
  }

  before(name: string, before: number | undefined, limit: number): RoomRecord[] {
    const room = this.rooms.get(name);
    if (room) return room.history.before(before ?? room.lastSeq + 1, limit);
    // A room nobody has joined since the restart: its history is on disk, and opening it would cost a room slot.
    return this.rooms.store?.before(name, before ?? Number.MAX_SAFE_INTEGER, limit) ?? [];
  }

  localMembers(room: string): Iterable<Member> {
    return this.rooms.get(room)?.members ?? [];
  }

  roomControl(room: string, payload: string): void {
    this.onRoomControl?.(room, payload);
  }
}
