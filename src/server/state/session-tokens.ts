// Attach tokens (docs/protocol.md "hello"): the `token` of a live connection's `welcome` lets another connection act
// for it (`attach`) and a browser fetch its private files (web/files.ts). A node knows its own connections' tokens;
// on a cluster the tokens are also kept in Redis (cluster/session-tokens.ts), so that a one-shot or a download that
// lands on another node (or another --workers process) finds the user all the same. One node has no other node to
// ask: `OneNodeTokens`.

import type { Account } from '../accounts/store.js';
import type { ServerMessage } from '../../protocol/index.js';
import type { Maybe } from './maybe.js';

/** What a token says of the connection it belongs to: who it is now (kept again when that changes). */
export interface TokenHolder {
  nick: string;
  principal: string;
  account: Account | null;
}

/**
 * The user a connection acts for (handlers/identity.ts `actingUser`): a Session, or a connection on another node
 * known from its token. Its rooms are the ones this node knows it in (none, for another node's).
 */
export interface ActingUser extends TokenHolder {
  readonly rooms: Iterable<string> & { readonly size: number; has(name: string): boolean };
  readonly closed: boolean;
  send(message: ServerMessage): void;
}

/** A token is 128 random bits in base64url (handlers/tokens.ts); nothing else is looked up. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,64}$/;

export interface SessionTokens {
  /**
   * Keep `token` for a live connection of this node, as `holder`, counted against `owner` (its account's principal,
   * or `addr:<address>` for a guest): an owner's oldest tokens are forgotten past a bound.
   */
  keep(token: string, holder: TokenHolder, owner: string): Maybe<void>;
  /** The connection closed (or its owner changed): the token is no longer good anywhere. */
  drop(token: string, owner: string): Maybe<void>;
  /** Who a token of another node's live connection stands for, or null (never one of this node's own). */
  find(token: string): Maybe<TokenHolder | null>;
  close(): void;
}

/** One node: every live token is in the server's own map already. */
export class OneNodeTokens implements SessionTokens {
  keep(): void {}
  drop(): void {}
  find(): null {
    return null;
  }
  close(): void {}
}
