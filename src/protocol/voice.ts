// Voice messages on the wire (docs/protocol.md "Voice messages"): a file upload with `"kind":"voice"`, its length in
// milliseconds and a coarse waveform. Pure: the limits and the check, shared by the server and the client.

/** Bounds of a voice message's metadata; the server refuses others with bad_request. */
export const VOICE_LIMITS = {
  /** Ten minutes: a voice message is a message, not a podcast (Opus speech at 24 kbit/s: about 1.8 MB). */
  maxDurationMs: 10 * 60 * 1000,
  /** Fewer slices than this draw no shape. */
  minWaveform: 8,
  /** More than this is more detail than any terminal line shows, and bytes in every history page. */
  maxWaveform: 256,
  /** Each slice's peak level, 0 (silence) to 255 (full scale). */
  maxLevel: 255,
  /** Bytes of one voice message: ten minutes of 48 kHz 16-bit mono WAV (what a client sends without an encoder). */
  maxBytes: 64 * 1024 * 1024,
} as const;

export const FileKind = { voice: 'voice' } as const;
export type FileKind = (typeof FileKind)[keyof typeof FileKind];

/** What a voice message carries besides the file's own fields. */
export interface VoiceMeta {
  kind: 'voice';
  duration_ms: number;
  waveform: number[];
}

/** What is wrong with a voice message's `kind`, `duration_ms` and `waveform`, or null when they are sane. */
export function voiceProblem(kind: unknown, durationMs: unknown, waveform: unknown, size = 0): string | null {
  if (kind !== FileKind.voice) return `"kind" must be "voice" (or left out for a plain file)`;
  if (size > VOICE_LIMITS.maxBytes) return `a voice message may have at most ${VOICE_LIMITS.maxBytes} bytes; send it as a file`;
  if (typeof durationMs !== 'number' || !Number.isSafeInteger(durationMs) || durationMs < 1 || durationMs > VOICE_LIMITS.maxDurationMs) {
    return `"duration_ms" must be a whole number of milliseconds from 1 to ${VOICE_LIMITS.maxDurationMs}`;
  }
  const { minWaveform, maxWaveform, maxLevel } = VOICE_LIMITS;
  if (!Array.isArray(waveform) || waveform.length < minWaveform || waveform.length > maxWaveform) {
    return `"waveform" must be an array of ${minWaveform} to ${maxWaveform} levels`;
  }
  if (!waveform.every((level) => typeof level === 'number' && Number.isInteger(level) && level >= 0 && level <= maxLevel)) {
    return `"waveform" levels must be whole numbers from 0 to ${maxLevel}`;
  }
  return null;
}
