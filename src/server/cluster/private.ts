// A cluster's private conversations and mailboxes, in Redis (state/privates.ts): each conversation a counter
// and a capped stream (entry id = seq), each principal a set of its conversations; each offline account a list of
// waiting records, a count per sender, and a list of those delivered once, kept for its other devices.

import type { PrivateRecord } from '../../protocol/index.js';
import { isAccountPrincipal } from '../state/principals.js';
import {
  conversationKey,
  partiesOf,
  type PrivateStore,
  type MailboxLimits,
  type MailboxRefusal,
  type PageRequest,
} from '../state/privates.js';
import type { Scripted } from './scripts.js';

export const privateKey = {
  seq: (conv: string) => `chat:pseq:${conv}`,
  history: (conv: string) => `chat:phist:${conv}`,
  conversations: (principal: string) => `chat:pconvs:${principal}`,
  mailbox: (recipient: string) => `chat:mbox:${recipient}`,
  mailboxFrom: (recipient: string) => `chat:mbox-from:${recipient}`,
  delivered: (recipient: string) => `chat:mbox-done:${recipient}`,
};

/** A guest's conversation outlives its connection only if its node died: then Redis forgets it after a day. */
const GUEST_CONVERSATION_TTL_MS = 24 * 3600 * 1000;

/** KEYS seq, history, a's conversations, b's conversations; ARGV record json without seq, maxlen, conv, ttl. */
const APPEND = `
  local seq = redis.call('INCR', KEYS[1])
  local line = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'r', line)
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[3])
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end end
  return line`;

/** KEYS mailbox, counts, delivered; ARGV keepMs. What was delivered before and what waited, moved to delivered. */
const TAKE_WAITING = `
  local old = redis.call('LRANGE', KEYS[3], 0, -1)
  local fresh = redis.call('LRANGE', KEYS[1], 0, -1)
  for _, line in ipairs(fresh) do redis.call('RPUSH', KEYS[3], line) table.insert(old, line) end
  redis.call('DEL', KEYS[1], KEYS[2])
  if #fresh > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[1]) end
  return old`;

export class RedisPrivateStore implements PrivateStore {
  constructor(
    private readonly redis: () => Scripted,
    private readonly limits: MailboxLimits,
    /** Records kept per conversation (the stream is capped like a room's). */
    private readonly maxRecords: number,
  ) {}

  async append(a: string, b: string, draft: Omit<PrivateRecord, 'seq'>): Promise<PrivateRecord> {
    const conv = conversationKey(a, b);
    const ttl = isAccountPrincipal(a) && isAccountPrincipal(b) ? 0 : GUEST_CONVERSATION_TTL_MS;
    const keys = [privateKey.seq(conv), privateKey.history(conv), privateKey.conversations(a), privateKey.conversations(b)];
    const line = (await this.redis().eval(APPEND, 4, ...keys, JSON.stringify(draft), this.maxRecords, conv, ttl)) as string;
    return JSON.parse(line) as PrivateRecord;
  }

  async page(a: string, b: string, { before, since, limit }: PageRequest): Promise<PrivateRecord[]> {
    const stream = privateKey.history(conversationKey(a, b));
    if (since !== undefined) {
      const entries = await this.redis().xrange(stream, `${since + 1}-0`, '+', 'COUNT', limit);
      return entries.map(([, fields]) => JSON.parse(fields[1]!) as PrivateRecord);
    }
    if (before !== undefined && before <= 1) return [];
    const entries = await this.redis().xrevrange(stream, before === undefined ? '+' : `${before - 1}-0`, '-', 'COUNT', limit);
    return entries.reverse().map(([, fields]) => JSON.parse(fields[1]!) as PrivateRecord);
  }

  async mailboxRefusal(recipient: string, sender: string): Promise<MailboxRefusal | null> {
    const [waiting, fromSender] = await Promise.all([
      this.redis().llen(privateKey.mailbox(recipient)),
      this.redis().hget(privateKey.mailboxFrom(recipient), sender),
    ]);
    if (waiting >= this.limits.perRecipient) return 'recipient_full';
    if (Number(fromSender ?? 0) >= this.limits.perSender) return 'sender_full';
    return null;
  }

  async enqueue(recipient: string, sender: string, record: PrivateRecord): Promise<void> {
    await this.redis()
      .multi()
      .rpush(privateKey.mailbox(recipient), JSON.stringify(record))
      .hincrby(privateKey.mailboxFrom(recipient), sender, 1)
      .exec();
  }

  async waiting(recipient: string): Promise<PrivateRecord[]> {
    const keys = [privateKey.mailbox(recipient), privateKey.mailboxFrom(recipient), privateKey.delivered(recipient)];
    const lines = (await this.redis().eval(TAKE_WAITING, 3, ...keys, this.limits.keepMs)) as string[];
    return lines.map((line) => JSON.parse(line) as PrivateRecord);
  }

  /** The conversations a principal is a party to. */
  async conversationsOf(principal: string): Promise<string[]> {
    return this.redis().smembers(privateKey.conversations(principal));
  }

  async forget(principal: string): Promise<string[]> {
    if (isAccountPrincipal(principal)) return [];
    const redis = this.redis();
    const convs = await this.conversationsOf(principal);
    const batch = redis.multi();
    for (const conv of convs) {
      batch.del(privateKey.seq(conv), privateKey.history(conv));
      for (const party of partiesOf(conv)) batch.srem(privateKey.conversations(party), conv);
    }
    batch.del(privateKey.conversations(principal));
    await batch.exec();
    return convs;
  }

  close(): void {}
}
