// Structured logs on stderr (pino): readable on a terminal, JSON lines with --log-format json.

import { createRequire } from 'node:module';
import { pino, destination, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

// Loaded only for the pretty format: a server logging JSON does not hold pino-pretty (and its colour and date code).
const require = createRequire(import.meta.url);

export type LogFormat = 'pretty' | 'json';
export type { Logger };

/** A JSON line waits at most this long for others to leave with it in one write(2)... */
export const LOG_BATCH_MS = 50;
/** ...or until this many bytes wait. */
export const LOG_BATCH_BYTES = 16 * 1024;

/** Signals whose default action ends the process without an `exit` event: the lines waiting are written first. */
const FATAL_SIGNALS = ['SIGHUP', 'SIGQUIT'] as const;

interface LineSink {
  write(text: string): unknown;
}

/**
 * JSON lines in batches: a join storm logged one `connected` line per connection, each its own write(2) to stderr
 * (~4% of the storm's CPU). Lines wait at most LOG_BATCH_MS or LOG_BATCH_BYTES, and are written at exit and before a
 * fatal signal's default action; a `kill -9` (or a crash of node itself) loses at most those (README.md, Logs).
 */
export class BatchedLines {
  private waiting: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sink: LineSink,
    private readonly maxBytes = LOG_BATCH_BYTES,
    private readonly maxMs = LOG_BATCH_MS,
  ) {}

  write(line: string): boolean {
    this.waiting.push(line);
    this.bytes += line.length;
    if (this.bytes >= this.maxBytes) this.flush();
    else if (this.timer === null) {
      // Unref'd: a process about to end writes them at exit, it does not wait for the timer.
      this.timer = setTimeout(this.flush, this.maxMs);
      this.timer.unref();
    }
    return true;
  }

  /** Write every waiting line now, in one write. */
  readonly flush = (): void => {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.waiting.length === 0) return;
    const text = this.waiting.length === 1 ? this.waiting[0]! : this.waiting.join('');
    this.waiting = [];
    this.bytes = 0;
    this.sink.write(text);
  };
}

/** Lines to `fd` in batches, written at exit and before the default action of a fatal signal. */
function batchedTo(fd: number): BatchedLines {
  // sonic-boom, synchronous: it writes a batch whole (retrying EAGAIN on a non-blocking pipe).
  const lines = new BatchedLines(destination({ fd, sync: true }));
  process.on('exit', lines.flush);
  for (const signal of FATAL_SIGNALS) {
    // Only where nothing else handles the signal: a handler there decides what it does.
    if (process.listenerCount(signal) > 0) continue;
    // Once written, the signal is raised again: with no handler left, its default action ends the process.
    process.once(signal, () => {
      lines.flush();
      process.kill(process.pid, signal);
    });
  }
  return lines;
}

export function createLogger(format: LogFormat = 'pretty', level = 'info'): Logger {
  if (format === 'json') return pino({ level, base: undefined }, batchedTo(2));
  // On a terminal each line at once: the pretty format is for a person watching.
  const pretty = require('pino-pretty') as typeof PinoPretty;
  return pino(
    { level, base: undefined },
    pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss.l', singleLine: true }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
