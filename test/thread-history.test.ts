// The tests of what reads history — pages past the ring, restarts, search, conversations — once more, against one
// node whose history and search index are written by a thread of their own (`--storage-thread`,
// storage/history-thread.ts; helpers/wire.ts gives each server a data dir).

import t from 'tap';

// Each server starts a thread, which under the tests' TypeScript loader compiles the storage modules again.
t.setTimeout(600_000);
process.env.CHAT_TEST_STORAGE_THREAD = '1';
await import('./persistence.test.js');
await import('./search.test.js');
await import('./conversation.test.js');
