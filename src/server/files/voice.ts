// A voice message's metadata as the file store keeps it and announces it (docs/protocol.md "Voice messages").
// The parser has checked it (protocol/voice.ts); here it is only carried from the upload to the record to the event.

import type { VoiceMeta } from '../../protocol/index.js';

/** The voice fields of an upload, a record or an event: all three, or none for a plain file. */
export function voiceFields(source: { kind?: string; duration_ms?: number; waveform?: number[] }): VoiceMeta | Record<string, never> {
  if (source.kind !== 'voice' || source.duration_ms === undefined || source.waveform === undefined) return {};
  return { kind: 'voice', duration_ms: source.duration_ms, waveform: source.waveform };
}
