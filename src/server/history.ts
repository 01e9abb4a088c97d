// A fixed-size ring of a room's most recent numbered events (protocol.md "History").

import type { RoomRecord } from '../protocol/index.js';

export class History {
  private readonly ring: (RoomRecord | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array(Math.max(0, capacity));
  }

  add(record: RoomRecord): void {
    if (this.capacity === 0) return;
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Oldest first, only records with seq > since. */
  since(since = 0): RoomRecord[] {
    return this.all().filter((record) => record.seq > since);
  }

  /** Up to `limit` records with seq < before, oldest first. */
  before(before: number, limit: number): RoomRecord[] {
    const older = this.all().filter((record) => record.seq < before);
    return older.slice(Math.max(0, older.length - limit));
  }

  all(): RoomRecord[] {
    const out: RoomRecord[] = [];
    const start = (this.next - this.count + this.capacity) % Math.max(1, this.capacity);
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % this.capacity]!);
    return out;
  }
}
