// How entries look: one plain line each for pipes, and coloured, wrapped rows for the full-screen log. Pure.

import { t } from '../text/i18n/index.js';
import { Chalk, type ChalkInstance } from 'chalk';
import type { ChatBuffer, Entry } from '../core/state.js';
import { sanitizeLine } from '../text/sanitize.js';
import { clock, day as dayOf } from '../text/time.js';
import { stringWidth, wrapText } from '../text/width.js';
import { voiceLine } from './voice-line.js';
import { decorate, markerRow } from './conversation-format.js';
import type { Row } from '../core/scrollback.js';

/** Dim text. blessed has no SGR 2 (faint), so dim is a grey. */
function grey(chalk: ChalkInstance): (text: string) => string {
  return chalk.ansi256(245);
}

// 256-colour palette entries that read well on dark and light backgrounds; no reds (kept for errors).
const NICK_COLOURS = [33, 39, 41, 69, 75, 99, 105, 135, 141, 166, 172, 178, 37, 43, 127, 64];

/** The same nick always gets the same colour. */
export function nickColour(nick: string): number {
  let hash = 0;
  for (const char of nick.toLowerCase()) hash = (Math.imul(hash, 31) + char.codePointAt(0)!) >>> 0;
  return NICK_COLOURS[hash % NICK_COLOURS.length]!;
}

const MARKERS: Record<Entry['kind'], string> = {
  msg: '',
  action: '*',
  file: '*',
  join: '-->',
  leave: '<--',
  nick: '--',
  notice: '-!-',
  info: '--',
  error: '!!',
  queued: '..',
  marker: '--',
};

function oneLine(text: string): string {
  return text.replace(/\t/g, '    ').replace(/\n/g, ' \u21b5 ');
}

/** One plain line per entry, for pipes: `[12:01:33] <bob> hello`. Coloured only when `chalk` has a colour level. */
export function plainLine(entry: Entry, buffer: ChatBuffer, showBuffer: boolean, chalk: ChalkInstance = makeChalk(false)): string {
  const where = showBuffer ? (buffer.kind === 'private' ? `[@${buffer.name}] ` : `[${buffer.name}] `) : '';
  const from = entry.from ? sanitizeLine(entry.from) : '';
  const nick = chalk.ansi256(nickColour(from))(from);
  let body: string;
  if (entry.voice) body = `<${nick}> ${voiceLine(entry.voice)}`;
  else if (entry.kind === 'msg') body = `<${nick}> ${oneLine(entry.text)}`;
  else if (entry.kind === 'action' || entry.kind === 'file') body = `* ${nick} ${oneLine(entry.text)}`;
  else if (entry.kind === 'error') body = chalk.red(`${MARKERS[entry.kind]} ${oneLine(entry.text)}`);
  else body = grey(chalk)(`${MARKERS[entry.kind]} ${oneLine(entry.text)}`);
  // What was changed before it was printed (history, or what waited for an account) says so.
  if (entry.edited && !entry.deleted) body += ` ${grey(chalk)(t('conversation.edited'))}`;
  // A room's file is fetched (/get, /play) by its seq: said after it, as the screen does.
  if (entry.kind === 'file' && entry.seq !== undefined) body += ` ${grey(chalk)(`#${entry.seq}`)}`;
  return `${grey(chalk)(`[${clock(entry.ts)}]`)} ${where}${body}`;
}

/** Colours for the terminal: none at all when NO_COLOR is set (https://no-color.org). */
export function makeChalk(colour: boolean): ChalkInstance {
  return new Chalk({ level: colour ? 2 : 0 });
}

/**
 * An entry as screen rows at most `width` columns wide: `12:01 <bob> text`, the text wrapped with a hanging
 * indent under itself. Returns styled strings (SGR codes only; the text itself is sanitized already).
 */
export function entryRows(entry: Entry, width: number, chalk: ChalkInstance): string[] {
  if (entry.kind === 'marker') return [markerRow(entry.text, width, chalk)];
  const time = clock(entry.ts, false);
  const from = entry.from ? sanitizeLine(entry.from) : '';
  const nickStyle = entry.self ? chalk.bold : chalk.ansi256(nickColour(from));
  let prefixPlain: string;
  let prefix: string;
  let bodyStyle: (s: string) => string = (s) => s;
  // A voice message is said, like a message: `12:01 <bob> ▶ 0:07 ▁▂▅▇▆▃▂▁ #2`.
  switch (entry.voice ? 'msg' : entry.kind) {
    case 'msg':
      prefixPlain = `${time} <${from}> `;
      prefix = `${grey(chalk)(time)} ${grey(chalk)('<')}${nickStyle(from)}${grey(chalk)('>')} `;
      break;
    case 'action':
    case 'file':
      prefixPlain = `${time} * `;
      prefix = `${grey(chalk)(time)} ${chalk.bold('*')} `;
      break;
    case 'error':
      prefixPlain = `${time} !! `;
      prefix = `${grey(chalk)(time)} ${chalk.red.bold('!!')} `;
      bodyStyle = chalk.red;
      break;
    case 'notice':
      prefixPlain = `${time} -!- `;
      prefix = `${grey(chalk)(time)} ${chalk.yellow('-!-')} `;
      break;
    case 'queued':
      prefixPlain = `${time} <${from}> `;
      prefix = grey(chalk)(prefixPlain);
      bodyStyle = grey(chalk);
      break;
    case 'info':
      prefixPlain = `${time} -- `;
      prefix = `${grey(chalk)(time)} ${chalk.cyan('--')} `;
      break;
    default:
      prefixPlain = `${time} ${MARKERS[entry.kind]} `;
      prefix = grey(chalk)(prefixPlain);
      bodyStyle = grey(chalk);
  }
  if (entry.mention) bodyStyle = chalk.bgYellow.black;
  if (entry.deleted) bodyStyle = grey(chalk);
  const body =
    entry.voice ? voiceLine(entry.voice)
    : entry.kind === 'action' || entry.kind === 'file' ? `${from} ${entry.text}`
    : entry.kind === 'queued' ? t('event.queued', { text: entry.text })
    : entry.text;
  let indent = stringWidth(prefixPlain);
  if (width - indent < 12) indent = 0;
  const rows: string[] = [];
  const lines = body.replace(/\t/g, '    ').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const firstWidth = i === 0 && indent === 0 ? width - stringWidth(prefixPlain) : width - indent;
    const pieces = wrapText(lines[i]!, Math.max(2, firstWidth));
    for (const piece of pieces) {
      const styled =
        (entry.kind === 'action' || entry.kind === 'file') && !entry.voice && i === 0 && rows.length === 0 && piece.startsWith(from)
          ? nickStyle(from) + bodyStyle(piece.slice(from.length))
          : bodyStyle(piece);
      rows.push(rows.length === 0 ? prefix + styled : ' '.repeat(indent) + styled);
    }
  }
  return decorate(entry, rows, indent, width, chalk);
}

/**
 * A buffer's whole log as rows, with a "day changed" line where the local date changes (and above the first entry
 * when it is not from today: history can be days old). Rows are cached per entry and width by the caller.
 */
export function layoutRows(
  entries: readonly Entry[],
  width: number,
  chalk: ChalkInstance,
  cache?: Map<number, { width: number; rows: string[] }>,
  now: number = Date.now(),
): Row[] {
  const rows: Row[] = [];
  let day = dayOf(now);
  for (const entry of entries) {
    const entryDay = dayOf(entry.ts);
    if (entryDay !== day) rows.push({ entryId: entry.id, part: -1, text: grey(chalk)(t('event.dayChanged', { day: entryDay })) });
    day = entryDay;
    let texts = cache?.get(entry.id);
    if (!texts || texts.width !== width) {
      texts = { width, rows: entryRows(entry, width, chalk) };
      cache?.set(entry.id, texts);
    }
    texts.rows.forEach((text, part) => rows.push({ entryId: entry.id, part, text }));
  }
  return rows;
}
