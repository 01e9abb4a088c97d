// After a reconnect: each private conversation the client shows asks for what came since the last message it has
// (docs/protocol.md "Private conversations"), as each room rejoins with `since`; on every device of an account.

import type { Connection } from './connection.js';
import type { ChatBuffer, ClientState } from './state.js';
import { applyReadMarker } from './conversation-state.js';

/** Pages of 200 read at most per conversation; the rest stays a /jump or a scroll away. */
const RESUME_PAGES_MAX = 5;

/**
 * The newest seq of each private buffer before a reconnect: the first `since` of its resume, since messages that
 * waited (delivered missed at the login) move the buffer on, and the changes made meanwhile to what it had come
 * with the page from there (docs/protocol.md "Resuming").
 */
export function privateSeen(state: ClientState): Map<ChatBuffer, number> {
  const seen = new Map<ChatBuffer, number>();
  for (const buffer of state.buffers) if (buffer.kind === 'private' && buffer.lastSeen !== null) seen.set(buffer, buffer.lastSeen.seq);
  return seen;
}

export async function resumePrivate(conn: Connection, state: ClientState, seen = privateSeen(state)): Promise<void> {
  for (const buffer of state.buffers) {
    if (buffer.kind !== 'private' || buffer.lastSeen === null) continue;
    for (let page = 0; page < RESUME_PAGES_MAX; page++) {
      const since = page === 0 ? Math.min(seen.get(buffer) ?? buffer.lastSeen.seq, buffer.lastSeen.seq) : buffer.lastSeen.seq;
      const reply = await conn.request({ type: 'history', with: buffer.name, since, limit: 200 });
      // A guest that is gone has no conversation any more (no_such_user): nothing to resume.
      if (reply.type !== 'history' || !('with' in reply)) break;
      for (const message of reply.messages) state.apply({ ...message, history: true });
      // The account's marker in the conversation: what came meanwhile is counted, and marked, from it.
      if (reply.read !== undefined) applyReadMarker(state, buffer, reply.read);
      if (!reply.more || reply.messages.length === 0) break;
    }
  }
}
