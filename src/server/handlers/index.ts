// The one table from message type to rule, and dispatch: what a connection's input does while a rule is waiting.

import type { ClientMessage, ClientType } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { accountHandlers, refusedToGuest } from './accounts.js';
import { chatHandlers } from './chat.js';
import { conversationHandlers, pipelined } from './conversation.js';
import type { Handler, ServerContext } from './context.js';
import { fileHandlers } from './files.js';
import { moderationHandlers } from './moderation.js';
import { postHandlers } from './post.js';
import { inPrivateToo } from './private-conversation.js';
import { search } from './search.js';
import { unreadHandlers } from './unread.js';

export type { ServerContext } from './context.js';

const handlers: { [T in ClientType]: Handler<T> } = {
  ...chatHandlers, ...fileHandlers, ...accountHandlers, ...moderationHandlers, ...conversationHandlers, ...postHandlers, search,
  ...unreadHandlers,
  ...inPrivateToo(conversationHandlers),
};

export function dispatch(ctx: ServerContext, session: Session, message: ClientMessage): void {
  if (refusedToGuest(ctx, session, message)) return;
  const pending = (handlers[message.type] as Handler<typeof message.type>)(ctx, session, message as never);
  if (!pending) return;
  const failed = (error: unknown) => session.failed(message, error);
  if (message.type === 'msg' && 'room' in message && message.reply_to === undefined) {
    // Room messages are pipelined (their order is kept by the backend, and each ok follows its own delivery);
    // only the end of input waits for them.
    session.owe(pipelined(session, pending.catch(failed)));
    return;
  }
  // Anything else: the connection's next lines wait, so its requests are answered in order.
  const release = session.holdInput();
  pending.catch(failed).finally(release);
}
