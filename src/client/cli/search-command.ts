// `chat search WORDS [--room R] [--from N] [--json]` (docs/protocol.md "Search"): the server's hits, newest first,
// each between the records before and after it; with the kept login token, one's private messages too.

import type { Command } from 'commander';
import type { SearchEvent } from '../../protocol/index.js';
import { Connection } from '../core/connection.js';
import { ClientError, ExitCode } from '../core/errors.js';
import { logInWithToken } from '../core/handshake.js';
import { checkedNick, checkedRoom } from '../core/names.js';
import { expectReply } from '../core/replies.js';
import { hitPlace, recordLine } from '../core/search-actions.js';
import { t } from '../text/i18n/index.js';
import { clock, day } from '../text/time.js';
import type { ConnectOptions } from './options.js';
import type { TransferCommandContext } from './transfer-commands.js';

export async function searchOnce(options: ConnectOptions, text: string, room?: string, from?: string): Promise<{ reply: SearchEvent; line: string }> {
  if (text.trim() === '') throw new ClientError('bad_config', t('search.nothing'));
  const filters = { ...(room !== undefined && { room: checkedRoom(room) }), ...(from !== undefined && { from: checkedNick(from) }) };
  let line = '';
  const conn = await Connection.connect(options.host, options.port, { message: (m, raw) => void (m.type === 'search' && (line = raw)) }, options.tls);
  try {
    if (options.token) await logInWithToken(conn, options.token);
    const reply = await conn.request({ type: 'search', text, ...filters });
    if (reply.type === 'error') throw new ClientError('server_error', reply.message);
    return { reply: expectReply(reply, 'search'), line };
  } finally {
    await conn.quit();
  }
}

/** Each hit as three lines (the one before and after indented), hits apart by an empty line. */
export function hitText(reply: SearchEvent): string {
  return reply.hits
    .map((hit) => {
      const ts = Date.parse(hit.record.ts);
      return [
        ...(hit.before ? [`    ${recordLine(hit.before)}`] : []),
        `${hitPlace(hit)} ${day(ts)} ${clock(ts, false)} ${recordLine(hit.record)}`,
        ...(hit.after ? [`    ${recordLine(hit.after)}`] : []),
      ].join('\n');
    })
    .join('\n\n');
}

export function addSearchCommand(program: Command, { io, settings, withConnectionOptions, setAction }: TransferCommandContext): void {
  withConnectionOptions(
    program
      .command('search')
      .description(t('search.cli'))
      .argument('<words...>', t('search.cliWords'))
      .option('--room <room>', t('search.cliRoom'))
      .option('--from <nick>', t('search.cliFrom'))
      .option('--json', t('search.cliJson')),
  ).action((words: string[], flags: { host?: string; port?: string; nick?: string; room?: string; from?: string; json?: boolean }) => {
    setAction(async () => {
      const { reply, line } = await searchOnce(settings(flags), words.join(' '), flags.room, flags.from);
      if (flags.json) io.stdout.write(line + '\n');
      else if (reply.hits.length > 0) io.stdout.write(hitText(reply) + '\n');
      return reply.hits.length > 0 ? ExitCode.ok : ExitCode.failed;
    });
  });
}
