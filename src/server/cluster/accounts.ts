// Accounts of a cluster, in Redis (docs/scale-out.md "What Redis holds"): every node sees every account and
// accepts every token. Kept hashed like on one node (accounts/secrets.ts).
//
//   chat:account:<nick key>        hash id, nick, hash (the password's), created
//   chat:account-id:<id>           the account's nick key
//   chat:accounts                  set of every account's nick key
//   chat:token:<sha256>            the account id a token logs in as
//   chat:account-tokens:<id>       set of the account's token hashes
//   chat:admins                    set of the ids of the server admins' accounts

import type { Redis } from 'ioredis';
import { nickKey } from '../../protocol/index.js';
import { newAccountId } from '../accounts/secrets.js';
import type { Account, AccountRecord, AccountStore } from '../accounts/store.js';

const k = {
  account: (nick: string) => `chat:account:${nickKey(nick)}`,
  byId: (id: string) => `chat:account-id:${id}`,
  all: 'chat:accounts',
  token: (hash: string) => `chat:token:${hash}`,
  tokens: (id: string) => `chat:account-tokens:${id}`,
  admins: 'chat:admins',
};

/** KEYS account, by id, all; ARGV id, nick, hash, created, nick key. 1 when made, 0 when the nick has an account. */
const CREATE = `
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'nick', ARGV[2], 'hash', ARGV[3], 'created', ARGV[4])
  redis.call('SET', KEYS[2], ARGV[5])
  redis.call('SADD', KEYS[3], ARGV[5])
  return 1`;

/** KEYS account, all; ARGV nick key, key prefixes (by id, token, tokens). 1 when there was an account. */
const REMOVE = `
  local id = redis.call('HGET', KEYS[1], 'id')
  if not id then return 0 end
  for _, hash in ipairs(redis.call('SMEMBERS', ARGV[4] .. id)) do redis.call('DEL', ARGV[3] .. hash) end
  redis.call('DEL', KEYS[1], ARGV[2] .. id, ARGV[4] .. id)
  redis.call('SREM', KEYS[2], ARGV[1])
  return 1`;

export class RedisAccountStore implements AccountStore {
  /** `redis` is asked for the connection each time: a node makes it in start(). */
  constructor(private readonly redis: () => Redis) {}

  async find(nick: string): Promise<AccountRecord | null> {
    return this.read(k.account(nick));
  }

  private async read(accountKey: string): Promise<AccountRecord | null> {
    const fields = await this.redis().hgetall(accountKey);
    if (!fields.id || !fields.nick || !fields.hash) return null;
    return { id: fields.id, nick: fields.nick, passwordHash: fields.hash, created: fields.created ?? '' };
  }

  async create(nick: string, passwordHash: string): Promise<Account | null> {
    const id = newAccountId();
    const made = await this.redis().eval(CREATE, 3, k.account(nick), k.byId(id), k.all, id, nick, passwordHash, new Date().toISOString(), nickKey(nick));
    return made === 1 ? { id, nick } : null;
  }

  /** The account whose id this is, if it still exists. */
  private async byId(id: string): Promise<AccountRecord | null> {
    const key = await this.redis().get(k.byId(id));
    const record = key === null ? null : await this.read(`chat:account:${key}`);
    return record?.id === id ? record : null;
  }

  async setPassword(account: Account, passwordHash: string): Promise<void> {
    const key = await this.redis().get(k.byId(account.id));
    if (key !== null) await this.redis().hset(`chat:account:${key}`, 'hash', passwordHash);
  }

  async remove(nick: string): Promise<boolean> {
    const removed = await this.redis().eval(REMOVE, 2, k.account(nick), k.all, nickKey(nick), k.byId(''), k.token(''), k.tokens(''));
    return removed === 1;
  }

  async list(): Promise<AccountRecord[]> {
    const keys = (await this.redis().smembers(k.all)).sort();
    const records = await Promise.all(keys.map((key) => this.read(`chat:account:${key}`)));
    return records.filter((record): record is AccountRecord => record !== null);
  }

  async addToken(account: Account, tokenHash: string): Promise<void> {
    await this.redis().multi().set(k.token(tokenHash), account.id).sadd(k.tokens(account.id), tokenHash).exec();
  }

  async tokenAccount(tokenHash: string): Promise<Account | null> {
    const id = await this.redis().get(k.token(tokenHash));
    const record = id === null ? null : await this.byId(id);
    return record && { id: record.id, nick: record.nick };
  }

  async revokeToken(tokenHash: string): Promise<Account | null> {
    const account = await this.tokenAccount(tokenHash);
    const id = await this.redis().get(k.token(tokenHash));
    const batch = this.redis().multi().del(k.token(tokenHash));
    if (id !== null) batch.srem(k.tokens(id), tokenHash);
    await batch.exec();
    return account;
  }

  async revokeAll(account: Account): Promise<void> {
    const hashes = await this.redis().smembers(k.tokens(account.id));
    await this.redis().del(k.tokens(account.id), ...hashes.map(k.token));
  }

  close(): void {
    // The connection is the node's, closed with it.
  }

  async setAdmin(nick: string, admin: boolean): Promise<boolean> {
    const account = await this.find(nick);
    if (!account) return false;
    if (admin) await this.redis().sadd(k.admins, account.id);
    else await this.redis().srem(k.admins, account.id);
    return true;
  }

  async isAdmin(accountId: string): Promise<boolean> {
    return (await this.redis().sismember(k.admins, accountId)) === 1;
  }
}
