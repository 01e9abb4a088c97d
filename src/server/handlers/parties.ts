// The other party of a private message or conversation, named by a nick: whoever is connected under it now, or
// else the account that owns it (an offline account's messages wait in its mailbox).

import { ErrorCode, type PrivateMsgRequest } from '../../protocol/index.js';
import type { Session } from '../session.js';
import { accountPrincipal } from '../state/principals.js';
import type { ServerContext } from './context.js';

export interface Party {
  nick: string;
  principal: string;
  online: boolean;
}

export async function partyFor(ctx: ServerContext, nick: string): Promise<Party | null> {
  const holder = await ctx.backend.lookup(nick);
  if (holder) return { ...holder, online: true };
  if (ctx.config.accounts === 'off') return null;
  const account = await ctx.backend.accounts.find(nick);
  return account ? { nick: account.nick, principal: accountPrincipal(account.id), online: false } : null;
}

export function noSuchUser(session: Session, nick: string, id: PrivateMsgRequest['id']): void {
  session.error(ErrorCode.no_such_user, `nobody is connected as ${JSON.stringify(nick)}, and no account has that nick`, id);
}
