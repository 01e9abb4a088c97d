// Download a file: saved under a safe, new name, resumable from a `.part` file, kept only when its sha256 matches.

import { t } from '../../text/i18n/index.js';
import { createWriteStream, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { FileDataEvent } from '../../../protocol/index.js';
import type { Connection } from '../connection.js';
import { ClientError } from '../errors.js';
import { checkedFileId } from './file-id.js';
import { ask, openTransfer, type Endpoint, type Identity, type Progress } from './open.js';
import { availablePath, safeFileName } from './safe-name.js';
import { newSha256, sha256OfFile } from './sha256.js';

export interface DownloadOptions {
  endpoint: Endpoint;
  identity: Identity;
  file: string;
  /** A directory to save into (under the file's own, made-safe name), a file path, or a Writable (stdout). */
  output: { dir: string } | { path: string } | { stream: Writable };
  /** Continue from a partial download (`<final name>.part`) left by an earlier attempt. */
  resume?: boolean;
  onProgress?: (progress: Progress) => void;
  /** Aborting closes the transfer's connection (the chat client quitting). */
  signal?: AbortSignal;
  /** A download that receives no byte for this long fails (default 30 s). */
  stallTimeoutMs?: number;
}

export interface DownloadResult {
  /** Where it was saved (undefined for a stream). */
  path?: string;
  name: string;
  size: number;
  sha256: string;
  resumedFrom: number;
}

export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const file = checkedFileId(options.file, 'user');
  const identity = 'token' in options.identity ? options.identity : { ...options.identity, guestIfTaken: true };
  const { conn, stop } = await openTransfer(options.endpoint, identity, options.signal);
  try {
    // Ask for the header alone first: the name decides where the bytes go, and a partial file where to resume.
    const meta = checkedHeader(await ask(conn, { type: 'download', file, length: 0 }, 'file_data'), file);
    if ('stream' in options.output) return await downloadToStream(conn, meta, options.output.stream, options);
    return await downloadToFile(conn, meta, options.output, options);
  } finally {
    stop();
    conn.end();
  }
}

async function downloadToFile(
  conn: Connection,
  meta: FileDataEvent,
  output: { dir: string } | { path: string },
  { file, resume, onProgress, stallTimeoutMs }: DownloadOptions,
): Promise<DownloadResult> {
  const partial = partialPath(output, meta);
  const offset = resume ? existingSize(partial, meta.size) : 0;
  const { length } = checkedHeader(await ask(conn, { type: 'download', file, offset }, 'file_data'), file);
  if (length > meta.size - offset) throw new ClientError('server_error', t('download.tooLong', { length, offset, size: meta.size }));
  const sink = createWriteStream(partial, offset > 0 ? { flags: 'r+', start: offset } : { flags: 'w' });
  sink.on('drain', () => conn.resumeReading());
  let done = offset;
  try {
    await conn.receiveRaw(length, (chunk) => {
      done += chunk.length;
      if (!sink.write(chunk)) conn.pauseReading();
      onProgress?.({ done, total: meta.size });
    }, stallTimeoutMs);
  } finally {
    await closeStream(sink); // what arrived stays in the .part file, for --continue
  }
  const actual = await sha256OfFile(partial);
  if (actual !== meta.sha256) {
    rmSync(partial, { force: true });
    throw new ClientError('server_error', t('download.shaMismatch', { actual }));
  }
  const finalPath =
    'dir' in output
      ? availablePath(output.dir, safeFileName(meta.name))
      : availablePath(dirname(output.path), basename(output.path));
  renameSync(partial, finalPath);
  return { path: finalPath, name: meta.name, size: meta.size, sha256: meta.sha256, resumedFrom: offset };
}

async function downloadToStream(
  conn: Connection,
  meta: FileDataEvent,
  out: Writable,
  { onProgress, stallTimeoutMs }: DownloadOptions,
): Promise<DownloadResult> {
  checkedHeader(await ask(conn, { type: 'download', file: meta.file }, 'file_data'), meta.file);
  const hash = newSha256();
  let done = 0;
  await conn.receiveRaw(meta.size, (chunk) => {
    hash.update(chunk);
    done += chunk.length;
    if (!out.write(chunk)) {
      conn.pauseReading();
      out.once('drain', () => conn.resumeReading());
    }
    onProgress?.({ done, total: meta.size });
  }, stallTimeoutMs);
  const actual = hash.digest('hex');
  if (actual !== meta.sha256) {
    throw new ClientError('server_error', t('download.writtenMismatch', { actual }));
  }
  return { name: meta.name, size: meta.size, sha256: meta.sha256, resumedFrom: 0 };
}

/**
 * A header from the server, checked before its fields name a local file: the file asked for, a valid id, sizes that
 * are whole numbers, a sha256 in hex.
 */
function checkedHeader(meta: FileDataEvent, asked: string): FileDataEvent {
  checkedFileId(meta.file, 'server');
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const problem =
    meta.file !== asked ? t('download.otherFile', { file: meta.file, asked })
    : typeof meta.name !== 'string' ? t('download.noName')
    : !count(meta.size) || !count(meta.length) || !count(meta.offset) ? t('download.badSize')
    : !/^[0-9a-f]{64}$/.test(meta.sha256) ? t('download.badSha')
    : null;
  if (problem) throw new ClientError('server_error', t('download.serverProblem', { problem }));
  return meta;
}

/** Where an unfinished download of this file waits: beside its final place, named after the file and its id. */
function partialPath(output: { dir: string } | { path: string }, meta: FileDataEvent): string {
  const dir = 'dir' in output ? output.dir : dirname(output.path);
  const path = join(dir, `${safeFileName(meta.name)}.${meta.file.slice(0, 8)}.part`);
  // Both parts are checked already; this keeps it so if either check is ever loosened.
  if (dirname(resolve(path)) !== resolve(dir)) throw new ClientError('server_error', t('download.leavesFolder'));
  return path;
}

function existingSize(path: string, max: number): number {
  try {
    return Math.min(statSync(path).size, max);
  } catch {
    return 0;
  }
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}
