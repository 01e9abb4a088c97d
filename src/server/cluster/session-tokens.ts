// A cluster's attach tokens in Redis (state/session-tokens.ts; docs/scale-out.md "What Redis holds"):
//
//   chat:attach:<token>       who the token stands for and the node of its connection, as JSON, for TOKEN_TTL_S
//   chat:attach-of:<owner>    sorted set of an owner's tokens (an account's principal, or addr:<address>) by when
//                             they were kept: past TOKENS_PER_OWNER the oldest are forgotten
//
// A token counts only while its node is alive (a node that died leaves its tokens to expire). A node keeps its
// live tokens again every TOKEN_TTL_S / 3, so that a window open for days stays reachable from every node.

import type { Redis } from 'ioredis';
import { ALIVE, NOW } from './scripts.js';
import { TOKEN_SHAPE, type SessionTokens, type TokenHolder } from '../state/session-tokens.js';

const k = {
  token: (token: string) => `chat:attach:${token}`,
  tokenPrefix: 'chat:attach:',
  owner: (owner: string) => `chat:attach-of:${owner}`,
};

/** How long Redis keeps a token its node did not keep again (the node died, or lost Redis for that long). */
const TOKEN_TTL_S = 24 * 3600;
/** Tokens one account or address may have at once: more live connections than its connection cap are not its own. */
const TOKENS_PER_OWNER = 64;

/** KEYS token, owner set; ARGV token, record, ttl s, bound, token key prefix. Keep the token; trim the owner's oldest. */
const KEEP = `${NOW}
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
  if over > 0 then
    for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do redis.call('DEL', ARGV[5] .. old) end
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  end
  return 1`;

/** KEYS token, nodes; ARGV deadMs. The record, when its node is alive. */
const FIND = `${NOW} ${ALIVE(1)}
  local record = redis.call('GET', KEYS[1])
  if not record then return false end
  local node = string.match(record, '"node":"([^"]*)"')
  if not node or not alive(node) then return false end
  return record`;

interface Kept {
  record: string;
  owner: string;
}

export class RedisSessionTokens implements SessionTokens {
  /** This node's live tokens, kept again before Redis lets them expire. */
  private readonly mine = new Map<string, Kept>();
  private readonly timer: NodeJS.Timeout;

  /** `redis` is asked for the connection each time: a node makes it in start(). */
  constructor(
    private readonly redis: () => Redis,
    private readonly nodeId: string,
    private readonly nodesKey: string,
    private readonly deadMs: () => number,
  ) {
    this.timer = setInterval(() => this.keepAllAgain(), (TOKEN_TTL_S / 3) * 1000).unref();
  }

  async keep(token: string, holder: TokenHolder, owner: string): Promise<void> {
    const record = JSON.stringify({ node: this.nodeId, nick: holder.nick, principal: holder.principal, account: holder.account && { id: holder.account.id, nick: holder.account.nick } });
    this.mine.set(token, { record, owner });
    await this.store(token, record, owner);
  }

  async drop(token: string, owner: string): Promise<void> {
    this.mine.delete(token);
    try {
      await this.redis().multi().del(k.token(token)).zrem(k.owner(owner), token).exec();
    } catch {
      // Redis away: the token expires there; its node is gone from it or says it is alive, and the map here is the truth.
    }
  }

  async find(token: string): Promise<TokenHolder | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    let found: string | null;
    try {
      found = (await this.redis().eval(FIND, 2, k.token(token), this.nodesKey, this.deadMs())) as string | null;
    } catch {
      return null; // Redis away: only this node's own tokens are known
    }
    if (!found) return null;
    const { node, nick, principal, account } = JSON.parse(found) as TokenHolder & { node: string };
    // This node's live tokens are all in the server's own map: one of its own found here is a closed connection's.
    return node === this.nodeId ? null : { nick, principal, account };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async store(token: string, record: string, owner: string): Promise<void> {
    try {
      await this.redis().eval(KEEP, 2, k.token(token), k.owner(owner), token, record, TOKEN_TTL_S, TOKENS_PER_OWNER, k.tokenPrefix);
    } catch {
      // Redis away: kept again by the next round (keepAllAgain), or reachable on this node only meanwhile.
    }
  }

  /** Keep every live token of this node again (its TTL renewed; after Redis came back, there again at all). */
  keepAllAgain(): void {
    for (const [token, { record, owner }] of this.mine) void this.store(token, record, owner);
  }
}
