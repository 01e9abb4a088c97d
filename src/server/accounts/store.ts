// Accounts (docs/protocol.md "Accounts"): what the server keeps of each, behind one interface, so that one node
// keeps them in SQLite (sqlite.ts) and a cluster in Redis (cluster/accounts.ts), where every node sees every
// account and accepts every token. Passwords and tokens are kept hashed only (secrets.ts).

/** An account as the rules see it. `id` is random and never reused: a nick registered again is a new account. */
export interface Account {
  id: string;
  /** The nick it owns, as it was spelled at registration. */
  nick: string;
}

export interface AccountRecord extends Account {
  /** The password's scrypt hash (secrets.ts), never the password. */
  passwordHash: string;
  /** When it was registered (ISO 8601). */
  created: string;
}

export interface AccountStore {
  /** The account that owns `nick` (compared by nickKey), or null. */
  find(nick: string): Promise<AccountRecord | null>;
  /** A new account owning `nick`; null when an account already owns it. */
  create(nick: string, passwordHash: string): Promise<Account | null>;
  setPassword(account: Account, passwordHash: string): Promise<void>;
  /** Forget the account and its tokens. False when there was none. */
  remove(nick: string): Promise<boolean>;
  /** Every account, by nick. */
  list(): Promise<AccountRecord[]>;
  /** Remember a login token (its sha256) for the account. */
  addToken(account: Account, tokenHash: string): Promise<void>;
  /** The account a token (by its sha256) logs in as, or null (unknown, revoked, or its account removed). */
  tokenAccount(tokenHash: string): Promise<Account | null>;
  /** Revoke one token; the account it was for, or null when it was unknown. */
  revokeToken(tokenHash: string): Promise<Account | null>;
  /** Revoke every token of the account (a new password). */
  revokeAll(account: Account): Promise<void>;
  /** Make the account with `nick` a server admin (it may run every room), or not; false when there is no such account. */
  setAdmin(nick: string, admin: boolean): Promise<boolean>;
  /** Whether the account (by id) is a server admin. */
  isAdmin(accountId: string): Promise<boolean>;
  close(): void;
}

/** What --accounts allows: no accounts, accounts beside guests (the default), or accounts only. */
export type AccountsMode = 'off' | 'optional' | 'required';
