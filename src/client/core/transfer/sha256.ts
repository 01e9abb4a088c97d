// A file's sha256, read in large chunks, with progress (a big upload is hashed before anything is sent).

import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';

/** A SHA-256 hash; node:crypto is loaded by the first one, not by the client's start (issue 18). */
export function newSha256(): Hash {
  return (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash('sha256');
}

export function sha256OfFile(path: string, onProgress?: (done: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = newSha256();
    let done = 0;
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (chunk: Buffer | string) => {
        hash.update(chunk);
        done += chunk.length;
        onProgress?.(done);
      })
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
