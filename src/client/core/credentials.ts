// Login tokens the client keeps (docs/protocol.md "Accounts"): never the password, only the revocable token the
// server gave, per server (host:port), in $XDG_CONFIG_HOME/chat/tokens.json (else ~/.config/chat/tokens.json),
// readable by the user alone (mode 0600, in a directory of mode 0700).

import { homedir } from 'node:os';
import { join } from 'node:path';
import { t } from '../text/i18n/index.js';
import { ClientError } from './errors.js';
import { readPerServer, serverEntryKey, writePerServer } from './per-server-file.js';

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

const serverKey = serverEntryKey;
const readAll = (path: string) => readPerServer<Credential>(path);

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
    writePerServer(path, all);
  } catch (error) {
    throw new ClientError('bad_config', t('credentials.cannotKeep', { path, why: (error as Error).message }));
  }
}
