// Send a voice message: prepare the audio (measure, encode), then upload it with its duration and waveform.

import { uploadFile, type UploadResult } from '../transfer/upload.js';
import type { Endpoint, Identity, Progress } from '../transfer/open.js';
import { prepareVoice, voiceFileName } from './prepare.js';
import type { Env } from './tools.js';

export interface SendVoiceOptions {
  endpoint: Endpoint;
  identity: Identity;
  /** Any audio file the tools here read. */
  input: string;
  room?: string;
  to?: string;
  env?: Env;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

export interface SendVoiceResult extends UploadResult {
  name: string;
  format: 'opus' | 'wav';
  durationMs: number;
  waveform: number[];
  note?: string;
}

export async function sendVoice(options: SendVoiceOptions): Promise<SendVoiceResult> {
  const prepared = await prepareVoice(options.input, options.env);
  try {
    const name = voiceFileName(prepared.format);
    const result = await uploadFile({
      endpoint: options.endpoint,
      identity: options.identity,
      path: prepared.path,
      name,
      ...(options.to !== undefined ? { to: options.to } : { room: options.room! }),
      voice: { kind: 'voice', duration_ms: prepared.durationMs, waveform: prepared.waveform },
      ...(options.onProgress && { onProgress: options.onProgress }),
      ...(options.signal && { signal: options.signal }),
    });
    const { format, durationMs, waveform, note } = prepared;
    return { ...result, name, format, durationMs, waveform, ...(note !== undefined && { note }) };
  } finally {
    prepared.cleanup();
  }
}
