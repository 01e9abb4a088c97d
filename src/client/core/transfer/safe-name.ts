// Names from the network become safe local file names: never a path, never a device, never an overwrite.

import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';

const CONTROL_AND_FORMAT = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const RESERVED_CHARS = /[<>:"/\\|?*]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const MAX_NAME_BYTES = 200;

/** A file name that stays inside the directory it is joined to, on any system. */
export function safeFileName(name: string): string {
  let safe = name.split(/[/\\]/).pop() ?? '';
  safe = safe.replace(CONTROL_AND_FORMAT, '').replace(RESERVED_CHARS, '_').trim();
  safe = safe.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (WINDOWS_DEVICE.test(safe)) safe = `_${safe}`;
  while (Buffer.byteLength(safe) > MAX_NAME_BYTES) {
    const ext = extname(safe).slice(0, 20);
    const stem = [...safe.slice(0, safe.length - ext.length)];
    stem.pop();
    safe = stem.join('') + ext;
  }
  return safe === '' ? 'file' : safe;
}

/** `dir/name`, or `dir/name (1).ext`, `dir/name (2).ext`... : the first that does not exist yet. */
export function availablePath(dir: string, name: string, exists: (path: string) => boolean = existsSync): string {
  const ext = extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  let candidate = join(dir, name);
  for (let n = 1; exists(candidate); n++) candidate = join(dir, `${stem} (${n})${ext}`);
  return candidate;
}
