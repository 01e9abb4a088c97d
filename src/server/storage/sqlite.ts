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

/** Rows per multi-row INSERT (the rest of a batch goes one by one). */
const INSERT_ROWS = 16;
/** How often retention runs (it also runs when the store opens). */
const PRUNE_EVERY_MS = 60_000;
const DAY_MS = 24 * 3600 * 1000;
/**
 * 3: `records` is a rowid table with a unique index on (room, seq), no longer clustered by (room, seq): each insert
 * appended a row to the room's own leaf page, so a commit spread over 1000 rooms wrote ~1000 pages (80 µs per
 * record, against 20 µs now; one room: 12 -> 11 µs).
 */
const SCHEMA_VERSION = 3;
/** WAL pages after which the writer checkpoints by itself: only when the checkpoint thread falls behind (16 MiB). */
const BACKSTOP_CHECKPOINT_PAGES = 4096;

/** Another store's writes that go in a batch's transaction (alsoInBatch). */
export interface Companion {
  write(): void;
  failed(): void;
}

/** A record as stored: its line as sent (the wire's JSON, without the newline), or without the per-delivery `history` flag. */
export function storedLine(record: RoomRecord, line?: string): string {
  if (line === undefined || 'history' in record) {
    const { history: _history, ...stored } = record as RoomRecord & { history?: boolean };
    return JSON.stringify(stored);
  }
  return line.endsWith('\n') ? line.slice(0, -1) : line;
}

export class SqliteHistoryStore implements HistoryStore {
  readonly path: string;
  /** The connection; public for maintenance and for tests (`query_only` stands in for a full disk). */
  readonly db: Database.Database;
  private pending: RoomRecord[] = [];
  /** Each pending record's JSON, as sent (serialised once for the wire and the disk). */
  private pendingLines: string[] = [];
  /** The last `ts` parsed and its milliseconds: the records of one millisecond share their stamp. */
  private lastTs = '';
  private lastTsMillis = 0;
  private scheduled = false;
  /** Batches taken for writing so far, and the one the fallback commit was scheduled for. */
  private batch = 0;
  private fallbackBatch = -1;
  private closed = false;
  private readonly pruneTimer: NodeJS.Timeout | null;
  private readonly insertRecord: Database.Statement;
  private readonly insertRows: Database.Statement;
  private readonly selectLastSeq: Database.Statement;
  private readonly reserveSeq: Database.Statement;
  private readonly setReserved: Database.Statement;
  /** The highest seq this process gave out in each room (every seq given out is added here): what a clean stop keeps. */
  private readonly givenOut = new Map<string, number>();
  /** Reservations have been failing since the last one written: the first failure is reported, not every retry. */
  private reserveFailing = false;
  private readonly selectBefore: Database.Statement;
  private readonly writeBatch: (records: RoomRecord[], lines: string[], companions: Companion[]) => void;
  private readonly syncLastSeqs: Database.Statement;
  private readonly checkpointer: Checkpointer;
  /** Writes of other stores that belong with this batch's records (alsoInBatch), run inside its transaction. */
  private companions: Companion[] = [];
  /** Told after each batch is written (the search index follows, storage/local-privates.ts); null: nobody. */
  onBatch: (() => void) | null = null;
  /** Called after retention ran (the search index purges what it dropped). */
  onPruned: (() => void) | null = null;
  /**
   * Steps of other stores ATTACHed to this connection that forget what retention took (the conversations database:
   * authors, changes and change-log entries of records gone), run after each retention run.
   */
  readonly afterPrune: (() => void)[] = [];
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
    this.selectLastSeq = this.db.prepare('SELECT max(last_seq, reserved) FROM rooms WHERE room = ?').pluck();
    this.reserveSeq = this.db.prepare(
      'INSERT INTO rooms (room, last_seq, reserved) VALUES (?, 0, ?) ON CONFLICT (room) DO UPDATE SET reserved = max(reserved, excluded.reserved)',
    );
    this.setReserved = this.db.prepare('UPDATE rooms SET reserved = ? WHERE room = ?');
    this.selectBefore = this.db
      .prepare('SELECT json FROM records WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?')
      .pluck();
    // One INSERT per record and nothing else: a room's last_seq is brought up to date by retention and a clean stop
    // (numbering continues from `reserved`, which is always ahead); bumping it per batch doubled the statements when
    // a turn's records are spread over many rooms.
    // Rows go INSERT_ROWS to a statement: one statement per record cost half again as much per record.
    this.insertRows = this.db.prepare(
      `INSERT OR IGNORE INTO records (room, seq, ts, json) VALUES ${Array(INSERT_ROWS).fill('(?, ?, ?, ?)').join(', ')}`,
    );
    const values: unknown[] = new Array(INSERT_ROWS * 4);
    this.writeBatch = this.db.transaction((records: RoomRecord[], lines: string[], companions: Companion[]) => {
      let i = 0;
      for (; i + INSERT_ROWS <= records.length; i += INSERT_ROWS) {
        for (let j = 0; j < INSERT_ROWS; j++) {
          const record = records[i + j]!;
          values[4 * j] = record.room;
          values[4 * j + 1] = record.seq;
          values[4 * j + 2] = this.millis(record.ts);
          values[4 * j + 3] = lines[i + j];
        }
        this.insertRows.run(values);
      }
      for (; i < records.length; i++) {
        const record = records[i]!;
        this.insertRecord.run(record.room, record.seq, this.millis(record.ts), lines[i]);
      }
      for (const companion of companions) companion.write();
    });
    this.syncLastSeqs = this.db.prepare(
      'UPDATE rooms SET last_seq = max(last_seq, coalesce((SELECT max(seq) FROM records WHERE records.room = rooms.room), 0))',
    );
    this.prune();
    this.pruneTimer =
      retention.retainMessages > 0 || retention.retainDays > 0
        ? setInterval(() => this.prune(), PRUNE_EVERY_MS).unref()
        : null;
  }

  add(record: RoomRecord, line?: string): void {
    if (this.closed) return;
    this.pending.push(record);
    this.pendingLines.push(storedLine(record, line));
    if ((this.givenOut.get(record.room) ?? 0) < record.seq) this.givenOut.set(record.room, record.seq);
    if (!this.scheduled) this.scheduleFallback();
  }

  /**
   * Have `companion.write` run inside the next batch's transaction, on this connection (another database ATTACHed to
   * it, storage/conversation-sqlite.ts): what goes with a message is committed with it, in one write. False once
   * closed (the caller writes by itself). If the batch cannot be written, `companion.failed` runs after the rollback.
   */
  alsoInBatch(companion: Companion): boolean {
    if (this.closed) return false;
    this.companions.push(companion);
    if (!this.scheduled) this.scheduleFallback();
    return true;
  }

  /**
   * Normally the server's output pass commits the batch right after its writes (flush() below); this is for
   * records with no output, one turn later. It commits only a batch no pass has taken: run blindly, it came first in
   * the next turn's check phase and committed that turn's records before their fan-out was written.
   */
  private scheduleFallback(): void {
    this.scheduled = true;
    this.fallbackBatch = this.batch;
    setImmediate(() => setImmediate(this.flushSoon));
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    if (this.batch === this.fallbackBatch) this.flush();
    else if ((this.pending.length > 0 || this.companions.length > 0) && !this.closed) this.scheduleFallback();
  };

  flush(): void {
    if ((this.pending.length === 0 && this.companions.length === 0) || this.closed) return;
    this.batch++;
    const records = this.pending;
    const lines = this.pendingLines;
    const companions = this.companions;
    this.pending = [];
    this.pendingLines = [];
    this.companions = [];
    try {
      this.writeBatch(records, lines, companions);
    } catch (error) {
      this.onWriteError(error as Error, records.length);
      for (const companion of companions) companion.failed();
      return;
    }
    this.checkpointer.wrote();
    this.onBatch?.();
  }

  private millis(ts: string): number {
    if (ts !== this.lastTs) {
      this.lastTs = ts;
      this.lastTsMillis = Date.parse(ts) || Date.now();
    }
    return this.lastTsMillis;
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
    this.flush();
    const { retainMessages, retainDays } = this.retention;
    try {
      // The counter that survives retention: caught up with the records before any of them go.
      if (retainMessages > 0 || retainDays > 0) this.syncLastSeqs.run();
      if (retainMessages > 0) {
        this.db
          .prepare(
            'DELETE FROM records WHERE seq <= (SELECT last_seq FROM rooms WHERE rooms.room = records.room) - ?',
          )
          .run(retainMessages);
      }
      if (retainDays > 0) this.db.prepare('DELETE FROM records WHERE ts < ?').run(Date.now() - retainDays * DAY_MS);
      if (retainMessages > 0 || retainDays > 0) {
        for (const step of this.afterPrune) step();
        this.onPruned?.();
      }
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
    void this.checkpointer.close();
    this.db.close();
    this.releaseLock();
  }

  whenClosed(): Promise<void> {
    return this.checkpointer.close();
  }

  /**
   * Shut down cleanly: each room this process numbered keeps exactly the highest seq it gave out, so the next start
   * continues at last + 1. Not last_seq: records of a batch the disk refused were given out but never stored. When
   * this cannot be written the larger reservations stay, which only skips some numbers.
   */
  private keepExactSeqs(): void {
    try {
      this.db.transaction(() => {
        this.syncLastSeqs.run();
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
  const hadRecords = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'records'").pluck().get() === 1;
  db.transaction(() => {
    if (hadRecords) db.exec('ALTER TABLE records RENAME TO records_v2; DROP INDEX IF EXISTS records_ts;');
    db.exec(`
      CREATE TABLE records (
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        json TEXT NOT NULL
      );
      CREATE UNIQUE INDEX records_room_seq ON records (room, seq);
      CREATE INDEX records_ts ON records (ts);
    `);
    if (hadRecords) db.exec('INSERT INTO records (room, seq, ts, json) SELECT room, seq, ts, json FROM records_v2 ORDER BY room, seq; DROP TABLE records_v2;');
  })();
  db.exec(`
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
