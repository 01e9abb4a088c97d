// The protocol tests once more, against one node whose history and search index are written by a thread of their
// own (`--storage-thread`, storage/history-thread.ts; helpers/wire.ts gives each server a data dir): the rules are
// the same, and what reads history (joins, pages, `since`, search, conversations) sees what was written.

process.env.CHAT_TEST_STORAGE_THREAD = '1';
await import('./server.test.js');
await import('./persistence.test.js');
await import('./search.test.js');
await import('./conversation.test.js');
await import('./private.test.js');
await import('./post.test.js');
