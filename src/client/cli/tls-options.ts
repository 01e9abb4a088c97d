// Whether and how `chat` uses TLS: --tls and --tls-ca FILE, else CHAT_TLS=1 and CHAT_TLS_CA, else "tls": true
// and "tlsCa" in the config file. Pins go to $XDG_CONFIG_HOME/chat/known_servers (~/.config/chat/known_servers).

import { t } from '../text/i18n/index.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ClientError } from '../core/errors.js';
import type { ClientState } from '../core/state.js';
import type { TlsSettings } from '../core/tls.js';

type Env = Record<string, string | undefined>;

export interface TlsFlags {
  tls?: boolean;
  tlsCa?: string;
}

/** The config file's TLS settings (`fields` is its JSON object); throws on a field of the wrong type. */
export function tlsFileConfig(fields: Record<string, unknown>, path: string): TlsFlags {
  const config: TlsFlags = {};
  if (fields.tls !== undefined) {
    if (typeof fields.tls !== 'boolean') throw new ClientError('bad_config', t('config.notBoolean', { name: 'tls', path }));
    config.tls = fields.tls;
  }
  if (fields.tlsCa !== undefined) {
    if (typeof fields.tlsCa !== 'string') throw new ClientError('bad_config', t('config.notPem', { path }));
    config.tlsCa = fields.tlsCa;
  }
  return config;
}

/** $XDG_CONFIG_HOME/chat/known_servers, else ~/.config/chat/known_servers. */
export function knownServersPath(env: Env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'chat', 'known_servers');
}

/** The TLS settings of every connection, or undefined for plain TCP. --tls-ca (in any of its forms) implies --tls. */
export function resolveTls(flags: TlsFlags, env: Env, file: TlsFlags): TlsSettings | undefined {
  const caFile = flags.tlsCa ?? (env.CHAT_TLS_CA || undefined) ?? file.tlsCa;
  const on = flags.tls || caFile !== undefined || /^(1|true|yes|on)$/i.test(env.CHAT_TLS ?? '') || file.tls === true;
  if (!on) return undefined;
  return { knownServers: knownServersPath(env), ...(caFile !== undefined && { caFile }) };
}

/**
 * The full-screen client shows a first-use pin in the room on screen (stderr is hidden under it): notes from the
 * first connection wait until `shown()` is called once the rooms are open; later ones go straight in.
 */
export function pinNotesIn(state: ClientState, tls: TlsSettings): { shown(): void } {
  const early: string[] = [];
  let open = false;
  tls.onPinned = (note) => (open ? state.info(state.active, note) : early.push(note));
  return {
    shown() {
      open = true;
      for (const note of early.splice(0)) state.info(state.active, note);
    },
  };
}
