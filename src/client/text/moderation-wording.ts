// What an operator did (a `moderation` event, docs/protocol.md "Running a room"), said by the client from the
// event's fields in the interface's language. In English the server's own sentence is shown: it also says what the
// fields do not (that a ban holds a guest's address, the room's modes after a change).

import type { ModerationEvent } from '../../protocol/index.js';
import { language, t } from './i18n/index.js';
import { sanitize, sanitizeLine } from './sanitize.js';

/** 90 -> "1m30s" (in Chinese "1分钟30秒"), as the server spells a ban's length. */
export function spellDuration(seconds: number): string {
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (seconds >= size) {
      parts.push(t(`duration.${unit}`, { count: Math.floor(seconds / size) }));
      seconds %= size;
    }
  }
  return parts.join('') || t('duration.s', { count: 0 });
}

/** How long a ban or mute lasts: from the event's time to `until`, in whole seconds (none: until lifted). */
function lasting(event: ModerationEvent): string {
  if (event.until === undefined) return '';
  const seconds = Math.round((Date.parse(event.until) - Date.parse(event.ts)) / 1000);
  return Number.isFinite(seconds) && seconds > 0 ? t('moderation.for', { duration: spellDuration(seconds) }) : '';
}

const MEANINGS = ['+i', '-i', '+m', '-m', '+t', '-t', '+k', '-k', '-l'] as const;

/** What a mode change means, or null for one this client does not know. */
function modeMeaning(mode: string): string | null {
  const limit = /^\+l (\d+)$/.exec(mode);
  if (limit) return t('mode.+l', { limit: limit[1]! });
  return (MEANINGS as readonly string[]).includes(mode) ? t(`mode.${mode as (typeof MEANINGS)[number]}`) : null;
}

/** The event in the client's words; null for an action this client does not know (the server's text is shown). */
export function moderationWords(event: ModerationEvent): string | null {
  const by = sanitizeLine(event.by);
  const nick = sanitizeLine(event.nick ?? '');
  const room = sanitizeLine(event.room);
  const reason = event.reason ? t('moderation.reason', { reason: sanitize(event.reason) }) : '';
  switch (event.action) {
    case 'kick':
      return t('moderation.kick', { by, nick, room, reason });
    case 'ban':
    case 'mute':
      return t(`moderation.${event.action}`, { by, nick, room, duration: lasting(event), reason });
    case 'unban':
    case 'unmute':
    case 'op':
    case 'deop':
    case 'voice':
    case 'devoice':
    case 'invite':
      return t(`moderation.${event.action}`, { by, nick, room });
    case 'mode': {
      const mode = sanitizeLine(event.mode ?? '');
      const meaning = modeMeaning(mode);
      return meaning === null ? t('moderation.modeUnknown', { by, mode, room }) : t('moderation.mode', { by, mode, room, meaning });
    }
    default:
      return null;
  }
}

/** The line shown for the event: the server's sentence in English, else the client's words. */
export function moderationText(event: ModerationEvent): string {
  const words = language() === 'en' && event.text ? null : moderationWords(event);
  return words ?? sanitize(event.text ?? '');
}

/**
 * An operator's invitation (a private `notice`, `alice invites you to class: {"type":"join",...}`), said in our
 * words with the command to type instead of the protocol line; null for any other notice.
 */
export function invitationWords(text: string): string | null {
  const m = /^(\S+) invites you to (\S+): \{"type":"join"/.exec(text);
  return m ? t('event.invited', { by: sanitizeLine(m[1]!), room: sanitizeLine(m[2]!) }) : null;
}

/**
 * Why a member left a room (a `leave` event's reason): one removed by an operator (`kicked by alice: spam`,
 * `banned by alice`) said in our words; any other reason (the member's own) as sent.
 */
export function leaveReason(reason: string): string {
  const m = /^(kicked|banned) by (\S+?)(?:: ([\s\S]+))?$/.exec(reason);
  if (!m) return sanitizeLine(reason);
  const why = m[3] ? t('moderation.reason', { reason: sanitizeLine(m[3]) }) : '';
  return t(m[1] === 'kicked' ? 'leave.kicked' : 'leave.banned', { by: sanitizeLine(m[2]!), reason: why });
}
