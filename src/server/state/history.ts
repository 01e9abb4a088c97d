// A fixed-size ring of a room's most recent numbered events (protocol.md "History"). With a store behind it
// (storage/store.ts) every record added is also queued for the store, and paging back past the ring reads the
// store; joins and `since` are served from the ring alone.

import type { RoomRecord, ServerMessage } from '../../protocol/index.js';
import type { HistoryStore } from '../storage/store.js';

/** Whether a room event changes a record as a join replays it: an edit, a delete or a reaction. */
export function changesRecord(event: ServerMessage): boolean {
  return event.type === 'edit' || event.type === 'delete' || event.type === 'react';
}

export class History {
  private readonly ring: (RoomRecord | undefined)[];
  private next = 0;
  private count = 0;
  /**
   * Moves whenever a join's replay of this ring would differ: a record came or the ring was reloaded, or a record
   * in it was changed (edited, deleted, reacted to: `noteChanged`). What is made from the ring is good while it stays.
   */
  version = 0;

  constructor(
    readonly capacity: number,
    private readonly backing?: { room: string; store: HistoryStore },
  ) {
    this.ring = new Array(Math.max(0, capacity));
  }

  /** `line`: the record as serialised for the wire, if it was (the store keeps it as it is). */
  add(record: RoomRecord, line?: string): void {
    this.backing?.store.add(record, line);
    this.remember(record);
  }

  /** Put a record in the ring only (it is already stored: loaded from the store or received from the cluster). */
  remember(record: RoomRecord): void {
    if (this.capacity === 0) return;
    this.version++;
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Replace the ring's contents with `records` (sorted by seq, duplicates dropped, the newest kept). */
  replace(records: RoomRecord[]): void {
    this.version++;
    const bySeq = new Map<number, RoomRecord>();
    for (const record of records) bySeq.set(record.seq, record);
    this.next = 0;
    this.count = 0;
    this.ring.fill(undefined);
    for (const seq of [...bySeq.keys()].sort((a, b) => a - b).slice(-this.capacity)) this.remember(bySeq.get(seq)!);
  }

  /** A record in the ring was edited, deleted or reacted to (its stored change is what a replay shows). */
  noteChanged(): void {
    this.version++;
  }

  /**
   * Retention's rule (storage/store.ts RetentionPolicy) on the ring: only the newest `keepNewest` (0: any number) and
   * those stamped at or after `notBefore` (ms; 0: any time) stay, so that a join never replays what the store let go.
   */
  forgetExpired(keepNewest: number, notBefore: number): void {
    let drop = keepNewest > 0 ? Math.max(0, this.count - keepNewest) : 0;
    const start = (this.next - this.count + this.capacity) % Math.max(1, this.capacity);
    if (notBefore > 0) {
      while (drop < this.count && Date.parse(this.ring[(start + drop) % this.capacity]!.ts) < notBefore) drop++;
    }
    if (drop === 0) return;
    for (let i = 0; i < drop; i++) this.ring[(start + i) % this.capacity] = undefined;
    this.count -= drop;
    this.version++;
  }

  /** Oldest first, only records with seq > since. */
  since(since = 0): RoomRecord[] {
    return this.all().filter((record) => record.seq > since);
  }

  /** Up to `limit` records with seq < before, oldest first; read from the store when the ring has too few. */
  before(before: number, limit: number): RoomRecord[] {
    const older = this.all().filter((record) => record.seq < before);
    if (older.length >= limit || !this.backing || (older.length > 0 && older[0]!.seq <= 1)) {
      return older.slice(Math.max(0, older.length - limit));
    }
    return this.backing.store.before(this.backing.room, before, limit);
  }

  all(): RoomRecord[] {
    const out: RoomRecord[] = [];
    const start = (this.next - this.count + this.capacity) % Math.max(1, this.capacity);
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % this.capacity]!);
    return out;
  }
}
