// Structured logs on stderr (pino): readable on a terminal, JSON lines with --log-format json.

import { pino, destination, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'pretty' | 'json';
export type { Logger };

export function createLogger(format: LogFormat = 'pretty', level = 'info'): Logger {
  if (format === 'json') return pino({ level, base: undefined }, destination({ fd: 2, sync: true }));
  return pino(
    { level, base: undefined },
    pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss.l', singleLine: true }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
