// What a client that comes back with `since` missed about the messages it had already (docs/protocol.md
// "Conversations"): their edits, deletions and reactions made while it was away. Each change is logged in the
// conversation store with the conversation's newest seq at the time (`logChange`); a resume with `since: S` gets the
// current state of every message at or before S last changed when the newest seq was S or later, as the change
// events live members got, marked `"history":true`. Written for any conversation of the store: `where` says which
// (a room's `{room}`, or a private conversation's `{with}`: the other party's nick as the receiver sees it).

import { encode, type DeleteEvent, type EditEvent, type PrivateDeleteEvent, type PrivateEditEvent, type PrivateReactionsNowEvent, type ReactionsNowEvent } from '../../protocol/index.js';
import { tally, type StoredChange } from '../state/conversation.js';
import type { ServerContext } from './context.js';
import { now } from './replies.js';

type Where = { room: string } | { with: string };
export type CatchUpEvent = EditEvent | DeleteEvent | ReactionsNowEvent | PrivateEditEvent | PrivateDeleteEvent | PrivateReactionsNowEvent;

/** A message was changed just now; `newest` is the conversation's newest seq after the change. */
export function logChange(ctx: ServerContext, conversation: string, seq: number, newest: number): Promise<void> | void {
  return ctx.backend.conversations.logChange(conversation, seq, Math.max(newest, seq), now(), ctx.config.changeableMessages);
}

/** The events that bring one changed message up to date: deleted, or its text (when edited) and its tally. */
export function catchUpEvents(where: Where, seq: number, state: StoredChange, ts: string): CatchUpEvent[] {
  // `where` is one of the two: each event below is of the room or of the private kind, never a mix.
  if (state.d) return [{ type: 'delete', ...where, seq, ts, history: true } as CatchUpEvent];
  const events: CatchUpEvent[] = [];
  if (state.t !== undefined) events.push({ type: 'edit', ...where, seq, text: state.t, ts, history: true } as CatchUpEvent);
  // The tally even when it is empty: the last reaction may have been taken back while the client was away.
  events.push({ type: 'react', ...where, seq, reactions: tally(state), history: true } as CatchUpEvent);
  return events;
}

/**
 * The changes made since `since` to messages at or before it, serialised, the most recently changed kept when
 * they pass `budget` bytes (the rest of what one reply may carry, --reply-history).
 */
export async function changesSince(ctx: ServerContext, conversation: string, where: Where, since: number, budget: number): Promise<Buffer[]> {
  if (since <= 0) return [];
  const changed = await ctx.backend.conversations.changedSince(conversation, since);
  if (changed.length === 0) return [];
  const states = await ctx.backend.conversations.changes(conversation, changed.map((entry) => entry.seq));
  const lines: Buffer[][] = [];
  let bytes = 0;
  for (let i = changed.length - 1; i >= 0; i--) {
    const { seq, ts } = changed[i]!;
    const state = states.get(seq);
    if (!state) continue;
    const encoded = catchUpEvents(where, seq, state, ts).map((event) => encode(event));
    bytes += encoded.reduce((sum, line) => sum + line.length, 0);
    if (bytes > budget) break;
    lines.push(encoded);
  }
  return lines.reverse().flat();
}
