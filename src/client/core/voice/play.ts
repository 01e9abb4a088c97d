// Playing a voice message: downloaded once into a cache (~/.cache/chat/voice/<id>.<ext>), then handed to the
// player as its last argument. Opus is decoded to WAV first for a player that takes WAV only (aplay).

import { t } from '../../text/i18n/index.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import { ClientError } from '../errors.js';
import { downloadFile } from '../transfer/download.js';
import type { Endpoint, Identity } from '../transfer/open.js';
import { which, type Env, type ToolCommand } from './tools.js';

/** $CHAT_VOICE_CACHE, else $XDG_CACHE_HOME/chat/voice, else ~/.cache/chat/voice. */
export function voiceCacheDir(env: Env = process.env): string {
  if (env.CHAT_VOICE_CACHE) return env.CHAT_VOICE_CACHE;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'chat', 'voice');
}

/** Where a voice message is cached: by its id (ids are base64url, safe as file names), with its name's extension. */
function cachePath(dir: string, id: string, name: string): string {
  const ext = extname(name).toLowerCase();
  return join(dir, `${id}${/^\.[a-z0-9]{1,5}$/.test(ext) ? ext : '.ogg'}`);
}

export interface FetchVoiceOptions {
  endpoint: Endpoint;
  identity: Identity;
  file: string;
  /** The name it was shared under, when known (for its extension); else the server's. */
  name?: string;
  env?: Env;
  signal?: AbortSignal;
}

/** The cached copy of a voice message, downloaded (sha256 verified) the first time. */
export async function fetchVoice(options: FetchVoiceOptions): Promise<string> {
  const dir = voiceCacheDir(options.env);
  mkdirSync(dir, { recursive: true });
  const known = options.name !== undefined ? cachePath(dir, options.file, options.name) : cachedBefore(dir, options.file);
  if (known && existsSync(known)) return known;
  const staging = join(dir, `${options.file}.download`);
  rmSync(staging, { force: true });
  const result = await downloadFile({
    endpoint: options.endpoint,
    identity: options.identity,
    file: options.file,
    output: { path: staging },
    ...(options.signal && { signal: options.signal }),
  });
  const path = cachePath(dir, options.file, result.name);
  renameSync(result.path ?? staging, path);
  return path;
}

/** A copy cached earlier under any extension (the original, not a WAV decoded from it, when both are there). */
function cachedBefore(dir: string, id: string): string | null {
  const names = readdirSync(dir).filter((name) => name.startsWith(`${id}.`) && !name.endsWith('.download'));
  const best = names.find((name) => !name.endsWith('.wav')) ?? names[0];
  return best ? join(dir, best) : null;
}

/** A WAV beside a cached Opus file, for a player that takes WAV only. */
function decodedForWavPlayer(path: string, env: Env): Promise<string> {
  const wav = path.replace(/\.[^.]+$/, '') + '.wav';
  if (path.endsWith('.wav') || existsSync(wav)) return Promise.resolve(path.endsWith('.wav') ? path : wav);
  const decoder: [string, string[]] | null = which('opusdec', env)
    ? ['opusdec', ['--quiet', '--force-wav', path, wav]]
    : which('ffmpeg', env)
      ? ['ffmpeg', ['-v', 'error', '-y', '-i', path, wav]]
      : null;
  if (!decoder) throw new ClientError('missing_tool', t('voice.noOpusDecoder'));
  return new Promise((resolve, reject) =>
    execFile(decoder[0], decoder[1], (error) => (error ? reject(new Error(t('voice.couldNotDecode', { program: decoder[0] }))) : resolve(wav))),
  );
}

/** A player running (or done). */
export interface Playback {
  readonly path: string;
  /** Resolves when the player exits: its exit code, or the signal that ended it. */
  readonly ended: Promise<number | NodeJS.Signals>;
  stop(): void;
}

/** Why a player's end was a failure, or null when it played (or was stopped by /stop). */
export function playerFailure(program: string, ended: number | NodeJS.Signals): string | null {
  if (ended === 0 || ended === 'SIGTERM') return null;
  const how = typeof ended === 'number' ? t('voice.exitCode', { code: ended }) : ended;
  return t('voice.playerFailed', { program, how });
}

/** Run the player on a cached file. */
export async function startPlayer(player: ToolCommand, path: string, env: Env = process.env): Promise<Playback> {
  const file = player.wavOnly ? await decodedForWavPlayer(path, env) : path;
  const child: ChildProcess = spawn(player.program, [...player.args, file], { stdio: 'ignore', env: env as NodeJS.ProcessEnv });
  const ended = new Promise<number | NodeJS.Signals>((resolve, reject) => {
    child.once('error', (error) =>
      reject(new ClientError('missing_tool', t('voice.cannotRunPlayer', { program: player.program, why: (error as NodeJS.ErrnoException).code === 'ENOENT' ? t('voice.notFound') : error.message }))),
    );
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 0));
  });
  ended.catch(() => {});
  return {
    path: file,
    ended,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
