// Search (docs/protocol.md "Search"): the rooms and the searcher's own private conversations, newest first, each
// hit with the record before and after it. Its cost is bounded: the text (parse.ts), the words, the hits, the
// bytes of a reply, and searches per connection per second.

import { ErrorCode, type RoomRecord, type SearchHit } from '../../protocol/index.js';
import { TokenBucket } from '../rate-limit.js';
import type { Session } from '../session.js';
import type { Handler, ServerContext } from './context.js';
import { withChanges } from './conversation.js';
import { actingUser } from './identity.js';
import { readRefused } from './moderation.js';

const WORDS_MAX = 8;
const HITS_DEFAULT = 20;
const HITS_MAX = 50;

const buckets = new WeakMap<Session, TokenBucket>();

/** The distinct words of a search, or a problem with them. */
export function searchWords(text: string): string[] | string {
  const words = [...new Set(text.split(/\s+/u).filter((word) => word !== ''))];
  if (words.length > WORDS_MAX) return `at most ${WORDS_MAX} words`;
  const short = words.find((word) => [...word].length < 2);
  if (short !== undefined) return `each word needs 2 characters or more (${JSON.stringify(short)})`;
  return words;
}

/** At most the bytes a hit takes on the wire. */
function hitBytesAtMost(hit: SearchHit): number {
  const text = (record: SearchHit['record'] | undefined) => (record ? 6 * (record.type === 'msg' ? record.text.length : record.name.length) + 256 : 0);
  return text(hit.record) + text(hit.before) + text(hit.after);
}

/**
 * A room hit as its messages are now (conversation.ts `withChanges`): null when the message was deleted, or edited
 * so that it no longer has every word. The index holds what was said; what was taken back is not found.
 */
async function asItIsNow(ctx: ServerContext, hit: SearchHit, words: string[]): Promise<SearchHit | null> {
  if (hit.room === undefined) return hit;
  const around = [hit.before, hit.record, hit.after].filter((record): record is RoomRecord => record !== undefined && 'room' in record);
  const now = new Map((await withChanges(ctx, hit.room, around)).map((record) => [record.seq, record]));
  const record = now.get(hit.record.seq)!;
  if (record.type === 'msg') {
    const text = record.text.toLowerCase();
    if (record.deleted || !words.every((word) => text.includes(word.toLowerCase()))) return null;
  }
  return {
    ...hit,
    record,
    ...(hit.before && { before: now.get(hit.before.seq)! }),
    ...(hit.after && { after: now.get(hit.after.seq)! }),
  };
}

export const search: Handler<'search'> = async (ctx, session, { text, room, from, limit, id }) => {
  let bucket = buckets.get(session);
  if (!bucket) buckets.set(session, (bucket = new TokenBucket(ctx.config.searchRate, ctx.config.searchBurst)));
  if (!bucket.take()) {
    session.error(ErrorCode.rate_limited, 'searching too fast: wait a second', id);
    return;
  }
  const words = searchWords(text);
  if (typeof words === 'string') {
    session.error(ErrorCode.bad_request, `search: ${words}`, id);
    return;
  }
  const user = actingUser(session);
  const result = await ctx.backend.searcher.search({
    words,
    principal: user.principal,
    nick: user.nick,
    rooms: [...user.rooms],
    ...(room !== undefined && { room }),
    ...(from !== undefined && { from }),
    limit: Math.max(1, Math.min(limit ?? HITS_DEFAULT, HITS_MAX)),
    mayRead: async (name) => !(await readRefused(ctx, session, name)),
  });
  // Rooms kept private (+i, +k) or that ban the searcher are not found from outside (moderation.ts readRefused).
  const unreadable = new Set<string>();
  for (const name of new Set(result.hits.flatMap((hit) => (hit.room === undefined ? [] : [hit.room])))) {
    if (await readRefused(ctx, session, name)) unreadable.add(name);
  }
  const readable = (await Promise.all(result.hits.filter((hit) => hit.room === undefined || !unreadable.has(hit.room)).map((hit) => asItIsNow(ctx, hit, words))))
    .filter((hit): hit is SearchHit => hit !== null);
  let bytes = 0;
  const hits = readable.filter((hit) => (bytes += hitBytesAtMost(hit)) <= ctx.config.replyHistoryBytes || hit === readable[0]);
  session.reply(id, { type: 'search', hits, more: result.more || hits.length < readable.length });
};
