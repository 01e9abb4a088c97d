// The protocol tests once more, against one node whose history and search index are written by a thread of their
// own (`--storage-thread`, storage/history-thread.ts; helpers/wire.ts gives each server a data dir): the rules are
// the same. What reads history (pages, restarts, search, conversations) runs in thread-history.test.ts.

import t from 'tap';

// Each server starts a thread, which under the tests' TypeScript loader compiles the storage modules again.
t.setTimeout(600_000);
process.env.CHAT_TEST_STORAGE_THREAD = '1';
await import('./server.test.js');
await import('./post.test.js');
await import('./private.test.js');
