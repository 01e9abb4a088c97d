// /search and /jump (docs/protocol.md "Search"): the server's hits listed in the buffer, numbered, each between
// the records before and after it; /jump N opens hit N's room or private buffer, pages its history back until the
// hit is in the log, and scrolls there.

import type { PrivateRecord, RoomRecord, SearchHit, ServerMessage } from '../../protocol/index.js';
import { t } from '../text/i18n/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import { clock, day } from '../text/time.js';
import type { Request } from './connection.js';
import { checkedNick, checkedRoom } from './names.js';
import { privateKey, type ChatBuffer, type ClientState } from './state.js';

/** What /search and /jump need of the chat client (chat-commands.ts's CommandContext has it). */
export interface SearchContext {
  readonly state: ClientState;
  /** A request for `buffer`: null after saying an error reply there. */
  request(buffer: ChatBuffer, message: Request): Promise<ServerMessage | null>;
}

/** The hits of the last search, per client, for /jump. */
const lastHits = new WeakMap<ClientState, SearchHit[]>();

/** History pages of 200 read at most to reach a hit (as many records as a buffer keeps). */
const JUMP_PAGES_MAX = 25;

type Kept = RoomRecord | PrivateRecord;

export function recordLine(record: Kept): string {
  if (record.type === 'file') return sanitizeLine(`<${record.from}> [file] ${record.name}`);
  return sanitizeLine(record.me ? `* ${record.from} ${record.text}` : `<${record.from}> ${record.text}`);
}

/** Where a hit is, as the status line names buffers: the room, or @nick. */
export function hitPlace(hit: SearchHit): string {
  return sanitizeLine(hit.room ?? `@${hit.with}`);
}

/** The lines that show a search's hits, numbered for /jump. */
export function hitLines(query: string, hits: readonly SearchHit[], more: boolean): string[] {
  const quoted = JSON.stringify(sanitizeLine(query));
  if (hits.length === 0) return [t('search.none', { query: quoted })];
  const count = `${hits.length}${more ? '+' : ''}`;
  const found = hits.length === 1 && !more ? t('search.hitsOne', { count }) : t('search.hitsMany', { count });
  const lines = [t('search.header', { query: quoted, hits: found })];
  hits.forEach((hit, i) => {
    const ts = Date.parse(hit.record.ts);
    const number = `${i + 1}.`.padStart(4);
    if (hit.before) lines.push(`       ${recordLine(hit.before)}`);
    lines.push(`${number} ${hitPlace(hit)} ${day(ts)} ${clock(ts, false)} ${recordLine(hit.record)}`);
    if (hit.after) lines.push(`       ${recordLine(hit.after)}`);
  });
  return lines;
}

export async function search(
  { state, request }: SearchContext,
  buffer: ChatBuffer,
  command: { words: string; room?: string; from?: string },
): Promise<void> {
  const room = command.room !== undefined ? { room: checkedRoom(command.room) } : {};
  const from = command.from !== undefined ? { from: checkedNick(command.from) } : {};
  const reply = await request(buffer, { type: 'search', text: command.words, ...room, ...from });
  if (reply?.type !== 'search') return;
  lastHits.set(state, reply.hits);
  for (const line of hitLines(command.words, reply.hits, reply.more)) state.info(buffer, line);
}

export async function jump(context: SearchContext, buffer: ChatBuffer, command: { number: number }): Promise<void> {
  const { state, request } = context;
  const hits = lastHits.get(state) ?? [];
  const hit = hits[command.number - 1];
  if (!hit) {
    state.error(buffer, hits.length === 0 ? t('search.first') : t('search.noHit', { number: command.number, count: hits.length }));
    return;
  }
  let target: ChatBuffer;
  if (hit.room !== undefined) {
    const known = state.room(hit.room);
    if (!known?.joined && !(await request(buffer, { type: 'join', room: hit.room }))) return;
    target = state.room(hit.room)!;
  } else {
    target = state.buffer(privateKey(hit.with!)) ?? state.openPrivate(hit.with!);
  }
  const seq = hit.record.seq;
  for (let page = 0; page < JUMP_PAGES_MAX && !target.entries.some((e) => e.seq === seq); page++) {
    if (!target.moreHistory && target.oldestSeq !== null) break;
    const before = target.oldestSeq ?? seq + 1;
    const where = hit.room !== undefined ? { room: hit.room } : { with: hit.with! };
    const reply = await request(target, { type: 'history', ...where, before, limit: 200 });
    if (reply?.type !== 'history') break;
    if (state.prependHistory(target, reply.messages as RoomRecord[], reply.more) === 0) break;
  }
  const index = target.entries.findIndex((e) => e.seq === seq);
  state.switchTo(target.key);
  if (index === -1) {
    state.error(target, t('search.gone', { number: command.number }));
    return;
  }
  // The hit just below the top, after the line before it.
  const top = target.entries[Math.max(0, index - 1)]!;
  target.scroll = { entryId: top.id, part: 0 };
}
