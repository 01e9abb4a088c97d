// The chat window's session, kept where one-shot commands of the same user on the same machine find it
// ($XDG_RUNTIME_DIR/chat/sessions.json, else beside the login tokens), readable by the user alone: its nick and
// the attach token of its welcome, per server (host:port). `chat send`, `send-file` and `get` attach with it when
// the window holds the nick, and so act as that session instead of taking another nick (docs/protocol.md "attach").

import { homedir } from 'node:os';
import { join } from 'node:path';
import { readPerServer, serverEntryKey, writePerServer } from './per-server-file.js';

export interface KeptSession {
  nick: string;
  /** The attach token of the window's current connection (a reconnect gives a new one, kept again). */
  token: string;
}

type Env = Record<string, string | undefined>;

export function keptSessionsPath(env: Env): string {
  const base = env.XDG_RUNTIME_DIR || env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'chat', 'sessions.json');
}

const serverKey = serverEntryKey;
const readAll = (path: string) => readPerServer<KeptSession>(path);

export function readKeptSession(path: string, server: { host: string; port: number }): KeptSession | null {
  const found = readAll(path)[serverKey(server)];
  return found && typeof found.nick === 'string' && typeof found.token === 'string' ? { nick: found.nick, token: found.token } : null;
}

/**
 * Keep `session` for this server; null forgets the one kept, but only when it is still `previous` (another window
 * may have taken its place). Best effort: a window that cannot write it still works, one-shots then use a nick of
 * their own.
 */
export function keepSession(path: string, server: { host: string; port: number }, session: KeptSession | null, previous?: string): void {
  const all = readAll(path);
  const key = serverKey(server);
  if (session) all[key] = session;
  else if (all[key]?.token === previous) delete all[key];
  else return;
  try {
    writePerServer(path, all);
  } catch {
    // Not kept: one-shot commands will not find this window.
  }
}
