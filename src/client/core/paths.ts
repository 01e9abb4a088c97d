// Paths as the user types them in /send and /get: `~` expanded, the default download directory, and Tab completion
// of a path.

import { readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** `~` and `~/x` as the shell would expand them. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** Where downloads go when /get names no directory: ~/Downloads if it exists, else the current directory. */
export function defaultDownloadDir(home: string = homedir(), cwd: string = process.cwd()): string {
  const downloads = join(home, 'Downloads');
  try {
    if (statSync(downloads).isDirectory()) return downloads;
  } catch {
    // no ~/Downloads
  }
  return cwd;
}

/** Tab after `/send `: the paths that complete `typed` (directories end in `/`), hidden files only when asked for. */
export function completePath(typed: string, cwd: string = process.cwd(), home: string = homedir()): string[] {
  const slash = typed.lastIndexOf('/');
  const dirPart = slash >= 0 ? typed.slice(0, slash + 1) : '';
  const base = typed.slice(slash + 1);
  const dir = dirPart === '' ? cwd : resolve(cwd, expandHome(dirPart, home));
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')))
      .map((e) => `${dirPart}${e.name}${e.isDirectory() ? '/' : ''}`)
      .sort()
      .slice(0, 500);
  } catch {
    return [];
  }
}
