// /ignore: nicks whose messages this client does not show, kept in $XDG_CONFIG_HOME/chat/ignore (else
// ~/.config/chat/ignore), one nick a line. Client-side only: the server and the others know nothing of it.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { nickKey } from '../../protocol/index.js';

type Env = Record<string, string | undefined>;

export function ignorePath(env: Env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'chat', 'ignore');
}

/** How many nicks the list keeps: it is read whole at start. */
const IGNORE_MAX = 1000;

export class IgnoreList {
  private readonly nicks = new Map<string, string>();

  /** `path` null: not saved (tests, one-shots). */
  constructor(private readonly path: string | null = null) {
    if (path === null) return;
    try {
      for (const line of readFileSync(path, 'utf8').split('\n')) if (line.trim()) this.nicks.set(nickKey(line.trim()), line.trim());
    } catch {
      // no list yet
    }
  }

  has(nick: string): boolean {
    return this.nicks.size > 0 && this.nicks.has(nickKey(nick));
  }

  list(): string[] {
    return [...this.nicks.values()];
  }

  /** False when it was there already (or the list is full). */
  add(nick: string): boolean {
    if (this.has(nick) || this.nicks.size >= IGNORE_MAX) return false;
    this.nicks.set(nickKey(nick), nick);
    this.save();
    return true;
  }

  remove(nick: string): boolean {
    if (!this.nicks.delete(nickKey(nick))) return false;
    this.save();
    return true;
  }

  private save(): void {
    if (this.path === null) return;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, this.list().map((nick) => `${nick}\n`).join(''), { mode: 0o600 });
    renameSync(temporary, this.path);
  }
}
