// The browser tests once more on two nodes sharing one Redis (helpers/wire.ts): in the demo each page is served
// by another node, and every peer of a test goes to the next node, so browser and terminal users meet across nodes.

process.env.CHAT_TEST_BACKEND = 'cluster';
await import('./web.test.js');
