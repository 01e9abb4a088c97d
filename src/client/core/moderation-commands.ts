// The commands that run a room (docs/protocol.md "Running a room"), and /away, /back, /ignore, /unignore: parsed
// from what was typed, then one small handler each, as in chat-commands.ts. `/voice` is taken by voice messages:
// a member gets a voice in a moderated room with `/mode +v NICK`.

import { MODE_CHANGES, SANCTION_MAX_SECONDS, type ModeChange, type ServerMessage } from '../../protocol/index.js';
import { t } from '../text/i18n/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import type { Request } from './connection.js';
import { checkedNick } from './names.js';
import type { ChatBuffer, ClientState } from './state.js';
import { topicOf } from './moderation-state.js';

/** What these commands need of the chat client (a part of chat-commands.ts's CommandContext). */
export interface CommandContext {
  readonly state: ClientState;
  request(buffer: ChatBuffer, message: Request): Promise<ServerMessage | null>;
}

/** As parse-input.ts has them (it imports this file); `help` is the catalogue's English (`help.NAME`, en.ts). */
interface CommandHelp {
  name: string;
  usage: string;
  help: string;
}
type ParsedInput = { kind: 'command'; command: ModerationCommand } | { kind: 'error'; message: string };

export type ModerationCommand =
  | { name: 'topic'; topic?: string }
  | { name: 'op' | 'deop' | 'unban' | 'unmute' | 'invite'; nick: string }
  | { name: 'kick'; nick: string; reason?: string }
  | { name: 'ban' | 'mute'; nick: string; duration?: number; reason?: string }
  | { name: 'bans' }
  | { name: 'mode'; change?: ModeChange; arg?: string }
  | { name: 'away'; message?: string }
  | { name: 'back' }
  | { name: 'ignore'; nick?: string }
  | { name: 'unignore'; nick: string };

export const MODERATION_COMMANDS: readonly CommandHelp[] = [
  { name: 'topic', usage: '/topic [TEXT]', help: "show this room's topic, or set it (operators, or anyone in a -t room)" },
  { name: 'op', usage: '/op NICK', help: 'make NICK (an account) an operator of this room' },
  { name: 'deop', usage: '/deop NICK', help: "take NICK's operator rights in this room" },
  { name: 'kick', usage: '/kick NICK [REASON]', help: 'remove NICK from this room (they may come back)' },
  { name: 'ban', usage: '/ban NICK|ACCOUNT [DURATION] [REASON]', help: 'ban from this room (a guest: their address), for 30m, 2h, 7d... or for good' },
  { name: 'unban', usage: '/unban NICK', help: 'lift a ban in this room' },
  { name: 'bans', usage: '/bans', help: "list this room's bans and mutes" },
  { name: 'mute', usage: '/mute NICK [DURATION] [REASON]', help: 'NICK may not speak in this room' },
  { name: 'unmute', usage: '/unmute NICK', help: 'NICK may speak again' },
  { name: 'invite', usage: '/invite NICK', help: 'let NICK into this invite-only room (once)' },
  { name: 'mode', usage: '/mode [+i|-i|+m|-m|+t|-t|+k KEY|-k|+l N|-l|+v NICK|-v NICK]', help: "show or change this room's modes" },
  { name: 'away', usage: '/away [MESSAGE]', help: 'mark yourself away; who writes to you privately is told' },
  { name: 'back', usage: '/back', help: 'no longer away' },
  { name: 'ignore', usage: '/ignore [NICK]', help: "don't show NICK's messages (kept in the config dir); alone: the list" },
  { name: 'unignore', usage: '/unignore NICK', help: "show NICK's messages again" },
];

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `30m`, `2h`, `7d`, `1w`, `45s` (or plain seconds) in seconds; null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,7})([smhdw]?)$/.exec(text);
  if (!m) return null;
  const seconds = Number(m[1]) * UNITS[m[2] || 's']!;
  return seconds >= 1 && seconds <= SANCTION_MAX_SECONDS ? seconds : null;
}

function usage(name: string): ParsedInput {
  const command = MODERATION_COMMANDS.find((c) => c.name === name)!;
  return { kind: 'error', message: t('command.usage', { usage: command.usage, help: t(`help.${command.name}` as 'help.topic') }) };
}

const withoutAt = (nick: string) => (nick.startsWith('@') ? nick.slice(1) : nick);

/** One of these commands parsed from its name and the rest of the line, or null when the name is not one of them. */
export function parseModerationCommand(name: string, rest: string): ParsedInput | null {
  const text = rest.trim();
  const args = text === '' ? [] : text.split(/\s+/);
  const command = (c: ModerationCommand): ParsedInput => ({ kind: 'command', command: c });
  switch (name) {
    case 'topic':
      return command(text ? { name, topic: text } : { name });
    case 'op':
    case 'deop':
    case 'unban':
    case 'unmute':
    case 'invite':
    case 'unignore':
      return args.length === 1 ? command({ name, nick: withoutAt(args[0]!) }) : usage(name);
    case 'ignore':
      return args.length <= 1 ? command(args[0] ? { name, nick: withoutAt(args[0]) } : { name }) : usage(name);
    case 'kick': {
      const m = /^(\S+)(?:\s+([\s\S]+))?$/.exec(text);
      return m ? command({ name, nick: withoutAt(m[1]!), ...(m[2] && { reason: m[2].trim() }) }) : usage(name);
    }
    case 'ban':
    case 'mute': {
      const m = /^(\S+)(?:\s+(\S+))?(?:\s+([\s\S]+))?$/.exec(text);
      if (!m) return usage(name);
      const duration = m[2] === undefined ? null : parseDuration(m[2]);
      const reason = [duration === null ? m[2] : undefined, m[3]].filter(Boolean).join(' ').trim();
      return command({ name, nick: withoutAt(m[1]!), ...(duration !== null && { duration }), ...(reason && { reason }) });
    }
    case 'mode': {
      if (args.length === 0) return command({ name });
      const change = args[0] as ModeChange;
      if (!MODE_CHANGES.includes(change) || args.length > 2) return usage(name);
      const needsArg = ['+k', '+l', '+v', '-v'].includes(change);
      if (needsArg !== (args.length === 2)) return usage(name);
      return command(args[1] ? { name, change, arg: withoutAt(args[1]) } : { name, change });
    }
    case 'away':
      return command(text ? { name, message: text } : { name });
    case 'bans':
    case 'back':
      return command({ name });
    default:
      return null;
  }
}

/** The room of the buffer a room command was typed in; null after saying it needs one. */
function roomOf(context: CommandContext, buffer: ChatBuffer, usage: string): string | null {
  if (buffer.kind === 'room') return buffer.key;
  context.state.error(buffer, t('mod.needsRoom', { command: usage }));
  return null;
}

type Handler<N extends ModerationCommand['name']> = (context: CommandContext, buffer: ChatBuffer, command: Extract<ModerationCommand, { name: N }>) => Promise<unknown> | unknown;

async function topic(context: CommandContext, buffer: ChatBuffer, command: { topic?: string }) {
  const room = roomOf(context, buffer, '/topic');
  if (!room) return;
  if (command.topic !== undefined) return context.request(buffer, { type: 'topic', room, topic: command.topic });
  const reply = await context.request(buffer, { type: 'topic', room });
  if (reply?.type !== 'topic') return;
  const by = reply.by ? t('mod.setBy', { nick: sanitizeLine(reply.by) }) : '';
  const none = t('mod.noTopic', { room: buffer.name }) + (topicOf(buffer) ? '' : ` ${t('mod.noTopicHint')}`);
  context.state.info(buffer, reply.topic ? t('mod.topic', { room: buffer.name, topic: sanitizeLine(reply.topic), by }) : none);
}

/** A command about one member of the room; what happened is told to the whole room by the server. */
function aboutMember(type: 'op' | 'deop' | 'unban' | 'unmute' | 'invite') {
  return (context: CommandContext, buffer: ChatBuffer, command: { nick: string }) => {
    const room = roomOf(context, buffer, `/${type}`);
    if (room) return context.request(buffer, { type, room, nick: checkedNick(command.nick) });
  };
}

function kick(context: CommandContext, buffer: ChatBuffer, command: { nick: string; reason?: string }) {
  const room = roomOf(context, buffer, '/kick');
  if (room) return context.request(buffer, { type: 'kick', room, nick: checkedNick(command.nick), ...(command.reason && { reason: command.reason }) });
}

function sanction(type: 'ban' | 'mute') {
  return (context: CommandContext, buffer: ChatBuffer, command: { nick: string; duration?: number; reason?: string }) => {
    const room = roomOf(context, buffer, `/${type}`);
    if (!room) return;
    const { duration, reason } = command;
    return context.request(buffer, { type, room, nick: checkedNick(command.nick), ...(duration !== undefined && { duration }), ...(reason && { reason }) });
  };
}

async function bans(context: CommandContext, buffer: ChatBuffer) {
  const room = roomOf(context, buffer, '/bans');
  if (!room) return;
  const reply = await context.request(buffer, { type: 'bans', room });
  if (reply?.type !== 'bans') return;
  const line = (key: 'mod.banned' | 'mod.muted', entry: (typeof reply.bans)[number]) =>
    t(key, {
      nick: sanitizeLine(entry.nick),
      guest: entry.kind === 'address' ? t('mod.guestAddress') : '',
      by: sanitizeLine(entry.by),
      until: entry.until ? t('mod.until', { until: sanitizeLine(entry.until) }) : '',
      reason: entry.reason ? t('mod.reason', { reason: sanitizeLine(entry.reason) }) : '',
    });
  if (reply.bans.length + reply.mutes.length === 0) context.state.info(buffer, t('mod.nobodyBanned', { room: buffer.name }));
  for (const entry of reply.bans) context.state.info(buffer, line('mod.banned', entry));
  for (const entry of reply.mutes) context.state.info(buffer, line('mod.muted', entry));
}

async function mode(context: CommandContext, buffer: ChatBuffer, command: { change?: ModeChange; arg?: string }) {
  const room = roomOf(context, buffer, '/mode');
  if (!room) return;
  if (command.change) return context.request(buffer, { type: 'mode', room, change: command.change, ...(command.arg !== undefined && { arg: command.arg }) });
  const reply = await context.request(buffer, { type: 'mode', room });
  if (reply?.type !== 'mode') return;
  const details = [
    reply.key !== undefined ? t('mod.modeKey', { key: sanitizeLine(reply.key) }) : '',
    reply.limit !== undefined ? t('mod.modeLimit', { limit: reply.limit }) : '',
  ].filter(Boolean).join(t('mod.listSeparator'));
  context.state.info(buffer, t('mod.modes', { room: buffer.name, modes: sanitizeLine(reply.modes), details: details ? t('mod.modeDetails', { details }) : '' }));
}

async function away(context: CommandContext, buffer: ChatBuffer, command: { message?: string }) {
  if (await context.request(buffer, { type: 'away', ...(command.message && { message: command.message }) })) {
    context.state.info(buffer, t('mod.away', { message: command.message ? t('mod.awayMessage', { message: sanitizeLine(command.message) }) : '' }));
  }
}

async function back(context: CommandContext, buffer: ChatBuffer) {
  if (await context.request(buffer, { type: 'back' })) context.state.info(buffer, t('mod.back'));
}

function ignore({ state }: CommandContext, buffer: ChatBuffer, command: { nick?: string }) {
  if (command.nick === undefined) {
    const list = state.ignore.list();
    state.info(buffer, list.length === 0 ? t('ignore.nobody') : t('ignore.list', { nicks: list.map(sanitizeLine).join(', ') }));
    return;
  }
  const nick = checkedNick(command.nick);
  state.info(buffer, state.ignore.add(nick) ? t('ignore.added', { nick }) : t('ignore.already', { nick }));
}

function unignore({ state }: CommandContext, buffer: ChatBuffer, command: { nick: string }) {
  const nick = sanitizeLine(command.nick);
  state.info(buffer, state.ignore.remove(command.nick) ? t('ignore.removed', { nick }) : t('ignore.notIgnored', { nick }));
}

export const MODERATION_HANDLERS: { [N in ModerationCommand['name']]: Handler<N> } = {
  topic,
  op: aboutMember('op'),
  deop: aboutMember('deop'),
  unban: aboutMember('unban'),
  unmute: aboutMember('unmute'),
  invite: aboutMember('invite'),
  kick,
  ban: sanction('ban'),
  mute: sanction('mute'),
  bans,
  mode,
  away,
  back,
  ignore,
  unignore,
};
