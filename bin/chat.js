#!/usr/bin/env node
import { run } from '../dist/src/client/cli/cli.js';
run(process.argv);
