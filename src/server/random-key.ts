// 128-bit random keys (base64url), drawn from a pool filled 256 at a time: every guest connection needs one, and
// one randomBytes() call each cost a join storm ~2% of its time.

import { randomFillSync } from 'node:crypto';

const KEY_BYTES = 16;
const pool = Buffer.alloc(KEY_BYTES * 256);
let used = pool.length;

export function randomKey(): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const key = pool.toString('base64url', used, used + KEY_BYTES);
  used += KEY_BYTES;
  return key;
}
