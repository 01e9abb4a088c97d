#!/usr/bin/env node
// CommonJS, as bin/chat.js is (bin/package.json); the server is an ES module.
import('../dist/src/server/cli.js').then(({ run }) => run(process.argv));
