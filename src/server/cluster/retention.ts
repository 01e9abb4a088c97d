// History retention on a cluster (--retain-messages, --retain-days; docs/persistence.md): the rule one node applies
// to its SQLite records, applied to the rooms' streams in Redis. Once a minute (and when a node starts) one node, the
// first to take the turn in Redis, trims every room's stream: a room keeps its newest `retainMessages` records and
// those stamped within `retainDays`. What goes leaves search with it (a cluster searches the streams themselves),
// and so do its authors, changes and change-log entries (cluster/conversation.ts): a `since` resume brings no
// change of a message that is no longer kept. A room's counter is never lowered.

import type { Redis } from 'ioredis';
import type { RetentionPolicy } from '../storage/store.js';
import { conversationKey } from './conversation.js';
import { key } from './scripts.js';

/** How often retention runs, as on one node. */
export const RETENTION_EVERY_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Whose turn it is: a node takes it for a little less than the period, so each minute one node runs it. */
const TURN_KEY = 'chat:retention-turn';
const SCAN_COUNT = 500;

/**
 * KEYS history, seq, authors, changes, change log, change times; ARGV retainMessages (0: all), cutoff (an ISO time;
 * '': forever). Trims the stream below the first seq kept, and the conversation state of what went. The records trimmed.
 */
const TRIM_ROOM = `
  local first = 1
  local keep = tonumber(ARGV[1])
  if keep > 0 then
    local last = tonumber(redis.call('GET', KEYS[2]) or '0')
    local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
    if #top > 0 then last = math.max(last, tonumber(string.match(top[1][1], '^(%d+)'))) end
    first = math.max(first, last - keep + 1)
  end
  if ARGV[2] ~= '' then
    local from = first .. '-0'
    while true do
      local entries = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 100)
      local kept = false
      for _, entry in ipairs(entries) do
        local seq = tonumber(string.match(entry[1], '^(%d+)'))
        local ok, record = pcall(cjson.decode, entry[2][2])
        if ok and type(record.ts) == 'string' and record.ts >= ARGV[2] then kept = true break end
        first = seq + 1
      end
      if kept or #entries < 100 then break end
      from = '(' .. entries[#entries][1]
    end
  end
  if first <= 1 then return 0 end
  local trimmed = redis.call('XTRIM', KEYS[1], 'MINID', first .. '-0')
  local function older(seqs)
    local out = {}
    for _, seq in ipairs(seqs) do if tonumber(seq) < first then out[#out + 1] = seq end end
    return out
  end
  local function drop(command, target, seqs)
    for i = 1, #seqs, 1000 do redis.call(command, target, unpack(seqs, i, math.min(i + 999, #seqs))) end
  end
  drop('HDEL', KEYS[3], older(redis.call('HKEYS', KEYS[3])))
  drop('HDEL', KEYS[4], older(redis.call('HKEYS', KEYS[4])))
  drop('ZREM', KEYS[5], older(redis.call('ZRANGE', KEYS[5], 0, -1)))
  drop('HDEL', KEYS[6], older(redis.call('HKEYS', KEYS[6])))
  return trimmed`;

type Trimming = Redis & { trimRoom(...args: (string | number)[]): Promise<number> };
const defined = new WeakSet<Redis>();

export class ClusterRetention {
  private timer: NodeJS.Timeout | null = null;

  /** `redis` is asked for the connection each time: a node makes it in start(). */
  constructor(
    private readonly redis: () => Redis,
    private readonly policy: RetentionPolicy,
    private readonly nodeId: string,
    private readonly onError: (error: Error) => void,
  ) {}

  get retains(): boolean {
    return this.policy.retainMessages > 0 || this.policy.retainDays > 0;
  }

  /** Run now if it is this node's turn, and then every minute. */
  start(): void {
    if (!this.retains || this.timer) return;
    const turn = () => this.takeTurn().catch(this.onError);
    void turn();
    this.timer = setInterval(turn, RETENTION_EVERY_MS).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async takeTurn(): Promise<void> {
    const taken = await this.redis().set(TURN_KEY, this.nodeId, 'PX', RETENTION_EVERY_MS - 5000, 'NX');
    if (taken === 'OK') await this.run();
  }

  /** Trim every room's stream now; the records trimmed. */
  async run(now = Date.now()): Promise<number> {
    if (!this.retains) return 0;
    const redis = this.command;
    const cutoff = this.policy.retainDays > 0 ? new Date(now - this.policy.retainDays * DAY_MS).toISOString() : '';
    const prefix = key.history('');
    let trimmed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const stream of keys) {
        const room = stream.slice(prefix.length);
        trimmed += Number(
          await redis.trimRoom(
            stream,
            key.seq(room),
            conversationKey.authors(room),
            conversationKey.changes(room),
            conversationKey.changeLog(room),
            conversationKey.changeTimes(room),
            this.policy.retainMessages,
            cutoff,
          ),
        );
      }
    } while (cursor !== '0');
    return trimmed;
  }

  private get command(): Trimming {
    const redis = this.redis();
    if (!defined.has(redis)) {
      redis.defineCommand('trimRoom', { numberOfKeys: 6, lua: TRIM_ROOM });
      defined.add(redis);
    }
    return redis as Trimming;
  }
}
