// What the file store needs of the disk, in one place: how much may still be written, and where uploads go.
// Tests stand a small or full disk in for it; a real tmpfs needs root and a mount, which CI may not allow.

import { createWriteStream, statfsSync } from 'node:fs';
import type { Writable } from 'node:stream';

export interface Disk {
  /** Bytes that may still be written on the filesystem holding `path` (without root's reserved blocks). */
  freeBytes(path: string): number;
  /** A stream writing `path` from `start`: truncated when 0, else continuing a partial upload. */
  openWrite(path: string, start: number): Writable;
}

/** Fewer backpressure round trips at disk speed. */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

export const localDisk: Disk = {
  freeBytes(path) {
    const { bavail, bsize } = statfsSync(path);
    return bavail * bsize;
  },
  openWrite(path, start) {
    return createWriteStream(
      path,
      start > 0 ? { flags: 'r+', start, highWaterMark: WRITE_BUFFER_BYTES } : { flags: 'w', highWaterMark: WRITE_BUFFER_BYTES },
    );
  },
};

/** A write failed because the disk (or this user's share of it, or this process's file size limit) is full. */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
}
