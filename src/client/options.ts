// Where host, port and nick come from: flags, then CHAT_HOST/CHAT_PORT/CHAT_NICK, then the config file, then
// defaults (localhost, 8000, the login name).

import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { nickProblem } from '../protocol/index.js';
import { ClientError } from './errors.js';

export const DEFAULT_HOST = 'localhost';
export const DEFAULT_PORT = 8000;

export interface ConnectOptions {
  host: string;
  port: number;
  nick: string;
  /** The nick was chosen (flag, CHAT_NICK or config file), not defaulted to the login name. */
  nickChosen?: boolean;
}

export interface FileConfig {
  host?: string;
  port?: number;
  nick?: string;
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
    throw new ClientError('bad_config', `cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ClientError('bad_config', `the config file ${path} is not valid JSON; expected {"host": "...", "port": 8000, "nick": "..."}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ClientError('bad_config', `the config file ${path} must hold a JSON object like {"nick": "alice"}`);
  }
  const fields = value as Record<string, unknown>;
  const config: FileConfig = {};
  if (fields.host !== undefined) {
    if (typeof fields.host !== 'string') throw new ClientError('bad_config', `"host" in ${path} must be a string`);
    config.host = fields.host;
  }
  if (fields.port !== undefined) config.port = parsePort(String(fields.port), `"port" in ${path}`);
  if (fields.nick !== undefined) {
    if (typeof fields.nick !== 'string') throw new ClientError('bad_config', `"nick" in ${path} must be a string`);
    config.nick = fields.nick;
  }
  return config;
}

export function parsePort(value: string, what = 'the port'): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(port) || port < 1 || port > 65535) {
    throw new ClientError('bad_config', `${what} must be a number from 1 to 65535, not ${JSON.stringify(value)}`);
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
  return nick && !nickProblem(nick) ? nick : 'guest';
}

export function resolveOptions(
  flags: { host?: string; port?: string; nick?: string },
  env: Env,
  file: FileConfig,
): ConnectOptions {
  const host = flags.host ?? env.CHAT_HOST ?? file.host ?? DEFAULT_HOST;
  const portText = flags.port ?? env.CHAT_PORT;
  const port = portText !== undefined ? parsePort(portText, flags.port !== undefined ? '--port' : 'CHAT_PORT') : file.port ?? DEFAULT_PORT;
  const chosen = flags.nick ?? env.CHAT_NICK ?? file.nick;
  const nick = (chosen ?? loginNick()).normalize('NFC');
  return { host, port, nick, nickChosen: chosen !== undefined };
}
