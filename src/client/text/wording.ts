// Errors and shared files in words for people: what the core reports, and the TUI and the CLI show.

import { columns } from './columns.js';
import { sanitizeLine } from './sanitize.js';
import { formatSize } from './size.js';
import { clock } from './time.js';
import { truncateToWidth } from './width.js';
import { hasMessage, language, t } from './i18n/index.js';

/** A file name in /files takes at most this many columns. */
const MAX_NAME_COLUMNS = 40;

/** A server error in words: without the JSON examples the server adds for people typing raw protocol. */
export function describeError(error: { code: string; message: string }): string {
  if (error.code === 'not_in_room' || error.code === 'rate_limited') return t(`error.${error.code}`);
  // The server words its errors in English: in another language, say the code's meaning in that language.
  const key = `error.${error.code}`;
  if (language() !== 'en') return hasMessage(key) ? t(key as 'error.bad_room') : t('error.unknown', { code: sanitizeLine(error.code) });
  let text = sanitizeLine(error.message)
    .replace(/;?\s*(for example|e\.g\.)?\s*\{.*$/s, '')
    .replace(/:\s*$/, '')
    .trim();
  if (text === '') text = error.code.replace(/_/g, ' ');
  return sentence(text);
}

/** `text` as a sentence: a capital first letter and a full stop (kept when it has one). */
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?。！？]$/.test(text) ? '' : '.');
}

/** Why a connection could not be made, and what to do about it. */
export function describeConnectError(host: string, port: number, error: NodeJS.ErrnoException): string {
  const where = `${host}:${port}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return t('connect.refused', { where, port });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return t('connect.notFound', { host, code: error.code });
    case 'ETIMEDOUT':
      return t('connect.timedOut', { where });
    default:
      return t('connect.failed', { where, message: error.message });
  }
}

/** A file-system error in words: `no such file`, `permission denied`, ... */
export function fsProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'EACCES':
    case 'EISDIR':
    case 'ENOTDIR':
    case 'ENOSPC':
    case 'EROFS':
      return t(`fs.${code}`);
    case 'EPERM':
      return t('fs.EACCES');
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

/**
 * A file's log line after the nick: `shared #2 notes.txt (1.5 KiB), file <id>`; in a room, where a file's number is
 * its seq and the line shows it as every message's `#N`, without the number: `shared notes.txt (1.5 KiB), file <id>`.
 */
export function fileText(file: Omit<NumberedFile, 'from' | 'ts'>, numberShownApart = false): string {
  const fields = { number: file.number, name: sanitizeLine(file.name), size: formatSize(file.size), file: sanitizeLine(file.file) };
  return t(numberShownApart ? 'event.roomFileShared' : 'event.fileShared', fields);
}

/** The lines of /files, in columns: `#2  notes.txt  1.5 KiB  from bob at 12:01  <id>`; long names are cut. */
export function fileTable(files: readonly NumberedFile[]): string[] {
  return columns(
    files.map((f) => [
      `#${f.number}`,
      truncateToWidth(sanitizeLine(f.name), MAX_NAME_COLUMNS),
      formatSize(f.size),
      t('files.fromAt', { nick: sanitizeLine(f.from), time: clock(f.ts, false) }),
      sanitizeLine(f.file),
    ]),
    ['right', 'left', 'right'],
  );
}

/** Why the server closed the connection (`bye`), by its code; the server's own words for a code we do not know. */
export function describeBye(bye: { code: string; reason: string }): string {
  const key = `bye.${bye.code}`;
  return hasMessage(key) ? t(key as 'bye.quit') : sanitizeLine(bye.reason);
}

/**
 * The room's welcome banner (the last line of a join reply, `Welcome to ROOM! 2 others are here.`), said in our
 * words; null for any other notice, which is shown as the server wrote it.
 */
export function roomWelcome(room: string, text: string): string | null {
  const m = /^Welcome to (\S+)! (?:Nobody else is here yet\.|(\d+) others? (?:is|are) here\.)(?: (\d+) earlier messages are not repeated here)?/.exec(text);
  if (!m || m[1]!.toLowerCase() !== room.toLowerCase()) return null;
  const others = m[2] === undefined ? 0 : Number(m[2]);
  const who = others === 0 ? t('event.nobodyElse') : others === 1 ? t('event.othersOne') : t('event.othersMany', { count: others });
  const older = m[3] !== undefined ? t('event.notReplayed', { count: Number(m[3]) }) : '';
  return t('event.roomBanner', { welcome: t('event.roomWelcome', { room }), who }) + older;
}
