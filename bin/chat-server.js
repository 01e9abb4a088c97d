#!/usr/bin/env node
import { run } from '../dist/src/server/cli.js';
run(process.argv);
