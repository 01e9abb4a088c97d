// Logs of every buffer, as irssi's autolog: $XDG_STATE_HOME/chat/logs/SERVER/ROOM.log (private buffers `@nick.log`,
// the server buffer `(server).log`), plain text, one line an entry, with day-change lines. Written through one
// buffered append stream per buffer, so the UI never waits for the disk; closed on exit. What one turn of the event
// loop logs goes out in one write: a busy room logs thousands of lines a second, and a write each cost a Buffer and a
// request apiece, kept until the disk took them (issue 18: the client's CPU and memory in a busy room). A stream is
// made at its log's first write; the first write of all waits FIRST_WRITE_AFTER_MS, as the start does not need it:
// node's file streams load ~10 modules, and the start's first lines (the welcome, the join) were written ahead of
// the first frame or right behind it, on the same core as the terminal that draws it (issue 18: the room on screen
// <= 200 ms after start).

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { ChatBuffer, Entry } from './state.js';
import { day, clock } from '../text/time.js';
import { t } from '../text/i18n/index.js';

type Env = Record<string, string | undefined>;

/** $XDG_STATE_HOME/chat/logs, else ~/.local/state/chat/logs. */
export function logsDir(env: Env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'chat', 'logs');
}

/** How long the first lines logged wait for their write (later ones are written in the next turn of the loop). */
const FIRST_WRITE_AFTER_MS = 500;

/** Longest file name written, in bytes (most file systems allow 255). */
const MAX_NAME_BYTES = 200;

/**
 * A name from the wire or the command line as one safe path component: letters, digits and `_-.@()[]{}^|+#` stay,
 * anything else (`/`, `\`, controls, `%`, `:`) becomes %XX, a leading dot too (no `.`, `..` or hidden files).
 */
export function safeFileName(name: string): string {
  let out = '';
  for (const char of name.normalize('NFC')) {
    if (/^[\p{L}\p{N}_\-.@()[\]{}^|+#]$/u.test(char) && !(out === '' && char === '.')) out += char;
    else out += [...Buffer.from(char, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  if (out === '') out = '%00';
  while (Buffer.byteLength(out) > MAX_NAME_BYTES) out = [...out].slice(0, -1).join('');
  return out;
}

/** The log file of a buffer: `(server).log`, `@nick.log` for a private one (by the nick's key), `room.log`. */
export function logFileName(buffer: Pick<ChatBuffer, 'kind' | 'key'>): string {
  if (buffer.kind === 'server') return '(server).log';
  return `${safeFileName(buffer.key)}.log`;
}

/** The directory of one server's logs: `host_port`. */
export function serverDirName(server: { host: string; port: number }): string {
  return safeFileName(`${server.host.toLowerCase()}_${server.port}`);
}

function stamp(ts: number): string {
  return `${day(ts)} ${clock(ts)}`;
}

const MARKERS: Record<Entry['kind'], string> = {
  msg: '', action: ' *', file: ' *', join: '-->', leave: '<--', nick: '---', notice: '-!-', info: '---', error: '!!!', queued: '', marker: '',
};

/** An entry as log lines: `2026-12-02 12:01:33 <alice> hi`; a text of several lines gives several log lines. */
export function logLines(entry: Entry): string[] {
  const from = entry.from ?? '';
  const lead =
    entry.kind === 'msg' ? `<${from}> `
    : entry.kind === 'action' || entry.kind === 'file' ? `${MARKERS[entry.kind]} ${from} `
    : `${MARKERS[entry.kind]} `;
  return entry.text.split('\n').map((line) => `${stamp(entry.ts)} ${lead}${line.replace(/\t/g, '    ')}`);
}

interface OpenLog {
  path: string;
  /** Made at the first flush, not when the first line is logged: the file streams' modules load after the room is drawn. */
  stream: WriteStream | null;
  /** The local day of the last line written, for the day-change line. */
  day: string;
  /** Lines logged since the last flush, not yet handed to the stream. */
  pending: string;
}

export class ChatLogs {
  private readonly logs = new Map<string, OpenLog>();
  private readonly dir: string;
  private failed = false;
  /** The flush to come: cancels it. */
  private flushing: (() => void) | null = null;
  private written = false;

  /**
   * `onProblem` is told once when the logs cannot be written (the chat goes on without them).
   */
  constructor(
    root: string,
    server: { host: string; port: number },
    private readonly onProblem: (error: Error) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(root, serverDirName(server));
    // The names are made safe above; this is the last guard that nothing leaves the logs directory.
    if (!inside(root, this.dir)) throw new Error(t('logs.outside', { dir: this.dir, root }));
  }

  /** Where `buffer` is logged. */
  pathOf(buffer: Pick<ChatBuffer, 'kind' | 'key'>): string {
    return join(this.dir, logFileName(buffer));
  }

  /**
   * Log an entry of `buffer`: live entries only (history repeats what an earlier session logged; queued lines are not
   * sent yet; the unread marker is a place on screen, not an event).
   */
  write(buffer: ChatBuffer, entry: Entry): void {
    if (this.failed || entry.history || entry.kind === 'queued' || entry.kind === 'marker') return;
    const log = this.open(buffer);
    if (!log) return;
    const entryDay = day(entry.ts);
    if (entryDay !== log.day) {
      log.pending += `--- Day changed ${entryDay}\n`;
      log.day = entryDay;
    }
    log.pending += logLines(entry).join('\n') + '\n';
    this.flushing ??= this.scheduleFlush();
  }

  private scheduleFlush(): () => void {
    if (this.written) {
      const immediate = setImmediate(() => this.flush());
      return () => clearImmediate(immediate);
    }
    const timer = setTimeout(() => this.flush(), FIRST_WRITE_AFTER_MS);
    return () => clearTimeout(timer);
  }

  /** Hand what was logged since the last flush to the streams, one write per file. */
  private flush(): void {
    this.flushing?.();
    this.flushing = null;
    this.written = true;
    for (const log of this.logs.values()) {
      if (log.pending === '') continue;
      this.streamOf(log).write(log.pending);
      log.pending = '';
    }
  }

  private streamOf(log: OpenLog): WriteStream {
    if (log.stream) return log.stream;
    const stream = createWriteStream(log.path, { flags: 'a', mode: 0o600 });
    stream.on('error', (error) => this.fail(error));
    log.stream = stream;
    return stream;
  }

  private open(buffer: ChatBuffer): OpenLog | null {
    const path = this.pathOf(buffer);
    const known = this.logs.get(path);
    if (known) return known;
    if (!inside(this.dir, path)) return null;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      this.fail(error as Error);
      return null;
    }
    const now = this.now();
    const log: OpenLog = { path, stream: null, day: day(now), pending: `--- Log opened ${stamp(now)}\n` };
    this.logs.set(path, log);
    return log;
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.flushing?.();
    this.flushing = null;
    for (const log of this.logs.values()) log.stream?.destroy();
    this.logs.clear();
    this.onProblem(error);
  }

  /** Write what is buffered and close every file. */
  async close(): Promise<void> {
    this.flush();
    const closing = [...this.logs.values()].map(
      (log) =>
        new Promise<void>((done) => {
          const stream = this.streamOf(log);
          stream.end(`--- Log closed ${stamp(this.now())}\n`, () => done());
          stream.once('error', () => done());
        }),
    );
    this.logs.clear();
    await Promise.all(closing);
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !rel.split(sep).includes('..');
}
