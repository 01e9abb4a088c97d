// Conversations on one node (state/conversation.ts) in SQLite: `conversations.sqlite` in the data dir, apart from
// history (whose writer has its own batching and retention), or in memory without a data dir. Authors of messages
// sent by accounts (and their senders' read markers) are queued and written in the history writer's transaction,
// with the messages themselves (the file is ATTACHed to the writer's connection): one write path per message, and
// the hot path never waits for the disk (guests' stay in memory). Without a writer they are written once per
// event-loop turn. Changes and read markers are written at once (each is one user's action, paced by flood control).

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Companion, SqliteHistoryStore } from './sqlite.js';
import { applyChange, parseChange, RecentAuthors, type ChangeLogEntry, type ChangeOutcome, type ChangeRequest, type ConversationStore, type ReadMarker, type StoredChange } from '../state/conversation.js';

/** The tables, in the main database (`db` '') or in one ATTACHed (`db` 'name.'). */
const tablesIn = (db = '') => `
  CREATE TABLE IF NOT EXISTS ${db}authors (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    principal TEXT NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS ${db}changes (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS ${db}read_markers (
    principal TEXT NOT NULL,
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (principal, room)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS ${db}change_log (
    conversation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    ts TEXT NOT NULL,
    PRIMARY KEY (conversation, seq)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS ${db}change_log_at ON change_log (conversation, at);
`;

interface Sent {
  room: string;
  seq: number;
  principal: string;
  window: number;
  account: { maxRooms: number };
}

const sentKey = (room: string, seq: number) => `${room}\n${seq}`;

/** What the history writer's connection calls the conversations database it has ATTACHed. */
const ATTACHED = 'conversations';

/** The statements that write a sent message's author and its sender's marker, on one connection. */
function sentStatements(db: Database.Database, schema: string) {
  return {
    addAuthor: db.prepare(`INSERT OR REPLACE INTO ${schema}.authors (room, seq, principal) VALUES (?, ?, ?)`),
    forgetAuthors: db.prepare(`DELETE FROM ${schema}.authors WHERE room = ? AND seq <= ?`),
    marker: db.prepare(`SELECT seq FROM ${schema}.read_markers WHERE principal = ? AND room = ?`).pluck(),
    markerCount: db.prepare(`SELECT count(*) FROM ${schema}.read_markers WHERE principal = ?`).pluck(),
    raiseMarker: db.prepare(
      `INSERT INTO ${schema}.read_markers (principal, room, seq) VALUES (?, ?, ?) ON CONFLICT (principal, room) DO UPDATE SET seq = max(seq, excluded.seq)`,
    ),
  };
}
type SentStatements = ReturnType<typeof sentStatements>;

/**
 * What retention took from a room's history (the records below its oldest kept seq; all of them when none is kept)
 * takes its authors, changes and change-log entries along, as on a cluster (cluster/retention.ts): a `since` resume
 * brings no change of a message that is gone. Each room's range is deleted by primary key, not by a scan.
 */
function forgetPrunedStep(db: Database.Database, schema: string): () => void {
  const floors = db.prepare(
    'SELECT room, coalesce((SELECT min(seq) FROM main.records WHERE records.room = rooms.room), last_seq + 1) AS floor FROM main.rooms',
  );
  const below = [
    db.prepare(`DELETE FROM ${schema}.authors WHERE room = ? AND seq < ?`),
    db.prepare(`DELETE FROM ${schema}.changes WHERE room = ? AND seq < ?`),
    db.prepare(`DELETE FROM ${schema}.change_log WHERE conversation = ? AND seq < ?`),
  ];
  return db.transaction(() => {
    for (const { room, floor } of floors.all() as { room: string; floor: number }[]) {
      for (const statement of below) statement.run(room, floor);
    }
  });
}

/**
 * ATTACH the conversations database at `path` to the history writer's connection (with its tables, if its own store
 * has not made them yet: the `--storage-thread` writer starts first), and have each retention run of that writer
 * take along what belongs to the records it deleted. Retention ran once already, as the writer opened: caught up
 * here. The name it is ATTACHed under is returned.
 */
export function attachToHistoryWriter(history: SqliteHistoryStore, path: string): string {
  history.db.prepare(`ATTACH DATABASE ? AS ${ATTACHED}`).run(path);
  history.db.pragma(`${ATTACHED}.journal_mode = WAL`);
  // Per database of a connection: an attached one would sync every commit (FULL) otherwise.
  history.db.pragma(`${ATTACHED}.synchronous = NORMAL`);
  history.db.exec(tablesIn(`${ATTACHED}.`));
  const forget = forgetPrunedStep(history.db, ATTACHED);
  forget();
  history.afterPrune.push(forget);
  return ATTACHED;
}

export class SqliteConversationStore implements ConversationStore {
  private readonly db: Database.Database;
  /** Sent messages not written yet, by room and seq: their authors are known all the same. */
  /** Replaced, not cleared, after each write: a cleared long-lived Map keeps its old table, and all it pointed at, until a full GC. */
  private queued = new Map<string, Sent>();
  private readonly recent = new RecentAuthors();
  private flushing = false;
  private readonly statements;
  /** The same writes on the history writer's connection, when this database is ATTACHed to it. */
  private readonly inHistory: SentStatements | null = null;

  /**
   * `path` null: in memory, gone when the server stops. `history`: the room history writer (on the same data dir),
   * whose transactions take the authors of sent messages.
   */
  constructor(path: string | null, private readonly history?: SqliteHistoryStore) {
    if (path !== null) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(tablesIn());
    this.statements = {
      addAuthor: this.db.prepare('INSERT OR REPLACE INTO authors (room, seq, principal) VALUES (?, ?, ?)'),
      forgetAuthors: this.db.prepare('DELETE FROM authors WHERE room = ? AND seq <= ?'),
      author: this.db.prepare('SELECT principal FROM authors WHERE room = ? AND seq = ?').pluck(),
      change: this.db.prepare('SELECT state FROM changes WHERE room = ? AND seq = ?').pluck(),
      changesBetween: this.db.prepare('SELECT seq, state FROM changes WHERE room = ? AND seq BETWEEN ? AND ?'),
      saveChange: this.db.prepare('INSERT OR REPLACE INTO changes (room, seq, state) VALUES (?, ?, ?)'),
      marker: this.db.prepare('SELECT seq FROM read_markers WHERE principal = ? AND room = ?').pluck(),
      markerCount: this.db.prepare('SELECT count(*) FROM read_markers WHERE principal = ?').pluck(),
      raiseMarker: this.db.prepare(
        'INSERT INTO read_markers (principal, room, seq) VALUES (?, ?, ?) ON CONFLICT (principal, room) DO UPDATE SET seq = max(seq, excluded.seq)',
      ),
      markers: this.db.prepare('SELECT room, seq FROM read_markers WHERE principal = ? ORDER BY room'),
      logChange: this.db.prepare(
        'INSERT INTO change_log (conversation, seq, at, ts) VALUES (?, ?, ?, ?) ON CONFLICT (conversation, seq) DO UPDATE SET at = max(at, excluded.at), ts = excluded.ts',
      ),
      forgetOldChanges: this.db.prepare('DELETE FROM change_log WHERE conversation = ? AND at < ?'),
      changedSince: this.db.prepare('SELECT seq, ts FROM change_log WHERE conversation = ? AND at >= ? AND seq <= ? ORDER BY at, ts, seq'),
      forgetAllAuthors: this.db.prepare('DELETE FROM authors WHERE room = ?'),
      forgetAllChanges: this.db.prepare('DELETE FROM changes WHERE room = ?'),
      forgetChangeLog: this.db.prepare('DELETE FROM change_log WHERE conversation = ?'),
      forgetMarker: this.db.prepare('DELETE FROM read_markers WHERE principal = ? AND room = ?'),
    };
    if (path !== null && history) {
      this.inHistory = sentStatements(history.db, attachToHistoryWriter(history, path));
    }
    // A guest's private conversations live as long as its connection (state/privates.ts): none survives a restart.
    // Their keys hold a guest principal (`g:`), which no room name can (protocol/names.ts: no `:`).
    for (const [table, key] of [['authors', 'room'], ['changes', 'room'], ['read_markers', 'room'], ['change_log', 'conversation']]) {
      this.db.prepare(`DELETE FROM ${table} WHERE ${key} LIKE 'g:%' OR ${key} LIKE '%|g:%'`).run();
    }
  }

  noteSent(room: string, seq: number, principal: string, window: number, account: { maxRooms: number } | null): void {
    this.recent.add(room, seq, principal, window);
    // A guest's authorship ends with its connection: only accounts' go to the disk.
    if (!account) return;
    this.queued.set(sentKey(room, seq), { room, seq, principal, window, account });
    if (!this.flushing) {
      this.flushing = true;
      if (!this.inHistory || !this.history!.alsoInBatch(this.inHistoryBatch)) setImmediate(() => this.flush());
    }
  }

  /** Write the queued authors (and their senders' markers) in one transaction of this store's own. */
  flush(): void {
    this.flushing = false;
    if (this.queued.size === 0) return;
    this.db.transaction(() => this.writeQueued(this.statements))();
  }

  /** Inside the history writer's transaction; if that fails before this store's writes ran, they are written alone. */
  private readonly inHistoryBatch: Companion = {
    write: (): void => {
      this.flushing = false;
      this.writeQueued(this.inHistory!);
    },
    failed: (): void => {
      this.flushing = false;
      try {
        if (this.queued.size > 0) this.flush();
      } catch {
        // The disk refused the batch and this too: these authors are lost with their messages.
      }
    },
  };

  /**
   * Each author, then once per room the authors out of the window of its newest message, and once per sender and
   * room its marker raised to its newest message: what one write per message would leave, with fewer statements.
   */
  private writeQueued(statements: SentStatements): void {
    const newestByRoom = new Map<string, Sent>();
    const newestBySender = new Map<string, Sent>();
    for (const sent of this.queued.values()) {
      statements.addAuthor.run(sent.room, sent.seq, sent.principal);
      const inRoom = newestByRoom.get(sent.room);
      if (!inRoom || inRoom.seq - inRoom.window < sent.seq - sent.window) newestByRoom.set(sent.room, sent);
      const bySender = sentKey(sent.room, 0) + sent.principal;
      if ((newestBySender.get(bySender)?.seq ?? 0) < sent.seq) newestBySender.set(bySender, sent);
    }
    this.queued = new Map();
    for (const { room, seq, window } of newestByRoom.values()) if (seq > window) statements.forgetAuthors.run(room, seq - window);
    for (const { room, seq, principal, account } of newestBySender.values()) raise(statements, principal, room, seq, account.maxRooms);
  }

  author(room: string, seq: number): string | null {
    const recent = this.recent.get(room, seq);
    if (recent) return recent;
    return (this.statements.author.get(room, seq) as string | undefined) ?? null;
  }

  changes(room: string, seqs: number[]): Map<number, StoredChange> {
    const found = new Map<number, StoredChange>();
    if (seqs.length === 0) return found;
    const wanted = new Set(seqs);
    const rows = this.statements.changesBetween.all(room, Math.min(...seqs), Math.max(...seqs)) as { seq: number; state: string }[];
    for (const row of rows) if (wanted.has(row.seq)) found.set(row.seq, parseChange(row.state));
    return found;
  }

  change(room: string, seq: number, request: ChangeRequest): ChangeOutcome {
    return this.db.transaction((): ChangeOutcome => {
      const stored = this.statements.change.get(room, seq) as string | undefined;
      const outcome = applyChange(stored === undefined ? {} : parseChange(stored), request);
      if (typeof outcome === 'object') this.statements.saveChange.run(room, seq, JSON.stringify(outcome));
      return outcome;
    })();
  }

  markRead(principal: string, room: string, seq: number, maxRooms: number): number {
    return this.db.transaction(() => raise(this.statements, principal, room, seq, maxRooms))();
  }

  marker(principal: string, room: string): number | null {
    return (this.statements.marker.get(principal, room) as number | undefined) ?? null;
  }

  markers(principal: string): ReadMarker[] {
    return this.statements.markers.all(principal) as ReadMarker[];
  }

  logChange(conversation: string, seq: number, at: number, ts: string, window: number): void {
    this.db.transaction(() => {
      this.statements.logChange.run(conversation, seq, at, ts);
      this.statements.forgetOldChanges.run(conversation, at - window);
    })();
  }

  changedSince(conversation: string, since: number): ChangeLogEntry[] {
    return this.statements.changedSince.all(conversation, since, since) as ChangeLogEntry[];
  }

  forget(conversation: string, parties: readonly string[]): void {
    this.flush();
    this.db.transaction(() => {
      this.statements.forgetAllAuthors.run(conversation);
      this.statements.forgetAllChanges.run(conversation);
      this.statements.forgetChangeLog.run(conversation);
      for (const party of parties) this.statements.forgetMarker.run(party, conversation);
    })();
  }

  close(): void {
    if (!this.db.open) return;
    // The writer may have closed first: what it has not taken is written here.
    this.flush();
    this.db.close();
  }
}

/** Raise the principal's marker in `room` to `seq` (never lowers it); the marker now, or -1 (markers for `maxRooms` other rooms). */
function raise(statements: SentStatements, principal: string, room: string, seq: number, maxRooms: number): number {
  const now = statements.marker.get(principal, room) as number | undefined;
  if (now === undefined && (statements.markerCount.get(principal) as number) >= maxRooms) return -1;
  if (now !== undefined && now >= seq) return now;
  statements.raiseMarker.run(principal, room, seq);
  return seq;
}
