// A file's sha256, read in large chunks, with progress (a big upload is hashed before anything is sent).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256OfFile(path: string, onProgress?: (done: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
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
