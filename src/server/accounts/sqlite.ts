// Accounts of one node in SQLite: `accounts.sqlite` in the data dir (apart from history, which has its own
// lock and retention), or in memory when there is no data dir. WAL mode: `chat-server accounts` may change it
// from the shell while the server runs; each statement is its own transaction.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { nickKey } from '../../protocol/index.js';
import { newAccountId } from './secrets.js';
import type { Account, AccountRecord, AccountStore } from './store.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    nick_key TEXT NOT NULL UNIQUE,
    nick TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tokens_by_account ON tokens (account_id);
  CREATE TABLE IF NOT EXISTS admins (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE
  );
`;

interface Row {
  id: string;
  nick: string;
  password_hash: string;
  created: string;
}

const toRecord = (row: Row): AccountRecord => ({ id: row.id, nick: row.nick, passwordHash: row.password_hash, created: row.created });

export class SqliteAccountStore implements AccountStore {
  private readonly db: Database.Database;
  private findStatement: Database.Statement | undefined;

  /** `path` null: in memory, gone when the server stops. */
  constructor(path: string | null) {
    if (path !== null) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  async find(nick: string): Promise<AccountRecord | null> {
    // Asked on every join and nick change with a nick: prepared once.
    this.findStatement ??= this.db.prepare('SELECT * FROM accounts WHERE nick_key = ?');
    const row = this.findStatement.get(nickKey(nick)) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  async create(nick: string, passwordHash: string): Promise<Account | null> {
    const account = { id: newAccountId(), nick };
    const inserted = this.db
      .prepare('INSERT OR IGNORE INTO accounts (id, nick_key, nick, password_hash, created) VALUES (?, ?, ?, ?, ?)')
      .run(account.id, nickKey(nick), nick, passwordHash, new Date().toISOString());
    return inserted.changes === 1 ? account : null;
  }

  async setPassword(account: Account, passwordHash: string): Promise<void> {
    this.db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ?').run(passwordHash, account.id);
  }

  async remove(nick: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM accounts WHERE nick_key = ?').run(nickKey(nick)).changes === 1;
  }

  async list(): Promise<AccountRecord[]> {
    return (this.db.prepare('SELECT * FROM accounts ORDER BY nick_key').all() as Row[]).map(toRecord);
  }

  async addToken(account: Account, tokenHash: string): Promise<void> {
    this.db.prepare('INSERT INTO tokens (token_hash, account_id, created) VALUES (?, ?, ?)').run(tokenHash, account.id, new Date().toISOString());
  }

  async tokenAccount(tokenHash: string): Promise<Account | null> {
    const row = this.db
      .prepare('SELECT accounts.id, accounts.nick FROM tokens JOIN accounts ON accounts.id = tokens.account_id WHERE token_hash = ?')
      .get(tokenHash) as Account | undefined;
    return row ? { id: row.id, nick: row.nick } : null;
  }

  async revokeToken(tokenHash: string): Promise<Account | null> {
    const account = await this.tokenAccount(tokenHash);
    this.db.prepare('DELETE FROM tokens WHERE token_hash = ?').run(tokenHash);
    return account;
  }

  async revokeAll(account: Account): Promise<void> {
    this.db.prepare('DELETE FROM tokens WHERE account_id = ?').run(account.id);
  }

  async setAdmin(nick: string, admin: boolean): Promise<boolean> {
    const account = await this.find(nick);
    if (!account) return false;
    if (admin) this.db.prepare('INSERT OR IGNORE INTO admins (account_id) VALUES (?)').run(account.id);
    else this.db.prepare('DELETE FROM admins WHERE account_id = ?').run(account.id);
    return true;
  }

  async isAdmin(accountId: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM admins WHERE account_id = ?').get(accountId) !== undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
