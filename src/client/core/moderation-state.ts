// What running a room looks like on this side (docs/protocol.md "Running a room"): a room's topic, its operators
// and who is away (for the status line and the member pane), the notices of what operators did, and the ignore
// list's filter. Server events in, state out, as in state.ts.

import { nickKey, type ServerMessage } from '../../protocol/index.js';
import { t } from '../text/i18n/index.js';
import { moderationText } from '../text/moderation-wording.js';
import { sanitize, sanitizeLine } from '../text/sanitize.js';

/** What this needs of a buffer and of the client state (state.ts, which calls applyModeration). */
interface MarkedBuffer {
  name: string;
  members: string[];
}
interface StateView<B extends MarkedBuffer> {
  nick: string;
  readonly active: B;
  ignore: { has(nick: string): boolean };
  room(name: string): B | undefined;
  buffer(key: string): B | undefined;
  add(buffer: B, fields: { kind: 'notice'; text: string }): unknown;
}
type ApplyResult = { bell: boolean };

/** A room buffer's marks: kept beside the buffer, by its key. */
export interface RoomMarks {
  topic: string;
  /** The key this room was joined with (+k), to join it again after a reconnect. */
  key?: string;
  ops: Set<string>;
  away: Set<string>;
}

const marks = new WeakMap<object, RoomMarks>();

export function marksOf(buffer: object): RoomMarks {
  let found = marks.get(buffer);
  if (!found) marks.set(buffer, (found = { topic: '', ops: new Set(), away: new Set() }));
  return found;
}

/** A member as the member pane shows them: `@alice` for an operator, `bob (away)`. */
export function memberLabel(buffer: object, nick: string): string {
  const found = marks.get(buffer);
  if (!found) return nick;
  const key = nickKey(nick);
  return `${found.ops.has(key) ? '@' : ''}${nick}${found.away.has(key) ? t('members.away') : ''}`;
}

/** The key a room buffer was joined with, if any. */
export function keyOf(buffer: object): string | undefined {
  return marks.get(buffer)?.key;
}

/** The topic of a room buffer ('' when none). */
export function topicOf(buffer: object): string {
  return marks.get(buffer)?.topic ?? '';
}

/**
 * Apply what is about running rooms; null for what state.ts handles itself (after noting a members list's marks).
 * A message from an ignored nick is dropped here.
 */
export function applyModeration<B extends MarkedBuffer>(state: StateView<B>, message: ServerMessage): ApplyResult | null {
  switch (message.type) {
    case 'msg':
    case 'file':
      return state.ignore.has(message.from) ? { bell: false } : null;
    case 'members': {
      const buffer = state.room(message.room);
      if (buffer) {
        const found = marksOf(buffer);
        found.ops = new Set((message.ops ?? []).map(nickKey));
        found.away = new Set((message.away ?? []).map(nickKey));
      }
      return null;
    }
    case 'topic': {
      const buffer = state.room(message.room);
      if (!buffer) return { bell: false };
      marksOf(buffer).topic = sanitizeLine(message.topic);
      const by = message.by ? t('mod.setBy', { nick: sanitizeLine(message.by) }) : '';
      const room = buffer.name;
      state.add(buffer, { kind: 'notice', text: message.topic ? t('event.topic', { room, topic: sanitize(message.topic), by }) : t('event.noTopic', { room, by }) });
      return { bell: false };
    }
    case 'moderation': {
      const buffer = state.room(message.room);
      if (!buffer) return { bell: false };
      const target = message.nick === undefined ? '' : nickKey(message.nick);
      const found = marksOf(buffer);
      if (message.action === 'op') found.ops.add(target);
      if (message.action === 'deop') found.ops.delete(target);
      if (message.action === 'kick' || message.action === 'ban') buffer.members = buffer.members.filter((m) => nickKey(m) !== target);
      state.add(buffer, { kind: 'notice', text: moderationText(message) });
      return { bell: message.nick !== undefined && state.nick !== '' && nickKey(state.nick) === target };
    }
    case 'away': {
      const who = sanitizeLine(message.nick);
      const said = message.message ? t('mod.awayMessage', { message: sanitize(message.message) }) : '';
      const text = message.away ? t('event.away', { nick: who, message: said }) : t('event.back', { nick: who });
      if (message.room === undefined) {
        state.add(state.buffer(`@${nickKey(message.nick)}`) ?? state.active, { kind: 'notice', text });
        return { bell: false };
      }
      const buffer = state.room(message.room);
      if (!buffer) return { bell: false };
      if (message.away) marksOf(buffer).away.add(nickKey(message.nick));
      else marksOf(buffer).away.delete(nickKey(message.nick));
      state.add(buffer, { kind: 'notice', text });
      return { bell: false };
    }
    default:
      return null;
  }
}
