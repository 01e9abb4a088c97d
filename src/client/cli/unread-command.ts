// `chat unread`: the rooms and private conversations (`@nick`) the logged-in account reads, with how many messages
// and mentions it has not read yet (docs/protocol.md "Read markers", "Changes in private"), for scripts and status
// bars: aligned columns, or the raw line with --json.

import type { Command } from 'commander';
import type { UnreadPrivate, UnreadRoom } from '../../protocol/index.js';
import { Connection } from '../core/connection.js';
import { ClientError, ExitCode } from '../core/errors.js';
import { logInWithToken } from '../core/handshake.js';
import { expectReply } from '../core/replies.js';
import { columns } from '../text/columns.js';
import { t } from '../text/i18n/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import type { ConnectOptions } from './options.js';
import type { TransferCommandContext } from './transfer-commands.js';

type Flags = { host?: string; port?: string; nick?: string; json?: boolean };

/** Ask the server: the rooms and the raw protocol line of the reply. Read markers belong to accounts: log in first. */
export async function unreadRooms(options: ConnectOptions): Promise<{ rooms: UnreadRoom[]; privates: UnreadPrivate[]; line: string }> {
  if (!options.token) throw new ClientError('bad_config', t('cli.unreadNeedsLogin'));
  let line = '';
  const conn = await Connection.connect(options.host, options.port, { message: (m, raw) => m.type === 'unread' && (line = raw) }, options.tls);
  try {
    const login = await logInWithToken(conn, options.token);
    if (!login.ok) throw new ClientError('server_error', t('cli.unreadTokenRefused', { reason: sanitizeLine(login.reason) }));
    const reply = expectReply(await conn.request({ type: 'unread' }), 'unread');
    return { rooms: reply.rooms, privates: reply.privates ?? [], line };
  } finally {
    await conn.quit();
  }
}

/**
 * `room  unread  mentions`, one line per room, then `@nick  unread  mentions` per private conversation, aligned (as
 * `chat rooms`: no header, for scripts). A room name never starts with `@`.
 */
export function unreadLines(rooms: readonly UnreadRoom[], privates: readonly UnreadPrivate[] = []): string[] {
  const rows = [
    ...rooms.map((r) => [sanitizeLine(r.room), String(r.unread), String(r.mentions)]),
    ...privates.map((p) => [`@${sanitizeLine(p.with)}`, String(p.unread), String(p.mentions)]),
  ];
  return columns(rows, ['left', 'right', 'right']);
}

export function addUnreadCommand(program: Command, context: TransferCommandContext): void {
  context
    .withConnectionOptions(
      program
        .command('unread')
        .description(t('cli.unread'))
        .option('--json', t('cli.json')),
    )
    .action((flags: Flags) => {
      context.setAction(async () => {
        const result = await unreadRooms(context.settings(flags));
        if (flags.json) context.io.stdout.write(result.line + '\n');
        else for (const line of unreadLines(result.rooms, result.privates)) context.io.stdout.write(`${line}\n`);
        return ExitCode.ok;
      });
    });
}
