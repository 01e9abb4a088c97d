// The thread of `--storage-thread` (history-thread.ts): the history writer and the search index that follows it,
// on a connection of their own. Batches are written in the order they come; an answer to a call is posted on the
// answers port and signalled through the shared Int32, for the event loop waiting in Atomics.wait.

import { parentPort, workerData } from 'node:worker_threads';
import type { RoomRecord } from '../../protocol/index.js';
import type { Answer, FromThread, ThreadData, ToThread } from './history-thread.js';
import { attachToHistoryWriter } from './conversation-sqlite.js';
import { CATCH_UP_MAX, followTheWriter } from './local-privates.js';
import { SearchIndex } from './search.js';
import { SqliteHistoryStore } from './sqlite.js';

const { path, conversations, retention, signal, answers } = workerData as ThreadData;
const signalled = new Int32Array(signal);

function answer(value: Answer): void {
  answers.postMessage(value);
  Atomics.add(signalled, 0, 1);
  Atomics.notify(signalled, 0);
}

const tell = (message: FromThread) => parentPort!.postMessage(message);

// An error nothing caught ends the thread: an event loop waiting for an answer is told at once, not after a timeout.
process.on('uncaughtException', (error) => {
  Atomics.store(signalled, 1, 1);
  Atomics.add(signalled, 0, 1);
  Atomics.notify(signalled, 0);
  throw error;
});

let store: SqliteHistoryStore;
let index: SearchIndex;
try {
  store = new SqliteHistoryStore(path, retention, (error, records) => tell({ t: 'writeError', message: error.message, records }));
  if (conversations !== null) attachToHistoryWriter(store, conversations);
  index = new SearchIndex(store.db);
  followTheWriter(index, store);
} catch (error) {
  answer({ error: (error as Error).message });
  process.exit(1);
}
answer({ value: true });

function call(message: Extract<ToThread, { t: 'call' }>): unknown {
  switch (message.op) {
    case 'lastSeq':
      return store.lastSeq(message.room);
    case 'before':
      // As JSON: one string per record crosses to the event loop cheaper than a cloned object.
      return store.before(message.room, message.before, message.limit).map((record) => JSON.stringify(record));
    case 'reserve':
      return store.reserve(message.room, message.upTo);
    case 'prune':
      return store.prune();
    case 'sync':
      return true;
    case 'close':
      store.close();
      return true;
  }
}

parentPort!.on('message', (message: ToThread) => {
  if (message.t === 'batch') {
    let unreadable = 0;
    for (const line of message.lines) {
      let record: RoomRecord;
      try {
        record = JSON.parse(line) as RoomRecord;
      } catch {
        unreadable++; // never expected (the event loop wrote it): dropped and reported, not a crash at every restart
        continue;
      }
      store.add(record, line);
    }
    if (unreadable > 0) tell({ t: 'writeError', message: 'records that are not JSON', records: unreadable });
    store.flush(); // a batch the disk refuses is reported by the store (writeError), and counts as handled
    tell({ t: 'written', n: message.n });
  } else if (message.t === 'catchUp') {
    try {
      store.flush();
      index.followRooms(CATCH_UP_MAX);
    } catch {
      // a full disk: the search answers from what is indexed
    }
    tell({ t: 'caughtUp', id: message.id });
  } else {
    let reply: Answer;
    try {
      reply = { value: call(message) };
    } catch (error) {
      reply = { error: (error as Error).message };
    }
    answer(reply);
    if (message.op === 'close') {
      answers.close();
      parentPort!.close();
    }
  }
});
