// The status line: server, nick, connection state (with the reconnect countdown), and the buffers, fitted to the
// terminal's width in display columns (colour codes take none). When the buffers do not all fit, the active one and
// those with mentions or unread lines are kept and the quiet ones folded into `+N`; nothing is cut at the edge.

import { t } from '../text/i18n/index.js';
import type { ChalkInstance } from 'chalk';
import { topicOf } from '../core/moderation-state.js';
import type { ChatBuffer } from '../core/state.js';
import { stringWidth, truncateToWidth } from '../text/width.js';

interface StatusView {
  server: { host: string; port: number };
  /** Messages waiting for the connection. */
  queued?: number;
  status: { phase: string; retryAt?: number };
  state: { nick: string; buffers: readonly ChatBuffer[]; active: ChatBuffer };
}

interface Label {
  index: number;
  plain: string;
  styled: string;
  /** 0 the active buffer, 1 a mention, 2 unread lines, 3 quiet: kept in this order when space is short. */
  rank: number;
}

export function statusLine(client: StatusView, now: number, chalk: ChalkInstance, width = Infinity): string {
  const { state } = client;
  const where = bufferName(state.active);
  const phase = phaseText(client.status, now) + (client.queued ? t('status.queued', { count: client.queued }) : '');
  const heads = [
    ` ${client.server.host}:${client.server.port} | ${state.nick || '?'} | ${where} | ${phase} | `,
    ` ${state.nick || '?'} | ${where} | ${phase} | `,
    ` ${phase} | `,
    ' ',
  ];
  const labels = state.buffers.map((b, i) => label(b, i, b === state.active, chalk));
  // The longest head that leaves room for the buffers with activity, else for the active one alone.
  const fits = (head: string, rank: number) => stringWidth(head) + labelsWidth(labels.filter((l) => l.rank <= rank), labels.length) <= width;
  const head = heads.find((h) => fits(h, 2)) ?? heads.find((h) => fits(h, 0)) ?? heads[heads.length - 1]!;
  const line = head + fitLabels(labels, width - stringWidth(head)).join(' ');
  // Only a terminal too narrow for the active label and its `+N` gets here: plain text, cut.
  if (stringWidth(line) > width) return truncateToWidth(line.replace(/\x1b\[[0-9;]*m/g, ''), width);
  return line + topicPart(state.active, width - stringWidth(line));
}

/** The active room's topic after the buffers, in what room is left (none when too little is). */
function topicPart(buffer: ChatBuffer, room: number): string {
  const topic = buffer.kind === 'room' ? topicOf(buffer) : '';
  return topic && room >= 12 ? ` | ${truncateToWidth(topic, room - 3)}` : '';
}

/** Columns that `shown` take, with a space between and the `+N` for the rest of `total`. */
function labelsWidth(shown: readonly Label[], total: number): number {
  const folded = total - shown.length;
  return shown.reduce((sum, l) => sum + stringWidth(l.plain), 0) + Math.max(0, shown.length - 1) + (folded > 0 ? ` +${folded}`.length : 0);
}

function phaseText(status: StatusView['status'], now: number): string {
  if (status.phase === 'reconnecting' && status.retryAt !== undefined) {
    const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
    return seconds > 0 ? t('status.reconnectingIn', { seconds }) : t('status.reconnectingNow');
  }
  switch (status.phase) {
    case 'closed':
      return t('status.disconnected');
    case 'connecting':
    case 'connected':
    case 'reconnecting':
      return t(`status.${status.phase}`);
    default:
      return status.phase;
  }
}

function bufferName(buffer: ChatBuffer): string {
  return buffer.kind === 'private' ? `@${buffer.name}` : buffer.name;
}

function label(buffer: ChatBuffer, index: number, isActive: boolean, chalk: ChalkInstance): Label {
  const count = buffer.unread > 0 ? `(${buffer.unread}${buffer.mentioned ? '!' : ''})` : buffer.mentioned ? '(!)' : '';
  const text = `${index + 1}:${bufferName(buffer)}${count}`;
  if (isActive) return { index, plain: `[${text}]`, styled: chalk.bold(`[${text}]`), rank: 0 };
  if (buffer.mentioned) return { index, plain: text, styled: chalk.yellow.bold(text), rank: 1 };
  return { index, plain: text, styled: text, rank: buffer.unread > 0 ? 2 : 3 };
}

/** The labels to show in `room` columns, in buffer order, with `+N` for the N left out. */
function fitLabels(labels: readonly Label[], room: number): string[] {
  const byRank = [...labels].sort((a, b) => a.rank - b.rank || a.index - b.index);
  const shown: Label[] = [];
  for (const candidate of byRank) {
    if (candidate.rank === 0 || labelsWidth([...shown, candidate], labels.length) <= room) shown.push(candidate);
  }
  const folded = labels.length - shown.length;
  const styled = shown.sort((a, b) => a.index - b.index).map((l) => l.styled);
  return folded > 0 ? [...styled, `+${folded}`] : styled;
}
