// Saying hello: the one handshake of the chat client, the one-shot commands and file transfers
// (docs/protocol.md "hello"): with a kept login token, log in first (the nick is then the account's); then
// `welcome`, or `nick_taken` / `nick_registered` (take the server's suggestion, go on as a guest, or fail), or
// another error.

import { t } from '../text/i18n/index.js';
import { nickProblem, type WelcomeEvent } from '../../protocol/index.js';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';
import { describeError } from '../text/wording.js';
import { expectReply } from './replies.js';

/** How many suggested nicks to try before giving up (others may be taking them at the same moment). */
const MAX_SUGGESTIONS = 5;

export interface HelloOptions {
  /** When the nick is in use: take the nick the server suggests, go on without a nick (a download needs none), or fail. */
  onNickTaken: 'suggest' | 'guest' | 'fail';
  /** Told each time a suggested nick is taken instead of the one asked for. */
  onSuggested?: (taken: string, instead: string) => void;
  /** A login token kept for this server: log in with it first. */
  token?: string | null;
  /** The token was refused (revoked, or the account removed): the connection goes on as a guest. */
  onTokenRefused?: (reason: string) => void;
}

/** Log in with a kept token; true when logged in, false (a guest) when the server refused it. */
export async function logInWithToken(conn: Connection, token: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const reply = await conn.request({ type: 'login', token });
  if (reply.type === 'error') return { ok: false, reason: describeError(reply) };
  expectReply(reply, 'ok');
  return { ok: true };
}

/** The nick the server suggests in its nick_taken message, else the nick with a `_`. */
export function suggestedNick(message: string, nick: string): string {
  const match = /such as "([^"]+)"/.exec(message);
  if (match && !nickProblem(match[1]!)) return match[1]!;
  return `${nick.slice(0, 30)}_`;
}

/** Say hello as `nick`; resolves with the welcome (our nick may differ), or throws a ClientError. */
export async function hello(conn: Connection, nick: string, options: HelloOptions): Promise<WelcomeEvent> {
  if (options.token) {
    const login = await logInWithToken(conn, options.token);
    // Logged in, the nick is the account's.
    if (login.ok) return expectReply(await conn.request({ type: 'hello' }), 'welcome');
    options.onTokenRefused?.(login.reason);
  }
  let asked = nick;
  for (let tries = 0; ; tries++) {
    const reply = await conn.request({ type: 'hello', nick: asked });
    if (reply.type !== 'error' || (reply.code !== 'nick_taken' && reply.code !== 'nick_registered')) return expectReply(reply, 'welcome');
    if (options.onNickTaken === 'guest') return expectReply(await conn.request({ type: 'hello' }), 'welcome');
    if (options.onNickTaken === 'fail' || tries >= MAX_SUGGESTIONS) {
      if (reply.code === 'nick_registered') {
        throw new ClientError('nick_taken', t('cli.nickTakenAccount', { nick: asked }));
      }
      throw new ClientError('nick_taken', t('cli.nickTaken', { nick: asked }));
    }
    const instead = suggestedNick(reply.message, asked);
    options.onSuggested?.(asked, instead);
    asked = instead;
  }
}
