// Structured logs on stderr (pino): readable on a terminal, JSON lines with --log-format json.

import { createRequire } from 'node:module';
import { pino, destination, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

// Loaded only for the pretty format: a server logging JSON does not hold pino-pretty (and its colour and date code).
const require = createRequire(import.meta.url);

export type LogFormat = 'pretty' | 'json';
export type { Logger };

export function createLogger(format: LogFormat = 'pretty', level = 'info'): Logger {
  if (format === 'json') return pino({ level, base: undefined }, destination({ fd: 2, sync: true }));
  const pretty = require('pino-pretty') as typeof PinoPretty;
  return pino(
    { level, base: undefined },
    pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss.l', singleLine: true }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
