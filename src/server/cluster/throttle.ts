// Failed logins of a cluster, counted in Redis (accounts/throttle.ts says the rule): guesses spread over the nodes
// count together. `chat:authfail:<key>` is a hash of the count and the time (Redis's clock) until which the key is
// locked; it expires an hour after its last failure.

import type { Redis } from 'ioredis';
import { FIRST_LOCK_MS, FORGET_AFTER_MS, freeFailures, MAX_LOCK_MS, type LoginThrottle } from '../accounts/throttle.js';

const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/** KEYS the keys' hashes. Milliseconds until every one is unlocked. */
const WAIT = `${NOW}
  local wait = 0
  for _, key in ipairs(KEYS) do
    local locked = tonumber(redis.call('HGET', key, 'locked') or '0')
    if locked - now > wait then wait = locked - now end
  end
  return wait`;

/** KEYS the keys' hashes; ARGV each key's free failures, then first lock, max lock, forget after (ms). */
const FAILED = `${NOW}
  local n = #KEYS
  for i, key in ipairs(KEYS) do
    local count = redis.call('HINCRBY', key, 'count', 1)
    local beyond = count - tonumber(ARGV[i])
    local lock = 0
    if beyond >= 0 then
      lock = math.min(tonumber(ARGV[n + 1]) * 2 ^ math.min(beyond, 20), tonumber(ARGV[n + 2]))
      redis.call('HSET', key, 'locked', now + lock)
    end
    redis.call('PEXPIRE', key, tonumber(ARGV[n + 3]) + lock)
  end
  return 1`;

const hashKey = (key: string) => `chat:authfail:${key}`;

export class RedisLoginThrottle implements LoginThrottle {
  constructor(private readonly redis: () => Redis) {}

  async wait(keys: string[]): Promise<number> {
    return Number(await this.redis().eval(WAIT, keys.length, ...keys.map(hashKey)));
  }

  async failed(keys: string[]): Promise<void> {
    await this.redis().eval(FAILED, keys.length, ...keys.map(hashKey), ...keys.map(freeFailures), FIRST_LOCK_MS, MAX_LOCK_MS, FORGET_AFTER_MS);
  }

  async succeeded(key: string): Promise<void> {
    await this.redis().del(hashKey(key));
  }
}
