// Upload a file with automatic resume: the server says how much of this content it already has.

import { createReadStream, statSync } from 'node:fs';
import type { VoiceMeta } from '../../../protocol/index.js';
import type { Connection } from '../connection.js';
import { checkedFileId } from './file-id.js';
import { ask, openTransfer, type Endpoint, type Identity, type Progress } from './open.js';
import { sha256OfFile } from './sha256.js';

/** The whole body must be taken within this time. */
const UPLOAD_REPLY_TIMEOUT_MS = 10 * 60_000;

export interface UploadOptions {
  endpoint: Endpoint;
  identity: Identity;
  path: string;
  /** The name others see (default: the file's own name). */
  name: string;
  room?: string;
  to?: string;
  /** A voice message: its kind, duration and waveform go with the header. */
  voice?: VoiceMeta;
  onProgress?: (progress: Progress) => void;
  /** Progress of reading the file for its sha256, before anything is sent. */
  onHashProgress?: (progress: Progress) => void;
  /** Aborting closes the transfer's connection (the chat client quitting). */
  signal?: AbortSignal;
}

export interface UploadResult {
  file: string;
  size: number;
  sha256: string;
  /** Bytes the server already had from an earlier, interrupted upload. */
  resumedFrom: number;
}

/** Upload a file; continues an interrupted upload of the same content where the server has it. */
export async function uploadFile(options: UploadOptions): Promise<UploadResult> {
  const size = statSync(options.path).size;
  const sha256 = await sha256OfFile(options.path, options.onHashProgress && ((done) => options.onHashProgress!({ done, total: size })));
  const { conn, stop } = await openTransfer(options.endpoint, options.identity, options.signal);
  try {
    const status = await ask(conn, { type: 'upload_status', sha256, size }, 'upload_status');
    const offset = status.have;
    const target = options.to !== undefined ? { to: options.to } : { room: options.room! };
    const accepted = ask(conn, { type: 'upload', ...target, name: options.name, size, sha256, offset, ...options.voice }, 'ok', {
      timeoutMs: UPLOAD_REPLY_TIMEOUT_MS,
    });
    accepted.catch(() => {}); // awaited below, after the body; a lost connection fails the sending first
    await sendBody(conn, options.path, offset, size, options.onProgress);
    const ok = await accepted;
    return { file: checkedFileId(ok.file, 'server'), size, sha256, resumedFrom: offset };
  } finally {
    stop();
    conn.end();
  }
}

async function sendBody(conn: Connection, path: string, offset: number, size: number, onProgress?: (progress: Progress) => void): Promise<void> {
  if (offset >= size) return;
  let done = offset;
  for await (const chunk of createReadStream(path, { start: offset, highWaterMark: 256 * 1024 })) {
    done += (chunk as Buffer).length;
    await conn.sendRaw(chunk as Buffer);
    onProgress?.({ done, total: size });
  }
}
