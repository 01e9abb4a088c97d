// A connection's identity on first need: a client may join or send without saying hello.

import { randomBytes } from 'node:crypto';
import type { Session } from './session.js';

/** Give the session a guest nick when it has none yet. */
export function ensureNick(session: Session): void {
  if (session.nick === '') session.nick = session.server.nicks.claimGuest(session);
}

/** The user a connection acts for: itself, or the session it attached to. */
export function actingUser(session: Session): Session {
  return session.owner ?? session;
}

/** The token that lets a second connection of this user attach (128 random bits), made on first need. */
export function attachTokenFor(session: Session): string {
  if (!session.attachToken) {
    session.attachToken = randomBytes(16).toString('base64url');
    session.server.attachTokens.set(session.attachToken, session);
  }
  return session.attachToken;
}
