// The chat window (full-screen or line mode) keeps its session where the user's one-shot commands find it
// (core/kept-session.ts), again after each reconnect, and takes it away when it closes.

import type { ChatClient } from '../core/client.js';
import { keepSession, keptSessionsPath } from '../core/kept-session.js';
import type { Io } from './io.js';

export function keepWindowSession(client: ChatClient, env: Io['env']): void {
  const path = keptSessionsPath(env);
  let kept: { server: { host: string; port: number }; nick: string; token: string } | null = null;
  let closed = false;
  client.onChange(() => {
    if (closed || client.status.phase === 'closed') return;
    const token = client.attachToken;
    const nick = client.state.nick;
    if (!token || !nick || (kept && kept.token === token && kept.nick === nick)) return;
    if (kept) keepSession(path, kept.server, null, kept.token);
    kept = { server: client.server, nick, token };
    keepSession(path, kept.server, { nick, token });
  });
  client.onClose(() => {
    closed = true;
    if (kept) keepSession(path, kept.server, null, kept.token);
    kept = null;
  });
}
