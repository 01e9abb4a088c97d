// Search on a cluster (docs/scale-out.md "Search"). A node's own index would know only the rooms it follows, so
// it cannot answer for the cluster; the history every node shares is Redis's capped streams. A search reads them
// newest first, in chunks, and matches each record with the same rule as the FTS5 indexes (state/search.ts): the
// room named, or every room the searcher may read (its own rooms first, then the others that have had members,
// most recently joined first, at most ROOMS_MAX), and the searcher's private conversations, at most SCAN_MAX
// records in all.

import { nickKey, type PrivateRecord, type RoomRecord, type SearchHit } from '../../protocol/index.js';
import { textMatcher, type Searcher, type SearchQuery, type SearchResult } from '../state/search.js';
import { searchableText } from '../storage/search.js';
import type { RedisPrivateStore } from './private.js';
import { privateKey } from './private.js';
import { key, type Scripted } from './scripts.js';

/** Records read per search, over all its streams: the bound on what one search costs Redis. */
export const SCAN_MAX = 20_000;
const CHUNK = 500;
/** Rooms a search without `room` may look at besides the searcher's own. */
export const ROOMS_MAX = 1000;
/**
 * Every room that has had a member, scored by when one last joined (cluster/backend.ts adds it): a room stays
 * searchable after its members left, unlike in the room index (`chat:roomindex`), which forgets empty rooms.
 */
export const SEARCHABLE_ROOMS = 'chat:searchable';

type Kept = RoomRecord | PrivateRecord;

export class RedisSearcher implements Searcher {
  constructor(
    private readonly redis: () => Scripted,
    private readonly privates: RedisPrivateStore,
  ) {}

  async search(query: SearchQuery): Promise<SearchResult> {
    const rooms = query.room !== undefined ? [query.room] : await this.roomsFor(query.rooms);
    const convs = query.room !== undefined ? [] : await this.privates.conversationsOf(query.principal);
    const streams = [
      ...convs.map((conv) => ({ stream: privateKey.history(conv), room: undefined })),
      ...rooms.map((room) => ({ stream: key.history(room), room })),
    ];
    const matches = textMatcher(query.words);
    const wanted = (record: Kept) =>
      (query.from === undefined || nickKey(record.from) === nickKey(query.from)) && matches(searchableText(record));
    const budget = { left: SCAN_MAX };
    const found: SearchHit[] = [];
    for (const { stream, room } of streams) {
      // A closed room costs no reading (the handler filters its hits as well).
      if (room !== undefined && query.mayRead && !(await query.mayRead(room))) continue;
      for (const hit of await this.scan(stream, wanted, query.limit + 1, budget)) {
        found.push(room !== undefined ? { room, ...hit } : { with: otherParty(hit.record as PrivateRecord, query.nick), ...hit });
      }
      if (budget.left <= 0) break;
    }
    found.sort((a, b) => (a.record.ts < b.record.ts ? 1 : a.record.ts > b.record.ts ? -1 : 0));
    return { hits: found.slice(0, query.limit), more: found.length > query.limit };
  }

  /** The rooms a search without `room` reads: the searcher's own, then those that had members (newest first). */
  private async roomsFor(own: string[]): Promise<string[]> {
    const redis = this.redis();
    const [searchable, indexed] = await Promise.all([
      redis.zrevrange(SEARCHABLE_ROOMS, 0, ROOMS_MAX - 1),
      // Rooms that had members before the searchable set existed (an upgraded cluster).
      redis.zrange(key.rooms, 0, ROOMS_MAX - 1),
    ]);
    return [...new Set([...own, ...[...new Set([...searchable, ...indexed])].slice(0, ROOMS_MAX)])];
  }

  /** Up to `limit` hits in one stream, newest first, each with its neighbours. */
  private async scan(stream: string, wanted: (record: Kept) => boolean, limit: number, budget: { left: number }) {
    const hits: Omit<SearchHit, 'room' | 'with'>[] = [];
    let newer: Kept | undefined; // the record after the one being looked at
    let waitingForBefore: Omit<SearchHit, 'room' | 'with'> | null = null;
    let end = '+';
    while (budget.left > 0) {
      const entries = await this.redis().xrevrange(stream, end, '-', 'COUNT', Math.min(CHUNK, budget.left));
      budget.left -= entries.length;
      for (const [, fields] of entries) {
        const record = JSON.parse(fields[1]!) as Kept;
        if (waitingForBefore) {
          waitingForBefore.before = record;
          waitingForBefore = null;
          if (hits.length >= limit) return hits;
        }
        if (hits.length < limit && wanted(record)) {
          const hit = { record, ...(newer && { after: newer }) };
          hits.push(hit);
          waitingForBefore = hit;
        }
        newer = record;
      }
      if (entries.length < CHUNK) break;
      const seq = newer!.seq;
      if (seq <= 1) break;
      end = `${seq - 1}-0`;
    }
    return hits;
  }
}

function otherParty(record: PrivateRecord, nick: string): string {
  return nickKey(record.from) === nickKey(nick) ? record.to : record.from;
}
