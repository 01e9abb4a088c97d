// How a one-shot command (`chat send`, `send-file`, `get`) identifies itself as the user: logged in with the kept
// token (an account's connections share its nick); else, when the user's own chat window is open, attached to the
// window's session (kept-session.ts), acting as it; else under the user's nick. Never under another nick: a
// script's message is the user's.

import { nickKey } from '../../protocol/index.js';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';
import { hello } from './handshake.js';
import type { KeptSession } from './kept-session.js';
import { expectReply } from './replies.js';

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
 * Identify `conn` as the user: logged in with the kept token; else attached to the user's chat window (when one
 * kept its session and holds the nick asked for, or no nick was chosen); else under the nick. When the nick is
 * someone else's: go on as a guest (`orGuest`, a download needs no nick), else fail with nick_taken.
 */
export async function actAsUser(conn: Connection, who: UserIdentity, orGuest = false): Promise<Acting> {
  const session = who.session;
  if (!who.loginToken && session && (!who.nickChosen || nickKey(session.nick) === nickKey(who.nick))) {
    const reply = await conn.request({ type: 'attach', token: session.token });
    if (reply.type === 'welcome') return { nick: reply.nick, attached: true };
    // The window is gone (its token is unknown): go on as if it had kept nothing.
  }
  try {
    const welcome = await hello(conn, who.nick, { onNickTaken: 'fail', token: who.loginToken ?? null });
    return { nick: welcome.nick, attached: false };
  } catch (error) {
    if (!orGuest || !(error instanceof ClientError) || error.code !== 'nick_taken') throw error;
    return { nick: expectReply(await conn.request({ type: 'hello' }), 'welcome').nick, attached: false };
  }
}
