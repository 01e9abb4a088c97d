// The protocol tests once more, against two nodes on one Redis with each test's clients spread over both nodes
// (helpers/wire.ts): one node and a cluster keep the same rules. Differences that must stay are in
// docs/scale-out.md ("What differs from one node").

process.env.CHAT_TEST_BACKEND = 'cluster';
await import('./server.test.js');
await import('./files.test.js');
await import('./docs.test.js');
await import('./accounts.test.js');
await import('./moderation.test.js');
await import('./conversation.test.js');
await import('./post.test.js');
await import('./web-gateway.test.js');
await import('./private.test.js');
await import('./search.test.js');
await import('./conversation-resume.test.js');
await import('./search-scope.test.js');
await import('./private-conversation.test.js');
await import('./away.test.js');
await import('./tokens.test.js');
