// File ids come from the server (and from what people type) and end up in local file names (`.part` files), so
// they are checked before anything touches the file system: 22 base64url characters, never starting with `-`
// (docs/protocol.md "Files").

import { t } from '../../text/i18n/index.js';
import { sanitizeLine } from '../../text/sanitize.js';
import { ClientError } from '../errors.js';

const FILE_ID = /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/;

export function isFileId(id: unknown): id is string {
  return typeof id === 'string' && FILE_ID.test(id);
}

/** `id` when it is a file id; else a ClientError saying who gave the bad one. */
export function checkedFileId(id: unknown, from: 'server' | 'user'): string {
  if (isFileId(id)) return id;
  const shown = sanitizeLine(JSON.stringify(String(id)).slice(0, 80));
  if (from === 'user') throw new ClientError('bad_config', t('download.notFileId', { id: shown }));
  throw new ClientError('server_error', t('download.badFileId', { id: shown }));
}
