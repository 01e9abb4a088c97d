// Reading audio in memory: a WAV file's samples, its duration and its waveform (the peak of each slice), and
// recognising Ogg/Opus. Pure: no files, no processes.

/** The PCM of a WAV file: integer (8, 16, 24, 32 bits) or float (32 bits) samples, channels interleaved. */
export interface Wav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  float: boolean;
  data: Buffer;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Slices in the waveform a voice message carries (8 to 256 on the wire). */
export const WAVEFORM_SLICES = 64;

/** The PCM of a WAV file, or null when it is not one this reads (compressed WAV, another format). */
export function readWav(bytes: Buffer): Wav | null {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WAVE') return null;
  let format: Omit<Wav, 'data'> | null = null;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString('latin1', at, at + 4);
    const declared = bytes.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ' && body + 16 <= bytes.length) {
      let tag = bytes.readUInt16LE(body);
      if (tag === WAVE_FORMAT_EXTENSIBLE && body + 26 <= bytes.length) tag = bytes.readUInt16LE(body + 24);
      if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_FLOAT) return null;
      format = {
        channels: bytes.readUInt16LE(body + 2),
        sampleRate: bytes.readUInt32LE(body + 4),
        bitsPerSample: bytes.readUInt16LE(body + 14),
        float: tag === WAVE_FORMAT_FLOAT,
      };
    } else if (id === 'data' && format) {
      // A recorder stopped before it fixed its header says 0 or 0xFFFFFFFF: then the data is the rest of the file.
      const end = declared === 0 || body + declared > bytes.length ? bytes.length : body + declared;
      const bytesPerFrame = (format.bitsPerSample / 8) * format.channels;
      if (!(bytesPerFrame > 0) || format.sampleRate <= 0) return null;
      const usable = end - body - ((end - body) % bytesPerFrame);
      return { ...format, data: bytes.subarray(body, body + usable) };
    }
    at = body + declared + (declared % 2);
  }
  return null;
}

function frameBytes(wav: Wav): number {
  return (wav.bitsPerSample / 8) * wav.channels;
}

export function wavFrames(wav: Wav): number {
  return Math.floor(wav.data.length / frameBytes(wav));
}

export function wavDurationMs(wav: Wav): number {
  return Math.round((wavFrames(wav) / wav.sampleRate) * 1000);
}

/** One sample's magnitude, 0 to 1. */
function magnitude(wav: Wav, offset: number): number {
  const { data, bitsPerSample, float } = wav;
  if (float) return Math.min(1, Math.abs(data.readFloatLE(offset)));
  switch (bitsPerSample) {
    case 8:
      return Math.abs(data[offset]! - 128) / 128;
    case 16:
      return Math.abs(data.readInt16LE(offset)) / 32768;
    case 24:
      return Math.abs(data.readIntLE(offset, 3)) / 8388608;
    case 32:
      return Math.abs(data.readInt32LE(offset)) / 2147483648;
    default:
      return 0;
  }
}

/** The peak of frames [from, to), over every channel, 0 to 1. */
function peak(wav: Wav, from: number, to: number): number {
  const sampleBytes = wav.bitsPerSample / 8;
  const frame = frameBytes(wav);
  let highest = 0;
  for (let f = from; f < to; f++) {
    for (let c = 0; c < wav.channels; c++) highest = Math.max(highest, magnitude(wav, f * frame + c * sampleBytes));
  }
  return highest;
}

/** The peak level (0-255) of each of `slices` equal slices of the sound. */
export function waveform(wav: Wav, slices = WAVEFORM_SLICES): number[] {
  const frames = wavFrames(wav);
  const levels: number[] = [];
  for (let i = 0; i < slices; i++) {
    const from = Math.floor((i * frames) / slices);
    const to = Math.max(from, Math.floor(((i + 1) * frames) / slices));
    levels.push(Math.round(peak(wav, from, to) * 255));
  }
  return levels;
}

/** The level (0 to 1) of the last bytes of 16-bit PCM a recorder wrote: for the meter while recording. */
export function tailLevel(bytes: Buffer): number {
  let highest = 0;
  for (let at = bytes.length % 2; at + 2 <= bytes.length; at += 2) highest = Math.max(highest, Math.abs(bytes.readInt16LE(at)));
  return highest / 32768;
}

/** Whether the bytes start an Ogg stream of Opus (`OggS`, then the `OpusHead` packet in the first page). */
export function isOggOpus(head: Buffer): boolean {
  return head.length >= 36 && head.toString('latin1', 0, 4) === 'OggS' && head.toString('latin1', 28, 36) === 'OpusHead';
}
