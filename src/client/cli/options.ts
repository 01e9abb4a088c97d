// Where host, port and nick come from: flags, then CHAT_HOST/CHAT_PORT/CHAT_NICK, then the config file, then
// defaults (localhost, 8000, the login name).

import { t } from '../text/i18n/index.js';
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { chosenNickProblem } from '../../protocol/index.js';
import { ClientError } from '../core/errors.js';
import type { TlsSettings } from '../core/tls.js';
import type { UserIdentity } from '../core/act-as-user.js';
import type { KeptSession } from '../core/kept-session.js';
import { resolveTls, tlsFileConfig, type TlsFlags } from './tls-options.js';

export const DEFAULT_HOST = 'localhost';
export const DEFAULT_PORT = 8000;

export interface Server {
  host: string;
  port: number;
}

export interface ConnectOptions {
  /** The first server; one-shot commands use it. */
  host: string;
  port: number;
  /** Every server given (`--host a,b:8001` or --host repeated): the full-screen client moves on when one fails. */
  servers: Server[];
  nick: string;
  /** The nick was chosen (flag, CHAT_NICK or config file), not defaulted to the login name. */
  nickChosen?: boolean;
  /** The login token kept for the first server (`chat login`), if any. */
  token?: string | null;
  /** The user's chat window on the first server (core/kept-session.ts), if one is open. */
  session?: KeptSession | null;
  /** Every connection over TLS (tls-options.ts); undefined: plain TCP. */
  tls?: TlsSettings | undefined;
}

export interface FileConfig extends TlsFlags {
  host?: string;
  port?: number;
  nick?: string;
  /** `"log": false` turns the buffer logs off (as --no-log). */
  log?: boolean;
  /** `"notifySend": true` also shows notifications with notify-send, when it is installed. */
  notifySend?: boolean;
  /** The language of the interface (`en`, `zh-CN`), before LC_ALL/LC_MESSAGES/LANG. */
  lang?: string;
}

type Env = Record<string, string | undefined>;

/** $CHAT_CONFIG, else $XDG_CONFIG_HOME/chat/config.json, else ~/.config/chat/config.json. */
export function configPath(env: Env): string {
  if (env.CHAT_CONFIG) return env.CHAT_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'chat', 'config.json');
}

/** The config file's settings; {} when there is none. A file that is there but wrong is an error, not ignored. */
export function readConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ClientError('bad_config', t('config.cannotRead', { path, why: (error as Error).message }));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ClientError('bad_config', t('config.notJson', { path }));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ClientError('bad_config', t('config.notObject', { path }));
  }
  const fields = value as Record<string, unknown>;
  const config: FileConfig = {};
  if (fields.host !== undefined) {
    if (typeof fields.host !== 'string') throw new ClientError('bad_config', t('config.notString', { name: 'host', path }));
    config.host = fields.host;
  }
  if (fields.port !== undefined) config.port = parsePort(String(fields.port), `"port" in ${path}`);
  if (fields.nick !== undefined) {
    if (typeof fields.nick !== 'string') throw new ClientError('bad_config', t('config.notString', { name: 'nick', path }));
    config.nick = fields.nick;
  }
  for (const name of ['log', 'notifySend'] as const) {
    if (fields[name] === undefined) continue;
    if (typeof fields[name] !== 'boolean') throw new ClientError('bad_config', t('config.notBoolean', { name, path }));
    config[name] = fields[name];
  }
  if (fields.lang !== undefined) {
    if (typeof fields.lang !== 'string') throw new ClientError('bad_config', t('config.notLang', { path }));
    config.lang = fields.lang;
  }
  return { ...config, ...tlsFileConfig(fields, path) };
}

/**
 * `a`, `a:8001`, `[::1]:8001`, several separated by commas or spaces. A server without a port gets `defaultPort`.
 */
export function parseServers(value: string, defaultPort: number): Server[] {
  const servers: Server[] = [];
  for (const item of value.split(/[\s,]+/).filter(Boolean)) {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
    if (bracketed) {
      servers.push({ host: bracketed[1]!, port: bracketed[2] ? parsePort(bracketed[2], t('config.portIn', { item })) : defaultPort });
      continue;
    }
    const colons = item.split(':').length - 1;
    if (colons === 1) {
      const [host, port] = item.split(':');
      servers.push({ host: host || DEFAULT_HOST, port: parsePort(port!, t('config.portIn', { item })) });
    } else {
      servers.push({ host: item, port: defaultPort }); // a name, an IPv4 address, or a bare IPv6 address
    }
  }
  if (servers.length === 0) throw new ClientError('bad_config', t('config.noServer'));
  return servers;
}

export function parsePort(value: string, what = t('config.port')): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(port) || port < 1 || port > 65535) {
    throw new ClientError('bad_config', t('config.badPort', { what, value: JSON.stringify(value) }));
  }
  return port;
}

/** The login name made into a valid nick (characters a nick cannot have become _). */
export function loginNick(username?: string): string {
  let name = username;
  if (name === undefined) {
    try {
      name = userInfo().username;
    } catch {
      name = '';
    }
  }
  const nick = name.normalize('NFC').replace(/[^\p{L}\p{N}\p{M}_\-.[\]{}|^`]/gu, '_').slice(0, 32);
  return nick && !chosenNickProblem(nick) ? nick : 'guest';
}

export function resolveOptions(
  flags: { host?: string; port?: string; nick?: string } & TlsFlags,
  env: Env,
  file: FileConfig,
): ConnectOptions {
  const hosts = flags.host ?? env.CHAT_HOST ?? file.host ?? DEFAULT_HOST;
  const portText = flags.port ?? env.CHAT_PORT;
  const defaultPort =
    portText !== undefined ? parsePort(portText, flags.port !== undefined ? '--port' : 'CHAT_PORT') : file.port ?? DEFAULT_PORT;
  const servers = parseServers(hosts, defaultPort);
  const chosen = flags.nick ?? env.CHAT_NICK ?? file.nick;
  const nick = (chosen ?? loginNick()).normalize('NFC');
  const tls = resolveTls(flags, env, file);
  return { host: servers[0]!.host, port: servers[0]!.port, servers, nick, nickChosen: chosen !== undefined, ...(tls && { tls }) };
}

/** Who a one-shot command acts as (core/act-as-user.ts). */
export function userIdentity(options: ConnectOptions): UserIdentity {
  return { nick: options.nick, nickChosen: options.nickChosen, loginToken: options.token ?? null, session: options.session ?? null };
}
