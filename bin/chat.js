#!/usr/bin/env -S node --max-semi-space-size=1 --no-opt
// CommonJS (bin/package.json): an ES module entry costs node its ES module loader before the first line runs.
// A young generation of 1 MiB semi-spaces, not 16: in a busy room the client's RSS stayed ~10 MiB lower for the
// same CPU. No optimizing compiler (TurboFan): at 2000 msg/s the work is in V8's builtins and baseline code, so the
// CPU stayed the same, and peak RSS fell by ~8 MiB, half of it TurboFan's own code never paged in from node's
// binary (npm run bench, tui). `node bin/chat.js` runs without these flags. While the client sets itself up, V8 runs
// under its default flags, so that node's own modules are compiled from the code cache node carries
// (src/client/cli/start-flags.cts); this comes first, before node loads anything more.
const flags = require('../dist/src/client/cli/start-flags.cjs').relaxForStart();
require('../dist/src/client/cli/launch.cjs').launch(process.argv, flags);
