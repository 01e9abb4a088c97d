// A voice message from any audio file: decoded to WAV to measure it (duration and waveform), encoded as Opus in Ogg
// with opusenc or ffmpeg (sent as it is when it is Ogg/Opus already), or sent as WAV when there is no encoder.

import { t } from '../../text/i18n/index.js';
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VOICE_LIMITS } from '../../../protocol/index.js';
import { formatDuration } from '../../text/time.js';
import { ClientError } from '../errors.js';
import { which, type Env } from './tools.js';
import { isOggOpus, readWav, waveform, wavDurationMs } from './wav.js';

/** Opus for speech: 24 kbit/s is clear and a minute is about 180 kB. */
const OPUS_BITRATE_KBPS = 24;

export interface PreparedVoice {
  /** The file to upload. */
  path: string;
  format: 'opus' | 'wav';
  durationMs: number;
  waveform: number[];
  /** Said to the user when the message is not sent as Opus (no encoder here). */
  note?: string;
  /** Remove the temporary files. */
  cleanup(): void;
}

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 120_000, maxBuffer: 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${program} failed: ${String(stderr).trim().split('\n').pop() || error.message}`));
      else resolve();
    });
  });
}

function head(path: string, bytes = 64): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/** The audio as a WAV file this reads: the input itself, or decoded into `dir`. */
async function asWav(input: string, dir: string, env: Env): Promise<string> {
  if (readWav(head(input, 4096)) !== null) return input;
  const out = join(dir, 'decoded.wav');
  const errors: string[] = [];
  const decoders: [string, string[]][] = [
    ...(isOggOpus(head(input)) ? ([['opusdec', ['--quiet', '--force-wav', input, out]]] as [string, string[]][]) : []),
    ['ffmpeg', ['-v', 'error', '-y', '-i', input, '-ac', '1', '-c:a', 'pcm_s16le', out]],
    ['sox', [input, '-b', '16', out]],
  ];
  for (const [program, args] of decoders) {
    if (!which(program, env)) continue;
    try {
      await run(program, args);
      return out;
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  if (errors.length > 0) throw new ClientError('bad_config', t('voice.cannotReadAudio', { input, errors: errors.join('; ') }));
  throw new ClientError('missing_tool', t('voice.notWav', { input }));
}

/** Encode a WAV as Ogg/Opus into `dir`; null when no encoder here can. */
async function toOpus(wav: string, dir: string, env: Env): Promise<string | null> {
  const out = join(dir, 'voice.opus');
  const encoders: [string, string[]][] = [
    ['opusenc', ['--quiet', '--bitrate', String(OPUS_BITRATE_KBPS), wav, out]],
    ['ffmpeg', ['-v', 'error', '-y', '-i', wav, '-ac', '1', '-c:a', 'libopus', '-b:a', `${OPUS_BITRATE_KBPS}k`, '-f', 'ogg', out]],
  ];
  for (const [program, args] of encoders) {
    if (!which(program, env)) continue;
    try {
      await run(program, args);
      return out;
    } catch {
      // an ffmpeg built without libopus: try the next, else send WAV
    }
  }
  return null;
}

/** Measure and encode `input` (any audio the tools here read) as a voice message. */
export async function prepareVoice(input: string, env: Env = process.env): Promise<PreparedVoice> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-voice-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const wavPath = await asWav(input, dir, env);
    const wav = readWav(readFileSync(wavPath))!;
    const durationMs = wavDurationMs(wav);
    if (durationMs < 1) throw new ClientError('bad_config', t('voice.noSound', { input }));
    if (durationMs > VOICE_LIMITS.maxDurationMs) {
      throw new ClientError('bad_config', t('voice.tooLong', { max: formatDuration(VOICE_LIMITS.maxDurationMs / 1000), duration: formatDuration(durationMs / 1000) }));
    }
    const levels = waveform(wav);
    if (isOggOpus(head(input))) return { path: input, format: 'opus', durationMs, waveform: levels, cleanup };
    const opus = await toOpus(wavPath, dir, env);
    if (opus) return { path: opus, format: 'opus', durationMs, waveform: levels, cleanup };
    if (statSync(wavPath).size > VOICE_LIMITS.maxBytes) {
      throw new ClientError('missing_tool', t('voice.tooBigWav'));
    }
    const note = t('voice.wavNote');
    return { path: wavPath, format: 'wav', durationMs, waveform: levels, note, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

/** The name a voice message is shared under: `voice-2026-12-02-0131.opus`. */
export function voiceFileName(format: 'opus' | 'wav', now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `voice-${stamp}.${format}`;
}
