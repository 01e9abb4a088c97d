// One node's private conversations and search index: in the history database of the data dir (the search index
// fed by the history writer, in its transactions), or without a data dir in a database in memory (private
// conversations only: room history is then not stored, so it is not searched either).

import Database from 'better-sqlite3';
import type { ServerConfig } from '../config.js';
import type { PrivateStore } from '../state/privates.js';
import type { Searcher } from '../state/search.js';
import { SqlitePrivateStore } from './private.js';
import { SearchIndex } from './search.js';
import { SqliteHistoryStore } from './sqlite.js';
import type { HistoryStore } from './store.js';
import { ThreadedHistoryStore } from './history-thread.js';

/** Records indexed in one slice, and how long slices may run before the index lets the server be (ms). */
const SLICE_RECORDS = 500;
/** Forgotten records whose index rows are deleted at a time: about 1 ms each on a busy machine (FTS5 deletes are dear). */
const PURGE_RECORDS = 4;
const SLICE_MS = 5;
/** How soon after the writer has written the index follows it: a burst is indexed once it is over. */
const FOLLOW_DELAY_MS = 200;
/** The event loop busier than this since the index last looked: live traffic goes first, the index waits. */
const BUSY_SHARE = 0.5;
/** At most this long: under load that lasts, the index takes its tenth of the time all the same. */
const DEFER_MAX_MS = 30_000;
/** At most this many records a search indexes before it is answered (a burst not yet indexed). */
export const CATCH_UP_MAX = 20_000;

/**
 * Keep the search index behind the history writer, off its path: indexing costs more than writing the record
 * (FTS5, two indexes: ~15 µs against the writer's ~4), so it runs in slices once a burst is over, at most about a
 * tenth of the server's time. While the event loop is busy with traffic (over half of the time since the index last
 * looked) it waits, up to DEFER_MAX_MS; a search catches up first in any case (CATCH_UP_MAX).
 */
export function followTheWriter(index: SearchIndex, historyStore: SqliteHistoryStore): void {
  let timer: NodeJS.Timeout | null = null;
  /** The event loop's busy time when the slices were scheduled: how busy it was meanwhile. */
  let sinceScheduled = performance.eventLoopUtilization();
  /** When the index began to wait for a busy event loop (performance.now() ms); 0: it is not waiting. */
  let waitingSince = 0;
  const slicesIn = (ms: number) => {
    sinceScheduled = performance.eventLoopUtilization();
    timer = setTimeout(slices, ms).unref();
  };
  const slices = () => {
    timer = null;
    const started = performance.now();
    const busy = performance.eventLoopUtilization(sinceScheduled).utilization > BUSY_SHARE;
    if (!busy) waitingSince = 0;
    else if (waitingSince === 0) waitingSince = started;
    if (busy && started - waitingSince < DEFER_MAX_MS) {
      slicesIn(FOLLOW_DELAY_MS);
      return;
    }
    let more = true;
    try {
      while (more && performance.now() - started < SLICE_MS) {
        more = index.followRooms(SLICE_RECORDS) === SLICE_RECORDS;
        // Then what retention dropped leaves the index (it is out of every search already).
        if (!more) more = index.purgeForgotten(PURGE_RECORDS) === PURGE_RECORDS;
      }
    } catch {
      return; // a full disk: the next batch written tries again
    }
    if (more) slicesIn(9 * (performance.now() - started));
  };
  historyStore.onBatch = () => {
    if (timer === null) slicesIn(FOLLOW_DELAY_MS);
  };
  historyStore.onPruned = historyStore.onBatch;
  slicesIn(0); // what was written before the index existed, or before a crash
}

export function localPrivates(config: ServerConfig, historyStore: HistoryStore | undefined): [PrivateStore, Searcher] {
  if (historyStore instanceof ThreadedHistoryStore) return threadedPrivates(config, historyStore);
  const db = historyStore instanceof SqliteHistoryStore ? historyStore.db : new Database(':memory:');
  const index = new SearchIndex(db);
  const keepsRooms = historyStore instanceof SqliteHistoryStore;
  if (keepsRooms) {
    index.forgetDeletedRecords();
    followTheWriter(index, historyStore);
  }
  const limits = { perRecipient: config.mailboxPerRecipient, perSender: config.mailboxPerSender, keepMs: config.mailboxKeepMs };
  // What this turn said is searched too: the writer's pending batch is committed, and the index catches up.
  const searcher: Searcher = {
    search: (query) => {
      if (keepsRooms) {
        historyStore.flush();
        index.followRooms(CATCH_UP_MAX);
      }
      return index.search(query);
    },
  };
  return [new SqlitePrivateStore(db, limits, index), searcher];
}

/**
 * With `--storage-thread` (history-thread.ts): the thread writes room history and keeps the index following it; the
 * event loop keeps private conversations and searches, on its own connection to the same database. A search first
 * waits for the index to catch up with what was said before it.
 */
function threadedPrivates(config: ServerConfig, historyStore: ThreadedHistoryStore): [PrivateStore, Searcher] {
  const index = new SearchIndex(historyStore.db);
  const limits = { perRecipient: config.mailboxPerRecipient, perSender: config.mailboxPerSender, keepMs: config.mailboxKeepMs };
  const searcher: Searcher = {
    search: async (query) => {
      await historyStore.catchUpSearch();
      return index.search(query);
    },
  };
  return [new SqlitePrivateStore(historyStore.db, limits, index), searcher];
}
