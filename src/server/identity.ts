// A connection's identity on first need: a client may join or send without saying hello.

import type { Session } from './session.js';

/** Give the session a guest nick when it has none yet. */
export function ensureNick(session: Session): void {
  if (session.nick === '') session.nick = session.server.nicks.claimGuest(session);
}
