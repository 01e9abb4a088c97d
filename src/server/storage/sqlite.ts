// Room history in SQLite (better-sqlite3), written in batches: every record of one event-loop turn goes in one
// transaction, so a burst of N messages costs one commit, not N. WAL mode with synchronous=NORMAL: a commit is a
// write() into the WAL, so a killed process loses only records not yet committed (the current turn's batch);
// an OS crash or power loss may also lose the last commits since the WAL was synced, and never corrupts the file.
// Seqs are reserved ahead in blocks, committed before a seq of the block is given out, so that a restart after a
// crash never gives out a seq again (docs/persistence.md, "What is guaranteed").

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RoomRecord } from '../../protocol/index.js';
import { Checkpointer } from './checkpointer.js';
import { acquireLock } from './lock.js';
import type { HistoryStore, RetentionPolicy } from './store.js';

/** How often retention runs (it also runs when the store opens). */
const PRUNE_EVERY_MS = 60_000;
const DAY_MS = 24 * 3600 * 1000;
const SCHEMA_VERSION = 2;
/** WAL pages after which the writer checkpoints by itself: only when the checkpoint thread falls behind (16 MiB). */
const BACKSTOP_CHECKPOINT_PAGES = 4096;

export class SqliteHistoryStore implements HistoryStore {
  readonly path: string;
  /** The connection; public for maintenance and for tests (`query_only` stands in for a full disk). */
  readonly db: Database.Database;
  private pending: RoomRecord[] = [];
  private scheduled = false;
  private closed = false;
  private readonly pruneTimer: NodeJS.Timeout | null;
  private readonly insertRecord: Database.Statement;
  private readonly bumpSeq: Database.Statement;
  private readonly selectLastSeq: Database.Statement;
  private readonly reserveSeq: Database.Statement;
  private readonly setReserved: Database.Statement;
  /** The highest seq this process gave out in each room (every seq given out is added here): what a clean stop keeps. */
  private readonly givenOut = new Map<string, number>();
  /** Reservations have been failing since the last one written: the first failure is reported, not every retry. */
  private reserveFailing = false;
  private readonly selectBefore: Database.Statement;
  private readonly writeBatch: (records: RoomRecord[]) => void;
  private readonly checkpointer: Checkpointer;
  /** Search (storage/search.ts): indexes each batch inside its transaction. Set by the server; null: no index. */
  onBatch: ((records: RoomRecord[]) => void) | null = null;
  private readonly releaseLock: () => void;

  constructor(
    path: string,
    private readonly retention: RetentionPolicy = { retainMessages: 0, retainDays: 0 },
    /** A batch that could not be written (disk full, I/O error): it is dropped; chat goes on from memory.
     * `records` is 0 for an error that lost nothing (a seq reservation, a background checkpoint). */
    private readonly onWriteError: (error: Error, records: number) => void = () => {},
  ) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.releaseLock = acquireLock(`${path}.lock`, path);
    try {
      this.db = openDatabase(path);
    } catch (error) {
      this.releaseLock();
      throw error;
    }
    this.checkpointer = new Checkpointer(path, (error) => this.onWriteError(error, 0));
    this.insertRecord = this.db.prepare('INSERT OR IGNORE INTO records (room, seq, ts, json) VALUES (?, ?, ?, ?)');
    this.bumpSeq = this.db.prepare(
      'INSERT INTO rooms (room, last_seq) VALUES (?, ?) ON CONFLICT (room) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)',
    );
    this.selectLastSeq = this.db.prepare('SELECT max(last_seq, reserved) FROM rooms WHERE room = ?').pluck();
    this.reserveSeq = this.db.prepare(
      'INSERT INTO rooms (room, last_seq, reserved) VALUES (?, 0, ?) ON CONFLICT (room) DO UPDATE SET reserved = max(reserved, excluded.reserved)',
    );
    this.setReserved = this.db.prepare('UPDATE rooms SET reserved = ? WHERE room = ?');
    this.selectBefore = this.db
      .prepare('SELECT json FROM records WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?')
      .pluck();
    this.writeBatch = this.db.transaction((records: RoomRecord[]) => {
      const highest = new Map<string, number>();
      for (const record of records) {
        this.insertRecord.run(record.room, record.seq, Date.parse(record.ts) || Date.now(), JSON.stringify(record));
        if ((highest.get(record.room) ?? 0) < record.seq) highest.set(record.room, record.seq);
      }
      for (const [room, seq] of highest) this.bumpSeq.run(room, seq);
      this.onBatch?.(records); // search index hook
    });
    this.prune();
    this.pruneTimer =
      retention.retainMessages > 0 || retention.retainDays > 0
        ? setInterval(() => this.prune(), PRUNE_EVERY_MS).unref()
        : null;
  }

  add(record: RoomRecord): void {
    if (this.closed) return;
    // Stored without the per-delivery `history` flag.
    const { history: _history, ...stored } = record as RoomRecord & { history?: boolean };
    this.pending.push(stored as RoomRecord);
    if ((this.givenOut.get(record.room) ?? 0) < record.seq) this.givenOut.set(record.room, record.seq);
    if (!this.scheduled) {
      this.scheduled = true;
      // Normally the server's output pass commits the batch right after its writes (flush() below); this is for
      // records with no output, one turn later.
      setImmediate(() => setImmediate(this.flushSoon));
    }
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const records = this.pending;
    this.pending = [];
    try {
      this.writeBatch(records);
    } catch (error) {
      this.onWriteError(error as Error, records.length);
      return;
    }
    this.checkpointer.wrote();
  }

  /** Make sure seqs up to `upTo` are never given out again, even after a crash: committed now, not batched. */
  reserve(room: string, upTo: number): boolean {
    if (this.closed) return false;
    try {
      this.reserveSeq.run(room, upTo);
    } catch (error) {
      if (!this.reserveFailing) this.onWriteError(error as Error, 0);
      this.reserveFailing = true;
      return false;
    }
    this.reserveFailing = false;
    return true;
  }

  lastSeq(room: string): number {
    this.flush();
    return (this.selectLastSeq.get(room) as number | undefined) ?? 0;
  }

  before(room: string, before: number, limit: number): RoomRecord[] {
    this.flush();
    const rows = this.selectBefore.all(room, before, limit) as string[];
    return rows.reverse().map((json) => JSON.parse(json) as RoomRecord);
  }

  /** Apply the retention policy now (it also runs every minute). */
  prune(): void {
    if (this.closed) return;
    this.flushSoon();
    const { retainMessages, retainDays } = this.retention;
    try {
      if (retainMessages > 0) {
        this.db
          .prepare(
            'DELETE FROM records WHERE seq <= (SELECT last_seq FROM rooms WHERE rooms.room = records.room) - ?',
          )
          .run(retainMessages);
      }
      if (retainDays > 0) this.db.prepare('DELETE FROM records WHERE ts < ?').run(Date.now() - retainDays * DAY_MS);
    } catch (error) {
      // Deleting needs room in the WAL too: on a full disk it waits for the next run.
      this.onWriteError(error as Error, 0);
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.keepExactSeqs();
    this.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.checkpointer.close();
    this.db.close();
    this.releaseLock();
  }

  /**
   * Shut down cleanly: each room this process numbered keeps exactly the highest seq it gave out, so the next start
   * continues at last + 1. Not last_seq: records of a batch the disk refused were given out but never stored. When
   * this cannot be written the larger reservations stay, which only skips some numbers.
   */
  private keepExactSeqs(): void {
    try {
      this.db.transaction(() => {
        for (const [room, seq] of this.givenOut) this.setReserved.run(seq, room);
      })();
    } catch (error) {
      this.onWriteError(error as Error, 0);
    }
  }
}

/** Open (or create) the database in WAL mode and bring its schema up to date; closed again if that fails. */
function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    migrate(db, path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${path} was written by a newer chat-server (schema ${version}); refusing to touch it`);
  }
  if (version === SCHEMA_VERSION) return; // up to date: nothing to write
  db.exec(`
    CREATE TABLE IF NOT EXISTS records (
      room TEXT NOT NULL,
      seq INTEGER NOT NULL,
      ts INTEGER NOT NULL,
      json TEXT NOT NULL,
      PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS records_ts ON records (ts);
    CREATE TABLE IF NOT EXISTS rooms (
      room TEXT PRIMARY KEY,
      last_seq INTEGER NOT NULL,
      reserved INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
  `);
  const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('rooms') as string[];
  if (!columns.includes('reserved')) db.exec('ALTER TABLE rooms ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0');
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
