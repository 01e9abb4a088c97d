// Private conversations and offline mailboxes in SQLite (state/privates.ts): in the history database of the
// data dir, or in memory without one. A private message is rarer than a room message: each is committed at once,
// in one transaction with its search entry (storage/search.ts).

import type Database from 'better-sqlite3';
import type { PrivateRecord } from '../../protocol/index.js';
import { isAccountPrincipal } from '../state/principals.js';
import { conversationKey, type PrivateStore, type MailboxLimits, type MailboxRefusal, type PageRequest } from '../state/privates.js';
import type { SearchIndex } from './search.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS private_conversations (
    conv TEXT PRIMARY KEY,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    last_seq INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS private_conversations_a ON private_conversations (a);
  CREATE INDEX IF NOT EXISTS private_conversations_b ON private_conversations (b);
  CREATE TABLE IF NOT EXISTS private_records (
    conv TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (conv, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS private_mailbox (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    sender TEXT NOT NULL,
    json TEXT NOT NULL,
    delivered_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS private_mailbox_recipient ON private_mailbox (recipient, sender);
`;

export class SqlitePrivateStore implements PrivateStore {
  private readonly bump: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly selectBefore: Database.Statement;
  private readonly selectSince: Database.Statement;
  private readonly countWaiting: Database.Statement;
  private readonly countWaitingFrom: Database.Statement;
  private readonly insertWaiting: Database.Statement;
  private readonly selectWaiting: Database.Statement;
  private readonly markDelivered: Database.Statement;
  private readonly dropDelivered: Database.Statement;
  private readonly appendTransaction: (a: string, b: string, draft: Omit<PrivateRecord, 'seq'>) => PrivateRecord;
  private readonly waitingTransaction: (recipient: string) => PrivateRecord[];
  private readonly forgetTransaction: (principal: string) => string[];
  private readonly hasConversation: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly limits: MailboxLimits,
    private readonly index?: SearchIndex,
  ) {
    db.exec(SCHEMA);
    this.bump = db.prepare(
      `INSERT INTO private_conversations (conv, a, b, last_seq) VALUES (?, ?, ?, 1)
       ON CONFLICT (conv) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq`,
    ).pluck();
    this.insert = db.prepare('INSERT INTO private_records (conv, seq, ts, json) VALUES (?, ?, ?, ?)');
    this.selectBefore = db.prepare('SELECT json FROM private_records WHERE conv = ? AND seq < ? ORDER BY seq DESC LIMIT ?').pluck();
    this.selectSince = db.prepare('SELECT json FROM private_records WHERE conv = ? AND seq > ? ORDER BY seq LIMIT ?').pluck();
    this.countWaiting = db.prepare('SELECT count(*) FROM private_mailbox WHERE recipient = ? AND delivered_at IS NULL').pluck();
    this.countWaitingFrom = db
      .prepare('SELECT count(*) FROM private_mailbox WHERE recipient = ? AND sender = ? AND delivered_at IS NULL')
      .pluck();
    this.insertWaiting = db.prepare('INSERT INTO private_mailbox (recipient, sender, json) VALUES (?, ?, ?)');
    this.selectWaiting = db.prepare('SELECT json FROM private_mailbox WHERE recipient = ? ORDER BY id').pluck();
    this.markDelivered = db.prepare('UPDATE private_mailbox SET delivered_at = ? WHERE recipient = ? AND delivered_at IS NULL');
    this.dropDelivered = db.prepare('DELETE FROM private_mailbox WHERE recipient = ? AND delivered_at < ?');
    this.appendTransaction = db.transaction((a: string, b: string, draft: Omit<PrivateRecord, 'seq'>) => {
      const conv = conversationKey(a, b);
      const [first, second] = a < b ? [a, b] : [b, a];
      const seq = this.bump.get(conv, first, second) as number;
      const record = { ...draft, seq } as PrivateRecord;
      this.insert.run(conv, seq, Date.parse(record.ts) || Date.now(), JSON.stringify(record));
      this.index?.addPrivate(conv, record); // search: indexed in the same transaction
      return record;
    });
    this.waitingTransaction = db.transaction((recipient: string) => {
      const now = Date.now();
      this.dropDelivered.run(recipient, now - this.limits.keepMs);
      const records = (this.selectWaiting.all(recipient) as string[]).map((json) => JSON.parse(json) as PrivateRecord);
      this.markDelivered.run(now, recipient);
      return records;
    });
    this.hasConversation = db.prepare('SELECT 1 FROM private_conversations WHERE a = ? OR b = ? LIMIT 1');
    const selectConversations = db.prepare('SELECT conv FROM private_conversations WHERE a = ? OR b = ?').pluck();
    this.forgetTransaction = db.transaction((principal: string) => {
      const convs = selectConversations.all(principal, principal) as string[];
      if (convs.length === 0) return convs; // most guests never had one: nothing to prepare or delete
      for (const conv of convs) {
        db.prepare('DELETE FROM private_records WHERE conv = ?').run(conv);
        db.prepare('DELETE FROM private_conversations WHERE conv = ?').run(conv);
      }
      this.index?.forgetConversations(convs);
      return convs;
    });
    // A guest's conversations live as long as its connection: none survives a restart.
    this.forgetGuests();
  }

  append(a: string, b: string, draft: Omit<PrivateRecord, 'seq'>): PrivateRecord {
    return this.appendTransaction(a, b, draft);
  }

  page(a: string, b: string, { before, since, limit }: PageRequest): PrivateRecord[] {
    const conv = conversationKey(a, b);
    const rows =
      since !== undefined
        ? (this.selectSince.all(conv, since, limit) as string[])
        : (this.selectBefore.all(conv, before ?? Number.MAX_SAFE_INTEGER, limit) as string[]).reverse();
    return rows.map((json) => JSON.parse(json) as PrivateRecord);
  }

  mailboxRefusal(recipient: string, sender: string): MailboxRefusal | null {
    if ((this.countWaiting.get(recipient) as number) >= this.limits.perRecipient) return 'recipient_full';
    if ((this.countWaitingFrom.get(recipient, sender) as number) >= this.limits.perSender) return 'sender_full';
    return null;
  }

  enqueue(recipient: string, sender: string, record: PrivateRecord): void {
    this.insertWaiting.run(recipient, sender, JSON.stringify(record));
  }

  waiting(recipient: string): PrivateRecord[] {
    return this.waitingTransaction(recipient);
  }

  forget(principal: string): string[] {
    if (isAccountPrincipal(principal)) return [];
    // Most guests never had a private conversation: no transaction (a BEGIN and a COMMIT per closing connection).
    if (this.hasConversation.get(principal, principal) === undefined) return [];
    return this.forgetTransaction(principal);
  }

  private forgetGuests(): void {
    const guests = this.db
      .prepare("SELECT a FROM private_conversations WHERE a LIKE 'g:%' UNION SELECT b FROM private_conversations WHERE b LIKE 'g:%'")
      .pluck()
      .all() as string[];
    for (const guest of guests) this.forget(guest);
  }

  /** A database of its own (in memory, without a data dir) is closed; the history store closes a shared one. */
  close(): void {
    if (this.db.memory && this.db.open) this.db.close();
  }
}
