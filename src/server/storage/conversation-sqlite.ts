// Conversations on one node (state/conversation.ts) in SQLite: `conversations.sqlite` in the data dir, apart from
// history (whose writer has its own batching and retention), or in memory without a data dir. Authors of messages
// sent by accounts are queued and written once per event-loop turn, like history, so the hot path never waits for
// the disk (guests' stay in memory); changes and read markers are written at once (each is one user's action, paced
// by flood control).

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { applyChange, parseChange, RecentAuthors, type ChangeOutcome, type ChangeRequest, type ConversationStore, type ReadMarker, type StoredChange } from '../state/conversation.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS authors (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    principal TEXT NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS changes (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS read_markers (
    principal TEXT NOT NULL,
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (principal, room)
  ) WITHOUT ROWID;
`;

interface Sent {
  room: string;
  seq: number;
  principal: string;
  window: number;
  account: { maxRooms: number };
}

const sentKey = (room: string, seq: number) => `${room}\n${seq}`;

export class SqliteConversationStore implements ConversationStore {
  private readonly db: Database.Database;
  /** Sent messages not written yet, by room and seq: their authors are known all the same. */
  private readonly queued = new Map<string, Sent>();
  private readonly recent = new RecentAuthors();
  private flushing = false;
  private readonly statements;

  /** `path` null: in memory, gone when the server stops. */
  constructor(path: string | null) {
    if (path !== null) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
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
      forgetAllAuthors: this.db.prepare('DELETE FROM authors WHERE room = ?'),
      forgetChanges: this.db.prepare('DELETE FROM changes WHERE room = ?'),
      forgetMarker: this.db.prepare('DELETE FROM read_markers WHERE principal = ? AND room = ?'),
    };
    // A guest's private conversations live as long as its connection (state/privates.ts): none survives a restart.
    // Their keys hold a guest principal (`g:`), which no room name can (protocol/names.ts: no `:`).
    for (const table of ['authors', 'changes', 'read_markers']) this.db.prepare(`DELETE FROM ${table} WHERE room LIKE 'g:%' OR room LIKE '%|g:%'`).run();
  }

  noteSent(room: string, seq: number, principal: string, window: number, account: { maxRooms: number } | null): void {
    this.recent.add(room, seq, principal, window);
    // A guest's authorship ends with its connection: only accounts' go to the disk.
    if (!account) return;
    this.queued.set(sentKey(room, seq), { room, seq, principal, window, account });
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Write the queued authors (and their senders' markers) in one transaction. */
  flush(): void {
    this.flushing = false;
    if (this.queued.size === 0) return;
    const sent = [...this.queued.values()];
    this.queued.clear();
    this.db.transaction(() => {
      for (const { room, seq, principal, window, account } of sent) {
        this.statements.addAuthor.run(room, seq, principal);
        if (seq > window) this.statements.forgetAuthors.run(room, seq - window);
        this.raise(principal, room, seq, account.maxRooms);
      }
    })();
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
    return this.db.transaction(() => this.raise(principal, room, seq, maxRooms))();
  }

  private raise(principal: string, room: string, seq: number, maxRooms: number): number {
    const now = this.statements.marker.get(principal, room) as number | undefined;
    if (now === undefined && (this.statements.markerCount.get(principal) as number) >= maxRooms) return -1;
    if (now !== undefined && now >= seq) return now;
    this.statements.raiseMarker.run(principal, room, seq);
    return seq;
  }

  marker(principal: string, room: string): number | null {
    return (this.statements.marker.get(principal, room) as number | undefined) ?? null;
  }

  markers(principal: string): ReadMarker[] {
    return this.statements.markers.all(principal) as ReadMarker[];
  }

  forget(conversation: string, parties: readonly string[]): void {
    this.flush();
    this.db.transaction(() => {
      this.statements.forgetAllAuthors.run(conversation);
      this.statements.forgetChanges.run(conversation);
      for (const party of parties) this.statements.forgetMarker.run(party, conversation);
    })();
  }

  close(): void {
    if (!this.db.open) return;
    this.flush();
    this.db.close();
  }
}
