// A file transfer's own connection (so chat goes on meanwhile), identified as the user: by nick, or by the attach
// token of the user's chat session (docs/protocol.md "Files").

import type { ServerMessage } from '../../../protocol/index.js';
import { Connection, type Request, type RequestOptions } from '../connection.js';
import { actAsUser, type UserIdentity } from '../act-as-user.js';
import { expectReply } from '../replies.js';
import type { TlsSettings } from '../tls.js';

/** Transfers wait longer than chat for a reply (the server may be busy hashing), and take an error without id. */
const TRANSFER_REPLY: RequestOptions = { timeoutMs: 30_000, unaddressedErrors: true };

/**
 * Who the transfer acts for: the user (act-as-user.ts), with the room to join for a room upload unless it acts for
 * the user's chat window (in the room already, or told to join it); or a chat session's attach token.
 * `guestIfTaken`: when the nick is someone else's, go on as a guest (room files need no nick).
 */
export type Identity = (UserIdentity & { join?: string; guestIfTaken?: boolean }) | { token: string };

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
      const acting = await actAsUser(conn, identity, identity.guestIfTaken);
      if (identity.join !== undefined && !acting.attached) await ask(conn, { type: 'join', room: identity.join }, 'members');
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
