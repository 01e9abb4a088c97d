// Login tokens the client keeps (docs/protocol.md "Accounts"): never the password, only the revocable token the
// server gave, per server (host:port), in $XDG_CONFIG_HOME/chat/tokens.json (else ~/.config/chat/tokens.json),
// readable by the user alone (mode 0600, in a directory of mode 0700).

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { t } from '../text/i18n/index.js';
import { ClientError } from './errors.js';

export interface Credential {
  /** The account the token logs in as. */
  account: string;
  token: string;
}

type Env = Record<string, string | undefined>;

/** Where the tokens are kept. */
export function credentialsPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'chat', 'tokens.json');
}

const serverKey = (server: { host: string; port: number }) => `${server.host}:${server.port}`;

function readAll(path: string): Record<string, Credential> {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, Credential>) : {};
  } catch {
    return {};
  }
}

/** The token kept for this server, or null. */
export function readCredential(path: string, server: { host: string; port: number }): Credential | null {
  const found = readAll(path)[serverKey(server)];
  return found && typeof found.token === 'string' && typeof found.account === 'string' ? found : null;
}

/** Keep `credential` for this server (null: forget it), written whole and readable by the user alone. */
export function saveCredential(path: string, server: { host: string; port: number }, credential: Credential | null): void {
  const all = readAll(path);
  if (credential) all[serverKey(server)] = credential;
  else delete all[serverKey(server)];
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (error) {
    throw new ClientError('bad_config', t('credentials.cannotKeep', { path, why: (error as Error).message }));
  }
}
