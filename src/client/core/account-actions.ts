// /register and /login in the chat window: the password is asked through SecretPrompts (the view reads it
// without echo), sent once, and forgotten; the token the server gives is kept like `chat register` keeps it.

import { t } from '../text/i18n/index.js';
import { passwordProblem, type ServerMessage } from '../../protocol/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import { problemWords } from '../text/problem-wording.js';
import { sentence } from '../text/wording.js';
import type { Request } from './connection.js';
import type { Credential } from './credentials.js';
import { checkedNick } from './names.js';
import type { SecretPrompts } from './secret-prompt.js';
import type { ChatBuffer, ClientState } from './state.js';

export interface AccountContext {
  readonly state: ClientState;
  readonly secrets: SecretPrompts;
  request(buffer: ChatBuffer, message: Request): Promise<ServerMessage | null>;
  /** Keep the token for the server connected to (core/credentials.ts), as `chat register` and `chat login` do. */
  keepToken(credential: Credential): void;
}


/** /register [NICK]: the password twice, then the account is created and this connection logged in. */
export async function registerWithPassword(context: AccountContext, buffer: ChatBuffer, typedNick?: string): Promise<void> {
  const { state, secrets } = context;
  const nick = checkedNick(typedNick ?? state.nick, 'nick');
  if (!secrets.available) {
    state.info(buffer, t('account.noSecrets'));
    return;
  }
  const password = await secrets.ask(t('account.passwordFor', { nick }));
  if (password === null) return cancelled(state, buffer);
  const problem = passwordProblem(password);
  if (problem) {
    state.error(buffer, t('account.nothingSent', { problem: sentence(problemWords(problem)) }));
    return;
  }
  const again = await secrets.ask(t('account.passwordAgain'));
  if (again === null) return cancelled(state, buffer);
  if (again !== password) {
    state.error(buffer, t('account.notSame'));
    return;
  }
  const reply = await context.request(buffer, { type: 'register', nick, password });
  if (keep(context, reply)) state.info(buffer, t('account.registered', { nick: sanitizeLine(state.nick) }));
}

/** /login NICK: the password once; the connection is then the account's. */
export async function loginWithPassword(context: AccountContext, buffer: ChatBuffer, typedNick: string): Promise<void> {
  const { state, secrets } = context;
  const nick = checkedNick(typedNick, 'nick');
  if (!secrets.available) {
    state.info(buffer, t('account.noSecrets'));
    return;
  }
  const password = await secrets.ask(t('account.passwordFor', { nick }));
  if (password === null) return cancelled(state, buffer);
  const reply = await context.request(buffer, { type: 'login', nick, password });
  if (keep(context, reply)) state.info(buffer, t('account.loggedIn', { nick: sanitizeLine(state.nick) }));
}

function cancelled(state: ClientState, buffer: ChatBuffer): void {
  state.info(buffer, t('account.cancelled'));
}

/** An `ok` with a token: kept, and the nick is the account's. False when the server refused (said already). */
function keep(context: AccountContext, reply: ServerMessage | null): boolean {
  if (reply?.type !== 'ok' || !reply.account) return false;
  context.state.nick = reply.account;
  context.state.account = reply.account;
  if (reply.token) context.keepToken({ account: reply.account, token: reply.token });
  else context.state.error(context.state.active, t('account.noToken'));
  return true;
}
