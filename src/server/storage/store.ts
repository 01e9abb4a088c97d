// Where room history lives beyond the in-memory window (docs/persistence.md). The server keeps the newest
// `historyPerRoom` records of each open room in a ring (history.ts) so that joins never touch the disk; a store
// keeps everything else and the per-room seq counter across restarts.

import type { RoomRecord } from '../../protocol/index.js';

export interface HistoryStore {
  /**
   * Queue a record for writing. It is written with the others of this event-loop turn, in one transaction.
   * `line`: the record's JSON as already serialised for the wire (with or without the newline), so that it is not
   * serialised twice.
   */
  add(record: RoomRecord, line?: string): void;
  /** The seq to continue from in `room`: at least every seq ever given out (0 for a room never seen). */
  lastSeq(room: string): number;
  /**
   * Record, durably and at once, that seqs up to `upTo` may be given out in `room`. False when it could not be
   * written (a full disk): then no seq past the last reservation that succeeded may be given out.
   */
  reserve(room: string, upTo: number): boolean;
  /** Up to `limit` records of `room` with seq < before, oldest first (the newest of them). */
  before(room: string, before: number, limit: number): RoomRecord[];
  /** Write what is queued now (the server does it after each turn's output); a failure is reported, not thrown. */
  flush(): void;
  /** Flush and release the store; idempotent. */
  close(): void;
  /** After close: resolves once nothing of the store touches its files any more (a thread of its own may). */
  whenClosed?(): Promise<void>;
}

export interface RetentionPolicy {
  /** Records kept per room; older ones are deleted. 0 keeps all. */
  retainMessages: number;
  /** Records older than this many days are deleted. 0 keeps them forever. */
  retainDays: number;
}
