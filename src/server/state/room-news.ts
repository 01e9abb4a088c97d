// Presence news of a room (joins, leaves, nicks, and the other events announced to it), kept once for the room
// until the next presence pass, not once per member: in a join storm each join was one delivery to every member
// (~500 000 for 10 000 joins over 100 rooms). A member follows its room's news with an offset (how much of it it
// has taken) and takes the rest just before anything else is delivered to it and when it is flushed, so each member
// sees every event in the order the server made them, as when each was delivered to it.

/** What the news needs of a member: to follow it (or say it follows another room's), and to be flushed. */
export interface NewsReader {
  /**
   * Follow `news` from its current end. False when the member already follows another room's news: it can take one
   * room's news lazily, or the order between two rooms' news would be lost; it then gets this room's one by one.
   */
  follow(news: RoomNews): boolean;
  /** Stop following `news` once what it owes is taken (the member is flushed at the presence pass, or leaves). */
  unfollow(news: RoomNews): void;
  /** Take what is owed, and write it (a flush pass). */
  flush(): void;
  /** Have `news` flushed at the next presence pass (flush-scheduler.ts). */
  schedulePass(news: RoomNews): void;
  deliver(bytes: Buffer, presence?: boolean): void;
}

/** Once shared by every member that takes the news from its start: the news as one Buffer, made once. */
interface Joined {
  parts: number;
  bytes: Buffer;
}

export class RoomNews {
  readonly parts: Buffer[] = [];
  bytes = 0;
  /** Members that follow it lazily (a member that stopped following is skipped: its `unfollow` was called). */
  private readonly readers: NewsReader[] = [];
  /** Members of the room that follow another room's news: delivered to one by one. */
  private readonly direct = new Set<NewsReader>();
  private joined: Joined | null = null;
  private open = true;
  private scheduled = false;

  constructor(private readonly onClose: (news: RoomNews) => void) {}

  /** A member of the room, either when the news began or when it joined since: it gets what comes from now on. */
  add(member: NewsReader): void {
    if (!this.scheduled) {
      this.scheduled = true;
      member.schedulePass(this);
    }
    if (member.follow(this)) this.readers.push(member);
    else this.direct.add(member);
  }

  /** A member left the room: it gets nothing more of this news (what it was owed up to now, it has taken). */
  remove(member: NewsReader): void {
    if (this.direct.delete(member)) return;
    member.unfollow(this);
  }

  /** One event for every member. */
  push(bytes: Buffer): void {
    this.parts.push(bytes);
    this.bytes += bytes.length;
    for (const member of this.direct) member.deliver(bytes, true);
  }

  /**
   * What a member owes from `from` on, as parts to write: from the start, one Buffer shared with every member that
   * takes it all (made once per pass and room); else the parts themselves.
   */
  taken(from: number): readonly Buffer[] {
    const { parts } = this;
    if (from >= parts.length) return [];
    if (from > 0 || parts.length === 1) return from === 0 ? parts : parts.slice(from);
    if (this.joined === null || this.joined.parts !== parts.length) this.joined = { parts: parts.length, bytes: Buffer.concat(parts, this.bytes) };
    return [this.joined.bytes];
  }

  /** Bytes owed from `from` on. */
  bytesFrom(from: number): number {
    if (from === 0) return this.bytes;
    let bytes = 0;
    for (let i = from; i < this.parts.length; i++) bytes += this.parts[i]!.length;
    return bytes;
  }

  /** The presence pass: no more events join this news; every reader takes the rest and is written to. */
  flush(): void {
    if (!this.open) return;
    this.open = false;
    this.onClose(this);
    for (const reader of this.readers) {
      reader.flush();
      reader.unfollow(this);
    }
  }
}
