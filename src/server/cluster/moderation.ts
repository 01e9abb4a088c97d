// A cluster's room rules and away marks, in Redis (docs/scale-out.md "What Redis holds"):
//
//   chat:rules:<room>               the room's rules (state/room-rules.ts) as JSON, changed by compare-and-set
//   chat:guest-address:<principal>  where a guest connection comes from (a day), for bans that hold against it
//   chat:away                       hash nick key -> "principal\nmessage" of who is away under that nick
//   chat:away-told:<nick key>       set of the senders already told that nick's away message
//
// Each node caches the rules of the rooms it loads; a change reaches the other nodes with the new rules in it
// (Backend.roomControl on the room's channel), so a room message never waits for Redis to check them.

import type { Redis } from 'ioredis';
import { nickKey } from '../../protocol/index.js';
import { RulesCache, type AwayMark, type ModerationStore } from '../state/moderation-store.js';
import { emptyRules, pruned, type RoomRules } from '../state/room-rules.js';

const k = {
  rules: (room: string) => `chat:rules:${room}`,
  guest: (principal: string) => `chat:guest-address:${principal}`,
  away: 'chat:away',
  told: (nick: string) => `chat:away-told:${nickKey(nick)}`,
};

const GUEST_ADDRESS_TTL_S = 24 * 3600;
/** Senders told an away message are remembered this long at most (the mark outlives a node that died). */
const AWAY_TOLD_TTL_S = 7 * 24 * 3600;
/** Tries of a compare-and-set against other nodes' changes of the same room. */
const UPDATE_TRIES = 20;

/** KEYS away, told; ARGV nick key, principal. The mark under the nick ends when it is the principal's. */
const CLEAR_AWAY = `
  local mark = redis.call('HGET', KEYS[1], ARGV[1])
  if not mark or string.sub(mark, 1, #ARGV[2] + 1) ~= ARGV[2] .. '\\n' then return 0 end
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return 1`;

/** A mark as kept: "principal\nmessage"; anything else (an older server's bare message) is no mark. */
function awayMark(value: string | null): AwayMark | null {
  const cut = value?.indexOf('\n') ?? -1;
  return cut > 0 ? { principal: value!.slice(0, cut), message: value!.slice(cut + 1) } : null;
}

/** KEYS rules; ARGV the value expected ('' for none), the new value. 1 when set. */
const COMPARE_AND_SET = `
  local present = redis.call('GET', KEYS[1]) or ''
  if present ~= ARGV[1] then return 0 end
  redis.call('SET', KEYS[1], ARGV[2])
  return 1`;

export class RedisModerationStore implements ModerationStore {
  private readonly cache = new RulesCache();

  /** `redis` is asked for the connection each time: a node makes it in start(). */
  constructor(private readonly redis: () => Redis) {}

  cached(room: string): RoomRules | null | undefined {
    return this.cache.get(room);
  }

  /** Read from Redis every time (a join): a node that stopped following the room may have missed changes. */
  async load(room: string): Promise<RoomRules | null> {
    let text: string | null;
    try {
      text = await this.redis().get(k.rules(room));
    } catch {
      // Redis away: the node serves its own members (docs/scale-out.md) with the rules it knows.
      return this.cache.get(room) ?? null;
    }
    const rules = text === null ? null : (JSON.parse(text) as RoomRules);
    const known = this.cache.get(room);
    if (rules && known && known.version > rules.version) return known;
    this.cache.set(room, rules);
    return rules;
  }

  async update(room: string, change: (rules: RoomRules) => RoomRules | null): Promise<RoomRules | null> {
    for (let attempt = 0; attempt < UPDATE_TRIES; attempt++) {
      const text = await this.redis().get(k.rules(room));
      const present = text === null ? null : (JSON.parse(text) as RoomRules);
      const next = change(pruned(present ?? emptyRules()));
      if (!next) return present;
      const stored = { ...next, version: (present?.version ?? 0) + 1 };
      if ((await this.redis().eval(COMPARE_AND_SET, 1, k.rules(room), text ?? '', JSON.stringify(stored))) === 1) {
        this.cache.adopt(room, stored);
        return stored;
      }
    }
    throw new Error(`the rules of ${room} kept changing under this update`);
  }

  adopt(room: string, rules: RoomRules): void {
    this.cache.adopt(room, rules);
  }

  rememberGuest(principal: string, address: string): void {
    this.redis().set(k.guest(principal), address, 'EX', GUEST_ADDRESS_TTL_S).catch(() => {});
  }

  guestAddress(principal: string): Promise<string | null> {
    return this.redis().get(k.guest(principal)).catch(() => null);
  }

  async setAway(nick: string, principal: string, message: string): Promise<void> {
    await this.redis().multi().del(k.told(nick)).hset(k.away, nickKey(nick), `${principal}\n${message}`).exec();
  }

  async clearAway(nick: string, principal: string): Promise<void> {
    await this.redis().eval(CLEAR_AWAY, 2, k.away, k.told(nick), nickKey(nick), principal);
  }

  async awayOf(nicks: string[]): Promise<(AwayMark | null)[]> {
    if (nicks.length === 0) return [];
    const values = await this.redis().hmget(k.away, ...nicks.map(nickKey)).catch(() => nicks.map(() => null));
    return values.map(awayMark);
  }

  async awayNews(nick: string, principal: string, sender: string): Promise<string | null> {
    const mark = awayMark(await this.redis().hget(k.away, nickKey(nick)).catch(() => null));
    if (mark?.principal !== principal) return null;
    try {
      const [[, added]] = (await this.redis().multi().sadd(k.told(nick), sender).expire(k.told(nick), AWAY_TOLD_TTL_S).exec())! as [[unknown, number]];
      return added === 1 ? mark.message : null;
    } catch {
      return null;
    }
  }

  close(): void {}
}
