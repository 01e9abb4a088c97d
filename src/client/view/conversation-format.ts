// How conversations look in the full-screen log (docs/protocol.md "Conversations"): a dim `#N` beside a room
// message, "(edited)", the quoted first line of the message a reply answers above it, its reactions under it
// (`👍 3  🎉 1`), and the "N unread since HH:MM" line. Pure: rows in, rows out.

import type { ChalkInstance } from 'chalk';
import { reactionLine } from '../core/conversation-state.js';
import { t } from '../text/i18n/index.js';
import type { Entry } from '../core/state.js';
import { stringWidth, wrapText } from '../text/width.js';

/** Dim text. blessed has no SGR 2 (faint), so dim is a grey (as format.ts). */
const dim = (chalk: ChalkInstance) => chalk.ansi256(245);

/** The first piece of `text` that fits in `width` columns, with an ellipsis when cut. */
function fit(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  return `${wrapText(text, Math.max(1, width - 1))[0] ?? ''}…`;
}

/** The unread marker line, across the log. */
export function markerRow(text: string, width: number, chalk: ChalkInstance): string {
  const label = ` ${text} `;
  const side = Math.max(2, Math.floor((width - stringWidth(label)) / 2));
  return chalk.yellow(fit(`${'─'.repeat(side)}${label}${'─'.repeat(side)}`, width));
}

/** An entry's rows (format.ts entryRows) with its quote above, `(edited) #N` after and reactions below. */
export function decorate(entry: Entry, rows: string[], indent: number, width: number, chalk: ChalkInstance): string[] {
  if (entry.seq === undefined) return rows;
  const out = [...rows];
  const tail = [entry.edited && !entry.deleted ? t('conversation.edited') : '', `#${entry.seq}`].filter(Boolean).join(' ');
  const last = out.length - 1;
  // The tail fits on the last row when that row leaves room for it; otherwise it gets a row of its own.
  const lastWidth = stringWidth(out[last]!.replace(/\x1b\[[0-9;]*m/g, ''));
  if (lastWidth + 1 + stringWidth(tail) <= width) out[last] = `${out[last]} ${dim(chalk)(tail)}`;
  else out.push(' '.repeat(indent) + dim(chalk)(tail));
  const pad = ' '.repeat(indent);
  if (entry.reply && !entry.deleted) {
    const quote = `↱ ${entry.reply.from} #${entry.reply.seq}: ${entry.reply.text}`;
    out.unshift(pad + dim(chalk)(fit(quote, Math.max(4, width - indent))));
  }
  if (entry.reactions && entry.reactions.length > 0 && !entry.deleted) {
    out.push(pad + fit(reactionLine(entry.reactions), Math.max(4, width - indent)));
  }
  return out;
}
