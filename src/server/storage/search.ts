// Search over what a node keeps in SQLite (docs/protocol.md "Search"): room records and private conversations,
// in two FTS5 indexes over the same documents. The trigram index finds any part of a word of 3 characters or more;
// it cannot find a Chinese or Japanese word of two characters (作业, 考试), so a second index holds the text with
// every run of CJK characters split into its overlapping pairs (今天的作业 -> 今天 天的 的作 作业), tokenized by
// unicode61, which also finds whole 2-letter words. Both are contentless: the text is in the records already.

import type Database from 'better-sqlite3';
import { nickKey, type PrivateRecord, type RoomRecord, type SearchHit } from '../../protocol/index.js';
import type { Searcher, SearchQuery, SearchResult } from '../state/search.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS search_docs (
    id INTEGER PRIMARY KEY,
    room TEXT,
    conv TEXT,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS search_docs_room ON search_docs (room, seq) WHERE room IS NOT NULL;
  CREATE UNIQUE INDEX IF NOT EXISTS search_docs_conv ON search_docs (conv, seq) WHERE conv IS NOT NULL;
  CREATE VIRTUAL TABLE IF NOT EXISTS search_trigram USING fts5 (text, tokenize = 'trigram', content = '', contentless_delete = 1);
  CREATE VIRTUAL TABLE IF NOT EXISTS search_pairs USING fts5 (text, tokenize = 'unicode61', content = '', contentless_delete = 1);
  CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu;
const CJK_ONLY = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+$/u;

/** The text with each run of CJK characters replaced by its overlapping pairs (a lone character stays itself). */
export function cjkPairs(text: string): string {
  return text.replace(CJK_RUN, (run) => {
    const chars = [...run];
    if (chars.length < 2) return ` ${run} `;
    const pairs: string[] = [];
    for (let i = 0; i + 1 < chars.length; i++) pairs.push(chars[i]! + chars[i + 1]!);
    return ` ${pairs.join(' ')} `;
  });
}

/** What a record is found by: a message's text, a file's name. */
export function searchableText(record: RoomRecord | PrivateRecord): string {
  return record.type === 'file' ? record.name : record.text;
}

/** An FTS5 phrase: the word in double quotes, its own quotes doubled (no operator in it is live). */
const phrase = (word: string) => `"${word.replaceAll('"', '""')}"`;

export class SearchIndex implements Searcher {
  private readonly insertDoc: Database.Statement;
  private readonly insertTrigram: Database.Statement;
  private readonly insertPairs: Database.Statement;
  private readonly queries = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.insertDoc = db.prepare('INSERT OR IGNORE INTO search_docs (room, conv, seq, sender) VALUES (?, ?, ?, ?)');
    this.insertTrigram = db.prepare('INSERT INTO search_trigram (rowid, text) VALUES (?, ?)');
    this.insertPairs = db.prepare('INSERT INTO search_pairs (rowid, text) VALUES (?, ?)');
  }

  /** Index a private record: called inside the conversation store's transaction (storage/private.ts). */
  addPrivate(conv: string, record: PrivateRecord): void {
    this.add(null, conv, record);
  }

  /**
   * Index the room records written since the last call, oldest first, at most `limit` of them; how many it indexed.
   * The history writer never waits for the index: the index follows the records table by rowid (records are
   * appended in arrival order, storage/sqlite.ts), and history written before the index existed is indexed the same
   * way. Indexing a record again changes nothing.
   */
  followRooms(limit: number): number {
    if (!this.db.open) return 0;
    this.follow ??= {
      after: this.db.prepare("SELECT value FROM search_meta WHERE key = 'rooms_rowid'").pluck(),
      rows: this.db.prepare('SELECT rowid, room, json FROM records WHERE rowid > ? ORDER BY rowid LIMIT ?'),
      mark: this.db.prepare("INSERT OR REPLACE INTO search_meta VALUES ('rooms_rowid', ?)"),
      step: this.db.transaction((max: number) => {
        const rows = this.follow!.rows.all(Number(this.follow!.after.get() ?? 0), max) as { rowid: number; room: string; json: string }[];
        for (const row of rows) this.add(row.room, null, JSON.parse(row.json) as RoomRecord);
        if (rows.length > 0) this.follow!.mark.run(String(rows.at(-1)!.rowid));
        return rows.length;
      }),
    };
    return this.follow.step(limit) as number;
  }

  private follow?: { after: Database.Statement; rows: Database.Statement; mark: Database.Statement; step: Database.Transaction };

  /**
   * What retention deletes from the records table (storage/sqlite.ts prune) leaves the index too: a trigger takes its
   * document out of every search in the same statement (its room set to NULL: neither a room's nor a
   * conversation's), so a search never finds a trimmed message and its hits are not spent on them; the document and
   * its FTS5 rows (dearer to delete, about 0.5 ms each on a busy machine) go later in slices (`purgeForgotten`,
   * storage/local-privates.ts), off retention's path, and its id stays taken until then. Entries left behind by a
   * server that had no trigger are taken out once, the first time.
   */
  forgetDeletedRecords(): void {
    this.db.exec(`
      CREATE INDEX IF NOT EXISTS search_docs_forgotten ON search_docs (id) WHERE room IS NULL AND conv IS NULL;
      CREATE TRIGGER IF NOT EXISTS search_forgets_deleted_records AFTER DELETE ON records BEGIN
        UPDATE search_docs SET room = NULL WHERE room = old.room AND seq = old.seq;
      END;
    `);
    if (this.db.prepare("SELECT value FROM search_meta WHERE key = 'forgets_deleted'").pluck().get() !== undefined) return;
    this.db.transaction(() => {
      this.db.exec('UPDATE search_docs SET room = NULL WHERE room IS NOT NULL AND NOT EXISTS (SELECT 1 FROM records r WHERE r.room = search_docs.room AND r.seq = search_docs.seq)');
      this.db.prepare("INSERT OR REPLACE INTO search_meta VALUES ('forgets_deleted', '1')").run();
    })();
  }

  /** Delete at most `limit` forgotten documents with their FTS5 rows; how many. */
  purgeForgotten(limit: number): number {
    if (!this.db.open) return 0;
    this.purge ??= {
      ids: this.db.prepare('SELECT id FROM search_docs WHERE room IS NULL AND conv IS NULL LIMIT ?').pluck(),
      deletes: ['search_trigram WHERE rowid', 'search_pairs WHERE rowid', 'search_docs WHERE id'].map((where) => this.db.prepare(`DELETE FROM ${where} = ?`)),
      step: this.db.transaction((max: number) => {
        const ids = this.purge!.ids.all(max) as number[];
        for (const id of ids) for (const statement of this.purge!.deletes) statement.run(id);
        return ids.length;
      }),
    };
    return this.purge.step(limit) as number;
  }

  private purge?: { ids: Database.Statement; deletes: Database.Statement[]; step: Database.Transaction };

  forgetConversations(convs: string[]): void {
    const ids = this.db.prepare('SELECT id FROM search_docs WHERE conv = ?').pluck();
    for (const conv of convs) {
      for (const id of ids.all(conv) as number[]) {
        this.db.prepare('DELETE FROM search_trigram WHERE rowid = ?').run(id);
        this.db.prepare('DELETE FROM search_pairs WHERE rowid = ?').run(id);
      }
      this.db.prepare('DELETE FROM search_docs WHERE conv = ?').run(conv);
    }
  }

  private add(room: string | null, conv: string | null, record: RoomRecord | PrivateRecord): void {
    const inserted = this.insertDoc.run(room, conv, record.seq, nickKey(record.from));
    if (inserted.changes === 0) return; // indexed already
    const text = searchableText(record);
    this.insertTrigram.run(inserted.lastInsertRowid, text);
    this.insertPairs.run(inserted.lastInsertRowid, cjkPairs(text));
  }

  /** Newest first: what `query.principal` may read (every room; its own private conversations) that has every word. */
  search(query: SearchQuery): SearchResult {
    // The words of each index in one MATCH (AND); the first index drives the query newest first (FTS5 reads its
    // rowids in descending order and stops at the LIMIT), the other one, when used, is a filter.
    const byTable = new Map<string, string[]>();
    for (const word of query.words) {
      const table = [...word].length >= 3 ? 'search_trigram' : 'search_pairs';
      const match = table === 'search_pairs' && CJK_ONLY.test(word) ? phrase(cjkPairs(word).trim()) : phrase(word);
      byTable.set(table, [...(byTable.get(table) ?? []), match]);
    }
    const [[driver, driverWords], ...others] = [...byTable] as [string, string[]][];
    const args: unknown[] = [driverWords.join(' AND ')];
    const where: string[] = [`${driver} MATCH ?`];
    for (const [table, words] of others) {
      where.push(`d.id IN (SELECT rowid FROM ${table} WHERE ${table} MATCH ?)`);
      args.push(words.join(' AND '));
    }
    if (query.room !== undefined) {
      where.push('d.room = ?');
      args.push(query.room);
    } else {
      where.push('(d.room IS NOT NULL OR d.conv IN (SELECT conv FROM private_conversations WHERE a = ? OR b = ?))');
      args.push(query.principal, query.principal);
    }
    if (query.from !== undefined) {
      where.push('d.sender = ?');
      args.push(nickKey(query.from));
    }
    const sql = `SELECT d.room, d.conv, d.seq FROM ${driver} JOIN search_docs d ON d.id = ${driver}.rowid
      WHERE ${where.join(' AND ')} ORDER BY ${driver}.rowid DESC LIMIT ?`;
    const cacheKey = `${query.room !== undefined}/${query.from !== undefined}/${[...byTable.keys()].join(',')}`;
    let statement = this.queries.get(cacheKey);
    if (!statement) this.queries.set(cacheKey, (statement = this.db.prepare(sql)));
    const rows = statement.all(...args, query.limit + 1) as { room: string | null; conv: string | null; seq: number }[];
    const hits: SearchHit[] = [];
    for (const row of rows.slice(0, query.limit)) {
      const hit = row.room !== null ? this.roomHit(row.room, row.seq) : this.privateHit(row.conv!, row.seq, query.nick);
      if (hit) hits.push(hit);
    }
    return { hits, more: rows.length > query.limit };
  }

  private roomHit(room: string, seq: number): SearchHit | null {
    const around = this.around('records', 'room', room, seq);
    return around && { room, ...around };
  }

  private privateHit(conv: string, seq: number, nick: string): SearchHit | null {
    const around = this.around('private_records', 'conv', conv, seq);
    if (!around) return null;
    const record = around.record as PrivateRecord;
    return { with: nickKey(record.from) === nickKey(nick) ? record.to : record.from, ...around };
  }

  /** The record and its neighbours; null when it is no longer kept (retention deleted it). */
  private around(table: string, column: string, key: string, seq: number): Omit<SearchHit, 'room' | 'with'> | null {
    const one = (sql: string) => {
      const json = this.db.prepare(`SELECT json FROM ${table} WHERE ${column} = ? AND ${sql}`).pluck().get(key, seq) as string | undefined;
      return json === undefined ? undefined : (JSON.parse(json) as RoomRecord | PrivateRecord);
    };
    const record = one('seq = ?');
    if (!record) return null;
    const before = one('seq < ? ORDER BY seq DESC LIMIT 1');
    const after = one('seq > ? ORDER BY seq LIMIT 1');
    return { record, ...(before && { before }), ...(after && { after }) };
  }
}
