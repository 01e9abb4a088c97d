// A file transfer's own connection (so chat goes on meanwhile), identified as the user: by nick, or by the attach
// token of the user's chat session (docs/protocol.md "Files").

import type { ServerMessage } from '../../../protocol/index.js';
import { Connection, type Request, type RequestOptions } from '../connection.js';
import { hello } from '../handshake.js';
import { expectReply } from '../replies.js';
import type { TlsSettings } from '../tls.js';

/** Transfers wait longer than chat for a reply (the server may be busy hashing), and take an error without id. */
const TRANSFER_REPLY: RequestOptions = { timeoutMs: 30_000, unaddressedErrors: true };

/**
 * Who the transfer acts for: a nick (with the room to join for a room upload), or a chat session's attach token.
 * `guestIfTaken`: when the nick is in use (the user's own chat is open), go on as a guest (room files need no nick).
 */
export type Identity = { nick: string; join?: string; guestIfTaken?: boolean; loginToken?: string | null } | { token: string };

export interface Endpoint {
  host: string;
  port: number;
  /** A transfer goes over TLS when the chat does. */
  tls?: TlsSettings | undefined;
}

export interface Progress {
  done: number;
  total: number;
}

/** Send `message` and return its reply of the `expected` type (else a ClientError). */
export async function ask<T extends ServerMessage['type']>(
  conn: Connection,
  message: Request,
  expected: T,
  options: RequestOptions = {},
): Promise<Extract<ServerMessage, { type: T }>> {
  return expectReply(await conn.request(message, { ...TRANSFER_REPLY, ...options }), expected);
}

/**
 * Connect and identify; `signal` aborting closes the connection (the chat client quitting). Returns the connection
 * and the function that stops listening to `signal`.
 */
export async function openTransfer(
  endpoint: Endpoint,
  identity: Identity,
  signal: AbortSignal | undefined,
): Promise<{ conn: Connection; stop: () => void }> {
  const conn = await Connection.connect(endpoint.host, endpoint.port, {}, endpoint.tls);
  const stop = abortWith(conn, signal);
  try {
    if ('token' in identity) {
      await ask(conn, { type: 'attach', token: identity.token }, 'welcome');
    } else {
      await hello(conn, identity.nick, { onNickTaken: identity.guestIfTaken ? 'guest' : 'fail', token: identity.loginToken ?? null });
      if (identity.join !== undefined) await ask(conn, { type: 'join', room: identity.join }, 'members');
    }
  } catch (error) {
    stop();
    conn.end();
    throw error;
  }
  return { conn, stop };
}

/** Destroy the connection when `signal` aborts; returns the function that stops listening. */
function abortWith(conn: Connection, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = () => conn.destroy();
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
