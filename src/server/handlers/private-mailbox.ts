// What waits in an offline account's mailbox (handlers/private.ts) is delivered as it is now: each waiting record
// keeps the key of its conversation beside it (the sender may be a guest, whose principal nothing else records), so
// that edits, deletes and reactions made while the account was away are laid over it, as over history; and the
// account then hears its read marker in each of those conversations.

import type { PrivateRecord, ServerMessage } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { conversationKey, partiesOf } from '../state/privates.js';
import type { ServerContext } from './context.js';
import { withPrivateChanges } from './private-conversation.js';

/** A record as the mailbox keeps it: with its conversation's key (never sent to a client). */
type WaitingRecord = PrivateRecord & { conv?: string };

export function waitingRecord(record: PrivateRecord, a: string, b: string): WaitingRecord {
  return { ...record, conv: conversationKey(a, b) };
}

/** The waiting records (oldest first), as they are now, without their keys; and the account's marker in each conversation. */
export async function waitingAsNow(ctx: ServerContext, session: Session, waiting: WaitingRecord[]): Promise<{ records: PrivateRecord[]; markers: ServerMessage[] }> {
  const byConversation = new Map<string, PrivateRecord[]>();
  const records = waiting.map(({ conv, ...record }) => {
    // Only the account's own conversations; a record kept before keys were kept has none, and goes as it was.
    if (conv !== undefined && partiesOf(conv).includes(session.principal)) byConversation.set(conv, [...(byConversation.get(conv) ?? []), record]);
    return record;
  });
  const now = new Map<PrivateRecord, PrivateRecord>();
  const markers: ServerMessage[] = [];
  for (const [conv, kept] of byConversation) {
    const changed = await withPrivateChanges(ctx, conv, kept);
    kept.forEach((record, i) => now.set(record, changed[i]!));
    const marker = await ctx.backend.conversations.marker(session.principal, conv);
    if (marker !== null) markers.push({ type: 'read', with: kept[0]!.from, seq: marker });
  }
  return { records: records.map((record) => now.get(record) ?? record), markers };
}
