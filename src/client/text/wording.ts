// Errors and shared files in words for people: what the core reports, and the TUI and the CLI show.

import { columns } from './columns.js';
import { sanitizeLine } from './sanitize.js';
import { formatSize } from './size.js';
import { clock } from './time.js';
import { truncateToWidth } from './width.js';

/** A file name in /files takes at most this many columns. */
const MAX_NAME_COLUMNS = 40;

/** A server error in words: without the JSON examples the server adds for people typing raw protocol. */
export function describeError(error: { code: string; message: string }): string {
  if (error.code === 'not_in_room') return 'You are not in that room: /join it first.';
  if (error.code === 'rate_limited') return 'You are sending too fast; slow down a little.';
  let text = sanitizeLine(error.message)
    .replace(/;?\s*(for example|e\.g\.)?\s*\{.*$/s, '')
    .replace(/:\s*$/, '')
    .trim();
  if (text === '') text = error.code.replace(/_/g, ' ');
  return sentence(text);
}

/** `text` as a sentence: a capital first letter and a full stop (kept when it has one). */
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');
}

/** Why a connection could not be made, and what to do about it. */
export function describeConnectError(host: string, port: number, error: NodeJS.ErrnoException): string {
  const where = `${host}:${port}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `no chat-server is running at ${where} (connection refused). Start one with: chat-server --port ${port}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot find the host ${host} (${error.code}); check --host or CHAT_HOST`;
    case 'ETIMEDOUT':
      return `no answer from ${where} (timed out); is a chat-server running there?`;
    default:
      return `cannot connect to ${where}: ${error.message}`;
  }
}

/** A file-system error in words: `no such file`, `permission denied`, ... */
export function fsProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENOSPC':
      return 'no space left on the disk';
    case 'EROFS':
      return 'the file system is read-only';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** A shared file as the client numbers it (names as the server sent them: sanitized here). */
interface NumberedFile {
  number: number;
  file: string;
  name: string;
  size: number;
  from: string;
  /** Milliseconds since the epoch. */
  ts: number;
}

/** A file's log line after the nick: `shared #2 notes.txt (1.5 KiB), file <id>`. */
export function fileText(file: Omit<NumberedFile, 'from' | 'ts'>): string {
  return `shared #${file.number} ${sanitizeLine(file.name)} (${formatSize(file.size)}), file ${sanitizeLine(file.file)}`;
}

/** The lines of /files, in columns: `#2  notes.txt  1.5 KiB  from bob at 12:01  <id>`; long names are cut. */
export function fileTable(files: readonly NumberedFile[]): string[] {
  return columns(
    files.map((f) => [
      `#${f.number}`,
      truncateToWidth(sanitizeLine(f.name), MAX_NAME_COLUMNS),
      formatSize(f.size),
      `from ${sanitizeLine(f.from)} at ${clock(f.ts, false)}`,
      sanitizeLine(f.file),
    ]),
    ['right', 'left', 'right'],
  );
}
