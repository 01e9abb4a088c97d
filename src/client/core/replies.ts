// A reply that is not the one asked for, as a ClientError: the server's error in words, or the surprise.

import { t } from '../text/i18n/index.js';
import type { ServerMessage } from '../../protocol/index.js';
import { describeError } from '../text/wording.js';
import { ClientError, type ClientErrorCode } from './errors.js';

/** Server error codes that keep their meaning (and exit code) on the client; the rest are `server_error`. */
const KEPT_CODES: readonly string[] = ['nick_taken', 'bad_nick', 'bad_room'] satisfies ClientErrorCode[];

export function replyError(reply: ServerMessage): ClientError {
  if (reply.type !== 'error') return new ClientError('server_error', t('conn.unexpected', { type: reply.type }));
  const code = KEPT_CODES.includes(reply.code) ? (reply.code as ClientErrorCode) : 'server_error';
  return new ClientError(code, describeError(reply));
}

/** `reply` when it is of the `expected` type; otherwise throws replyError(reply). */
export function expectReply<T extends ServerMessage['type']>(reply: ServerMessage, expected: T): Extract<ServerMessage, { type: T }> {
  if (reply.type !== expected) throw replyError(reply);
  return reply as Extract<ServerMessage, { type: T }>;
}
