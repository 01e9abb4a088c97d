// How a one-shot command (`chat send`, `send-file`, `get`) identifies itself as the user: logged in with the kept
// token (an account's connections share its nick); else under the user's nick; else, when the user's own chat
// window holds that nick, attached to the window's session (kept-session.ts), acting as it. Never under another
// nick: a script's message is the user's.

import { nickKey } from '../../protocol/index.js';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';
import { hello } from './handshake.js';
import type { KeptSession } from './kept-session.js';

export interface UserIdentity {
  nick: string;
  /** The nick was chosen (flag, CHAT_NICK, config): a window under another nick is not this user's. */
  nickChosen?: boolean | undefined;
  /** The login token kept for the server. */
  loginToken?: string | null | undefined;
  /** The chat window's session kept for the server. */
  session?: KeptSession | null | undefined;
}

export interface Acting {
  nick: string;
  /** Acting for the chat window's session (its rooms are the ones the user is in). */
  attached: boolean;
}

/**
 * Identify `conn` as the user. When the nick is someone else's: go on as a guest (`orGuest`, a download needs no
 * nick), else fail with nick_taken.
 */
export async function actAsUser(conn: Connection, who: UserIdentity, orGuest = false): Promise<Acting> {
  try {
    const welcome = await hello(conn, who.nick, { onNickTaken: 'fail', token: who.loginToken ?? null });
    return { nick: welcome.nick, attached: false };
  } catch (error) {
    if (!(error instanceof ClientError) || error.code !== 'nick_taken') throw error;
    const session = who.session;
    if (session && (!who.nickChosen || nickKey(session.nick) === nickKey(who.nick))) {
      const reply = await conn.request({ type: 'attach', token: session.token });
      if (reply.type === 'welcome') return { nick: reply.nick, attached: true };
      // A window that is gone (its token is unknown): the nick is someone else's.
    }
    if (orGuest) {
      const reply = await conn.request({ type: 'hello' });
      if (reply.type === 'welcome') return { nick: reply.nick, attached: false };
    }
    throw error;
  }
}
