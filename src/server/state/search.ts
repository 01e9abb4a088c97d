// Search (docs/protocol.md "Search"): SQLite FTS5 on one node (storage/search.ts), a bounded scan of Redis's
// streams on a cluster (cluster/search.ts, docs/scale-out.md "Search").

import type { SearchHit } from '../../protocol/index.js';

/** An answer now (one node) or later (a cluster): as backend.ts's, not imported to keep the imports one-way. */
type Maybe<T> = T | Promise<T>;

export interface SearchQuery {
  /** The words, each of at least 2 characters; a record matches when it has every one. */
  words: string[];
  /** Who searches: their principal (whose private conversations they may read) and nick. */
  principal: string;
  nick: string;
  /** The rooms the searcher is in (a cluster searches these first when no room is given). */
  rooms: string[];
  room?: string;
  from?: string;
  limit: number;
  /**
   * Whether the searcher may read a room's history (not a closed room it is not in, nor one that bans it): a
   * cluster asks before it reads a room's stream; the handler filters every hit by it as well.
   */
  mayRead?: (room: string) => Promise<boolean>;
}

export interface SearchResult {
  hits: SearchHit[];
  more: boolean;
}

export interface Searcher {
  search(query: SearchQuery): Maybe<SearchResult>;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * The same rule as the FTS5 indexes, for text read without them: a word of 3 characters or more, or with CJK in
 * it, is found anywhere (any case); a 2-letter word only as a whole word.
 */
export function textMatcher(words: string[]): (text: string) => boolean {
  const lowered = words.map((word) => word.toLowerCase());
  return (text) => {
    const haystack = text.toLowerCase();
    let tokens: Set<string> | null = null;
    for (const word of lowered) {
      if ([...word].length >= 3 || CJK.test(word)) {
        if (!haystack.includes(word)) return false;
        continue;
      }
      tokens ??= new Set(haystack.split(/[^\p{L}\p{N}]+/u));
      if (!tokens.has(word)) return false;
    }
    return true;
  };
}
