// A small JSON file of one value per server (`host:port`), readable by the user alone and written whole through a
// temporary file, so that a crash never leaves half of it: kept login tokens (credentials.ts), open windows'
// sessions (kept-session.ts), /notify levels (notify.ts).

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Server = { host: string; port: number };

export const serverEntryKey = (server: Server): string => `${server.host}:${server.port}`;

/** Every server's value; {} when the file is missing or is not a JSON object. */
export function readPerServer<T>(path: string): Record<string, T> {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, T>) : {};
  } catch {
    return {};
  }
}

/** Write every server's value (throws what the file system says). */
export function writePerServer<T>(path: string, all: Record<string, T>): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
