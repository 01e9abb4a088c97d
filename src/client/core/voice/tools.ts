// Which programs record, play and convert audio here: the first one found on PATH of a list of common tools, or the
// command the user named (CHAT_RECORDER / CHAT_PLAYER, or "recorder" / "player" in the config file).

import { t } from '../../text/i18n/index.js';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { ClientError } from '../errors.js';

export type Env = Record<string, string | undefined>;

/** A program and its arguments; the file's path is added as the last argument. */
export interface ToolCommand {
  program: string;
  args: string[];
  /** The player takes WAV only (aplay): Opus is decoded for it first. */
  wavOnly?: boolean;
}

/** Commands the user chose, from the config file (the environment wins over it). */
export interface VoiceToolSettings {
  recorder?: string;
  player?: string;
}

/** Recorders, in order of preference: each writes a 48 kHz mono 16-bit WAV to the path it gets last. */
const RECORDERS: ToolCommand[] = [
  { program: 'rec', args: ['-q', '-c', '1', '-r', '48000', '-b', '16'] },
  { program: 'arecord', args: ['-q', '-f', 'S16_LE', '-c', '1', '-r', '48000', '-t', 'wav'] },
  process.platform === 'darwin'
    ? { program: 'ffmpeg', args: ['-loglevel', 'error', '-y', '-f', 'avfoundation', '-i', ':0', '-ac', '1', '-ar', '48000'] }
    : { program: 'ffmpeg', args: ['-loglevel', 'error', '-y', '-f', 'pulse', '-i', 'default', '-ac', '1', '-ar', '48000'] },
  { program: 'parecord', args: ['--channels=1', '--rate=48000', '--file-format=wav'] },
];

/** Players, in order of preference. */
const PLAYERS: ToolCommand[] = [
  { program: 'play', args: ['-q'] },
  { program: 'aplay', args: ['-q'], wavOnly: true },
  { program: 'ffplay', args: ['-nodisp', '-autoexit', '-loglevel', 'error'] },
  { program: 'mpv', args: ['--no-video', '--really-quiet'] },
  { program: 'paplay', args: [] },
];


/** A program's full path when it is on PATH (or is a path itself) and executable. */
export function which(program: string, env: Env = process.env): string | null {
  const candidates = isAbsolute(program) || program.includes('/') ? [program] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A command line as the user wrote it, split into words; quotes group words ("my player" --flag). */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}

/** The command the user named (`where` says where), checked to be there. */
function chosen(text: string | undefined, where: string, env: Env): ToolCommand | null {
  const words = text ? splitCommand(text) : [];
  if (words.length === 0) return null;
  if (!which(words[0]!, env)) throw new ClientError('missing_tool', t('voice.notInstalled', { where, program: words[0]! }));
  return { program: words[0]!, args: words.slice(1) };
}

function firstFound(list: readonly ToolCommand[], env: Env): ToolCommand | null {
  for (const tool of list) if (which(tool.program, env)) return tool;
  return null;
}

/** The recorder to run: CHAT_RECORDER, the config file's, else the first found. Throws missing_tool. */
export function findRecorder(env: Env = process.env, settings: VoiceToolSettings = {}): ToolCommand {
  const tool = chosen(env.CHAT_RECORDER, 'CHAT_RECORDER', env) ?? chosen(settings.recorder, t('voice.configRecorder'), env) ?? firstFound(RECORDERS, env);
  if (!tool) throw new ClientError('missing_tool', t('voice.noRecorder', { hint: t('voice.installHint') }));
  return tool;
}

/** The player to run: CHAT_PLAYER, the config file's, else the first found. Throws missing_tool. */
export function findPlayer(env: Env = process.env, settings: VoiceToolSettings = {}): ToolCommand {
  const tool = chosen(env.CHAT_PLAYER, 'CHAT_PLAYER', env) ?? chosen(settings.player, t('voice.configPlayer'), env) ?? firstFound(PLAYERS, env);
  if (!tool) throw new ClientError('missing_tool', t('voice.noPlayer', { hint: t('voice.installHint') }));
  return tool;
}
