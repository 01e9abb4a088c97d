// Private conversations (docs/protocol.md "Private conversations"): a private message is numbered and kept in the
// conversation of its two principals (an account, or one guest connection: never a nick), delivered to every
// connection of the recipient, or, to a registered account that is offline, kept in its mailbox and delivered as
// missed at its next login. Mailboxes are bounded per recipient and per sender (mailbox_full).

import { encode, ErrorCode, nickKey, type PrivateHistoryRequest, type PrivateMsgRequest, type PrivateRecord } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { accountPrincipal, isAccountPrincipal } from '../state/principals.js';
import type { ServerContext } from './context.js';
import { actingUser, ensureNick } from './identity.js';
import { tellAway } from './moderation.js';
import { now } from './replies.js';
import { noSuchUser, partyFor } from './parties.js';
import { markerIn, notePrivateSent, privateQuote, withPrivateChanges } from './private-conversation.js';
import { waitingAsNow, waitingRecord } from './private-mailbox.js';
import { conversationKey, partiesOf } from '../state/privates.js';
import { conversationBytesAtMost } from '../state/conversation.js';
import { changesSince } from './catch-up.js';

const HISTORY_PAGE_MAX = 200;

/** The other party of a conversation: whoever holds the nick now, or else the account that owns it. */
/**
 * Whom a waiting message counts against in the recipient's mailbox: the sending account, or for a guest (a new
 * principal on every connection) its address.
 */
function mailboxSender(session: Session): string {
  const user = actingUser(session);
  return user.account ? user.principal : `addr:${session.address.key}`;
}

export async function sendPrivate(ctx: ServerContext, session: Session, message: PrivateMsgRequest): Promise<void> {
  const { to, text, id, reply_to } = message;
  // An attached connection (a one-shot acting for the user's chat window) speaks as the window.
  const user = actingUser(session);
  if (!session.owner) await ensureNick(ctx, session);
  const { backend } = ctx;
  const target = await partyFor(ctx, to);
  if (!target) return noSuchUser(session, to, id);
  const sender = mailboxSender(session);
  if (!target.online) {
    const refusal = await backend.privates.mailboxRefusal(target.principal, sender);
    if (refusal) {
      const whose = refusal === 'sender_full' ? 'from you ' : '';
      session.error(ErrorCode.mailbox_full, `${target.nick} is offline and has as many messages ${whose}waiting as it may; try again once they have read them`, id);
      return;
    }
  }
  const reply = reply_to === undefined ? undefined : await privateQuote(ctx, session, target, reply_to, id);
  if (reply === null) return;
  const draft = { type: 'msg' as const, to: target.nick, from: user.nick, text, ts: now(), ...(message.me && { me: true as const }), ...(reply && { reply }) };
  const record = await backend.privates.append(user.principal, target.principal, draft);
  await notePrivateSent(ctx, session, target, record.seq);
  const delivered = target.online ? await backend.sendPrivate(target.nick, (nick) => ({ ...record, to: nick })) : null;
  // Offline, or gone since the lookup: an account gets it at its next login (a guest's conversation is over).
  if (!delivered && isAccountPrincipal(target.principal)) await backend.privates.enqueue(target.principal, sender, waitingRecord(record, user.principal, target.principal));
  if (delivered) await tellAway(ctx, session, record.to, target.principal);
  // The sender's copy, to every connection of the sender's account (it is theirs too); a message to oneself
  // arrived once already.
  const copy = delivered ?? record;
  if (!delivered || nickKey(record.to) !== nickKey(user.nick)) {
    if (user.account) await backend.sendPrivate(user.nick, () => copy);
    else user.send(copy);
  }
  if (id !== undefined) session.send({ type: 'ok', id, seq: record.seq });
}

/** At most `budget` bytes of records (JSON), from the end `keep` says; one record always. */
function within(records: PrivateRecord[], budget: number, keep: 'oldest' | 'newest'): PrivateRecord[] {
  const ordered = keep === 'oldest' ? records : [...records].reverse();
  let bytes = 0;
  let count = 0;
  for (const record of ordered) {
    bytes += 6 * record.text.length + 256 + conversationBytesAtMost(record); // its quote and reactions
    if (bytes > budget && count > 0) break;
    count++;
  }
  return keep === 'oldest' ? records.slice(0, count) : records.slice(records.length - count);
}

export async function privateHistory(ctx: ServerContext, session: Session, message: PrivateHistoryRequest): Promise<void> {
  const { with: peer, before, since, limit, id } = message;
  const target = await partyFor(ctx, peer);
  if (!target) return noSuchUser(session, peer, id);
  const pageSize = Math.max(1, Math.min(limit ?? 50, HISTORY_PAGE_MAX));
  const request = since !== undefined ? { since, limit: pageSize + 1 } : { ...(before !== undefined && { before }), limit: pageSize + 1 };
  const principal = actingUser(session).principal;
  const found = await ctx.backend.privates.page(principal, target.principal, request);
  const sliced = found.length <= pageSize ? found : since !== undefined ? found.slice(0, pageSize) : found.slice(1);
  // As they are now (edited, deleted, reacted to), as a room's history.
  const key = conversationKey(principal, target.principal);
  const page = await withPrivateChanges(ctx, key, sliced);
  const messages = within(page, ctx.config.replyHistoryBytes, since !== undefined ? 'oldest' : 'newest');
  const more = found.length > pageSize || messages.length < page.length;
  const reply = { type: 'history' as const, with: target.nick, messages, more, ...(await markerIn(ctx, session, target)) };
  session.reply(id, reply);
  // A resume: then the changes made meanwhile to the messages it had, as a room's join with `since` brings them,
  // within what is left of the reply's bytes.
  if (since === undefined) return;
  const left = ctx.config.replyHistoryBytes - encode(reply).length;
  for (const line of await changesSince(ctx, key, { with: target.nick }, since, left)) session.deliver(line);
}

/** After a login: what was sent to the account while it was offline, marked missed, as it is now. */
export async function deliverWaiting(ctx: ServerContext, session: Session): Promise<void> {
  if (!session.account) return;
  const { records, markers } = await waitingAsNow(ctx, session, await ctx.backend.privates.waiting(session.principal));
  for (const record of records) session.send({ ...record, missed: true });
  for (const marker of markers) session.send(marker);
}

/** A guest connection is gone: so are its private conversations. */
export function forgetGuestConversations(ctx: ServerContext, session: Session): void {
  const guest = session.guestPrincipal;
  if (!guest) return;
  Promise.resolve()
    .then(() => ctx.backend.privates.forget(guest))
    .then((forgotten) => Promise.all(forgotten.map((conversation) => ctx.backend.conversations.forget(conversation, partiesOf(conversation)))))
    .catch((error: unknown) => ctx.log.warn({ err: String(error) }, 'could not forget a guest\'s conversations'));
}
