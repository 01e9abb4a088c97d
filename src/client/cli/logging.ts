// The full-screen client's buffer logs (core/chat-logs.ts), wired to a client: every entry added is logged.

import type { ChatClient } from '../core/client.js';
import { ChatLogs, logsDir } from '../core/chat-logs.js';
import type { Io } from './io.js';
import { t } from '../text/i18n/index.js';

export function logBuffers(client: ChatClient, env: Io['env']): ChatLogs {
  const state = client.state;
  const logs = new ChatLogs(logsDir(env), client.server, (error) =>
    state.error(state.serverBuffer, t('client.logsFailed', { why: error.message })),
  );
  state.entryListeners.add((buffer, entry) => logs.write(buffer, entry));
  return logs;
}
