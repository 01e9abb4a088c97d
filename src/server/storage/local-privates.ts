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

export function localPrivates(config: ServerConfig, historyStore: HistoryStore | undefined): [PrivateStore, Searcher] {
  const db = historyStore instanceof SqliteHistoryStore ? historyStore.db : new Database(':memory:');
  const index = new SearchIndex(db);
  if (historyStore instanceof SqliteHistoryStore) {
    historyStore.onBatch = (records) => index.addRoomRecords(records);
    index.backfillRooms();
  }
  const limits = { perRecipient: config.mailboxPerRecipient, perSender: config.mailboxPerSender, keepMs: config.mailboxKeepMs };
  // What this turn said is searched too: the writer's pending batch is committed first.
  const searcher: Searcher = { search: (query) => (historyStore?.flush(), index.search(query)) };
  return [new SqlitePrivateStore(db, limits, index), searcher];
}
