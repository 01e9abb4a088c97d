// Private conversations (docs/protocol.md "Private conversations"): between two principals (state/principals.ts),
// never two nicks, each with its own seq and history; and the mailbox of an account that is offline. SQLite on one
// node (storage/private.ts), Redis on a cluster (cluster/private.ts).

import type { PrivateRecord } from '../../protocol/index.js';

/** An answer now (one node) or later (a cluster): as backend.ts's, not imported to keep the imports one-way. */
type Maybe<T> = T | Promise<T>;

/** The key of the conversation between two principals: the same whichever of them asks. */
export function conversationKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Whether a key of the conversation store (state/conversation.ts) is a private conversation's, not a room's. */
export function isPrivateConversation(key: string): boolean {
  return key.includes('|'); // a room name has no `|` (protocol/names.ts)
}

/** The two principals of a conversation key. */
export function partiesOf(conversation: string): [string, string] {
  const bar = conversation.indexOf('|');
  return [conversation.slice(0, bar), conversation.slice(bar + 1)];
}

export interface MailboxLimits {
  /** Messages waiting for one offline account, from everyone together. */
  perRecipient: number;
  /** Messages waiting for one offline account from one sender (an account, or a guest's address). */
  perSender: number;
  /** How long a waiting message stays after its first delivery, for the account's other devices (ms). */
  keepMs: number;
}

/** Which mailbox limit refused a message. */
export type MailboxRefusal = 'recipient_full' | 'sender_full';

export interface PageRequest {
  /** Records with seq < before, the newest of them (the newest of all when neither is given)... */
  before?: number;
  /** ...or records with seq > since, the oldest of them. */
  since?: number;
  limit: number;
}

export interface PrivateStore {
  /** Number and keep a private message between principals `a` and `b`; the record as kept. */
  append(a: string, b: string, draft: Omit<PrivateRecord, 'seq'>): Maybe<PrivateRecord>;
  /** A page of the conversation between `a` and `b`, oldest first. */
  page(a: string, b: string, request: PageRequest): Maybe<PrivateRecord[]>;
  /** Whether the recipient's mailbox has room for one more message from `sender`; null when it has. */
  mailboxRefusal(recipient: string, sender: string): Maybe<MailboxRefusal | null>;
  /** Keep a record for an account that is offline, until it next logs in. */
  enqueue(recipient: string, sender: string, record: PrivateRecord): Maybe<void>;
  /**
   * The messages waiting for `recipient`, oldest first, to deliver to a connection that just logged in as it. They
   * stay for the account's other devices for `keepMs` after their first delivery (clients drop repeats by seq).
   */
  waiting(recipient: string): Maybe<PrivateRecord[]>;
  /**
   * The conversations of `principal`, gone (a guest connection closed: its conversations live as long as it). The
   * keys of the conversations forgotten (their changes and markers go too, handlers/private.ts).
   */
  forget(principal: string): Maybe<string[]>;
  close(): void;
}
