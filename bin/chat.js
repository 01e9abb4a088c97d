#!/usr/bin/env -S node --max-semi-space-size=1
// A young generation of 1 MiB semi-spaces, not 16: in a busy room the client's RSS stayed ~10 MiB lower for the
// same CPU (npm run bench, tui). `node bin/chat.js` runs without it.
import { launch } from '../dist/src/client/cli/launch.js';
launch(process.argv);
