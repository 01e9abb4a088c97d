// Running a room (docs/protocol.md "Running a room"): topic, operators, kick, ban, mute, invitations, room modes,
// away. The wire shapes and their parsing; pure, no I/O. The rules are in server/handlers/moderation.ts.

/** As in messages.ts (which imports this file, so it is not imported back). */
type RequestId = string | number;

export const ModerationType = {
  topic: 'topic',
  op: 'op',
  deop: 'deop',
  kick: 'kick',
  ban: 'ban',
  unban: 'unban',
  bans: 'bans',
  mute: 'mute',
  unmute: 'unmute',
  invite: 'invite',
  mode: 'mode',
  away: 'away',
  back: 'back',
} as const;
export type ModerationType = (typeof ModerationType)[keyof typeof ModerationType];

/** Longest topic, kick/ban reason and away message, in characters. */
export const TOPIC_MAX_CHARS = 300;
export const REASON_MAX_CHARS = 200;
export const AWAY_MAX_CHARS = 200;
/** Longest ban or mute, in seconds (a year); without a duration it holds until lifted. */
export const SANCTION_MAX_SECONDS = 366 * 24 * 3600;
export const ROOM_KEY_MAX_CHARS = 64;
export const ROOM_LIMIT_MAX = 1_000_000;

/** The room mode changes `mode` takes: flags, a key, a limit, and voice for one member. */
export const MODE_CHANGES = ['+i', '-i', '+m', '-m', '+t', '-t', '+k', '-k', '+l', '-l', '+v', '-v'] as const;
export type ModeChange = (typeof MODE_CHANGES)[number];

interface Request {
  id?: RequestId;
}

/** Set the topic, or (without `topic`) ask for it; "" clears it. */
export interface TopicRequest extends Request { type: 'topic'; room: string; topic?: string }
/** A request about one member (or account) of a room: op, deop, unban, unmute, invite. */
export interface NickInRoomRequest<T extends string> extends Request { type: T; room: string; nick: string }
export type OpRequest = NickInRoomRequest<'op'> | NickInRoomRequest<'deop'>;
export type UnbanRequest = NickInRoomRequest<'unban'> | NickInRoomRequest<'unmute'>;
export interface KickRequest extends Request { type: 'kick'; room: string; nick: string; reason?: string }
/** `nick`: a member's nick, or an account's name; `duration` in seconds (none: until unbanned). */
export interface SanctionRequest<T extends 'ban' | 'mute'> extends Request { type: T; room: string; nick: string; duration?: number; reason?: string }
export type BanRequest = SanctionRequest<'ban'> | SanctionRequest<'mute'>;
export interface BansRequest extends Request { type: 'bans'; room: string }
export type InviteRequest = NickInRoomRequest<'invite'>;
/** Without `change`: the room's modes. `arg`: the key of +k, the number of +l, the nick of +v/-v. */
export interface ModeRequest extends Request { type: 'mode'; room: string; change?: ModeChange; arg?: string }
export interface AwayRequest extends Request { type: 'away'; message?: string }
export interface BackRequest extends Request { type: 'back' }

export type ModerationRequest =
  | TopicRequest
  | OpRequest
  | KickRequest
  | BanRequest
  | UnbanRequest
  | BansRequest
  | InviteRequest
  | ModeRequest
  | AwayRequest
  | BackRequest;

/** The room's topic: on join (before the banner), on change, and in answer to a `topic` without text. */
export interface TopicEvent { type: 'topic'; room: string; topic: string; by?: string; ts?: string; id?: RequestId }

export type ModerationAction = 'kick' | 'ban' | 'unban' | 'mute' | 'unmute' | 'op' | 'deop' | 'voice' | 'devoice' | 'invite' | 'mode';

/**
 * What an operator did, to everyone in the room: `nick` whom it was done to (for `mode`, the change), `by` who
 * did it, `reason` why, `until` when a ban or mute ends; `text` says it all in words.
 */
export interface ModerationEvent {
  type: 'moderation'; room: string; action: ModerationAction; by: string; nick?: string; reason?: string; until?: string;
  mode?: string; text: string; ts: string;
}

/** The room's modes, IRC-style (`+imt`, `+l 20`); the key itself only to operators. */
export interface ModeEvent { type: 'mode'; room: string; modes: string; limit?: number; key?: string; id?: RequestId }

export interface BanEntry { nick: string; kind: 'account' | 'address'; by: string; reason?: string; until?: string; ts: string }
export interface BansEvent { type: 'bans'; room: string; bans: BanEntry[]; mutes: BanEntry[]; id?: RequestId }

/** Someone went away (`away: true`, with their message) or came back: to their rooms, and once to whoever writes to them in private. */
export interface AwayEvent { type: 'away'; nick: string; away: boolean; message?: string; room?: string; ts: string }

export type ModerationEventMessage = TopicEvent | ModerationEvent | ModeEvent | BansEvent | AwayEvent;

export const EXAMPLES_MODERATION: Record<ModerationType, string> = {
  topic: '{"type":"topic","room":"test","topic":"Welcome; be kind"}',
  op: '{"type":"op","room":"test","nick":"bob"}',
  deop: '{"type":"deop","room":"test","nick":"bob"}',
  kick: '{"type":"kick","room":"test","nick":"bob","reason":"spam"}',
  ban: '{"type":"ban","room":"test","nick":"bob","duration":3600,"reason":"spam"}',
  unban: '{"type":"unban","room":"test","nick":"bob"}',
  bans: '{"type":"bans","room":"test"}',
  mute: '{"type":"mute","room":"test","nick":"bob","duration":600}',
  unmute: '{"type":"unmute","room":"test","nick":"bob"}',
  invite: '{"type":"invite","room":"test","nick":"bob"}',
  mode: '{"type":"mode","room":"test","change":"+l","arg":"20"}',
  away: '{"type":"away","message":"lunch"}',
  back: '{"type":"back"}',
};

/** What the parser needs of its field reader (parse.ts). */
export interface ModerationFields {
  has(name: string): boolean;
  string(name: string): string;
  optionalString(name: string): string | undefined;
  optionalCount(name: string): number | undefined;
  nick(name: string): string;
  room(): string;
  fail(code: 'bad_request', problem: string): never;
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

function shortText(read: ModerationFields, name: string, max: number): string | undefined {
  const value = read.optionalString(name);
  if (value === undefined) return undefined;
  if (value.length > max) read.fail('bad_request', `"${name}" is longer than ${max} characters`);
  if (CONTROL_CHARACTERS.test(value)) read.fail('bad_request', `"${name}" cannot contain control characters`);
  return value;
}

function withId<T extends object>(message: T, id: RequestId | undefined): T & { id?: RequestId } {
  return id === undefined ? message : { ...message, id };
}

/** One moderation request from its fields (the type is known to be one of ModerationType). */
export function readModeration(read: ModerationFields, type: ModerationType, id: RequestId | undefined): ModerationRequest {
  switch (type) {
    case 'topic': {
      const room = read.room();
      const topic = shortText(read, 'topic', TOPIC_MAX_CHARS);
      return withId({ type, room, ...(topic !== undefined && { topic }) }, id);
    }
    case 'op':
    case 'deop':
    case 'invite':
    case 'unban':
    case 'unmute':
      return withId({ type, room: read.room(), nick: read.nick('nick') }, id) as ModerationRequest;
    case 'kick': {
      const room = read.room();
      const nick = read.nick('nick');
      const reason = shortText(read, 'reason', REASON_MAX_CHARS);
      return withId({ type, room, nick, ...(reason && { reason }) }, id);
    }
    case 'ban':
    case 'mute': {
      const room = read.room();
      const nick = read.nick('nick');
      const duration = read.optionalCount('duration');
      if (duration !== undefined && (duration < 1 || duration > SANCTION_MAX_SECONDS)) {
        read.fail('bad_request', `"duration" is seconds, from 1 to ${SANCTION_MAX_SECONDS}; leave it out for no end`);
      }
      const reason = shortText(read, 'reason', REASON_MAX_CHARS);
      return withId({ type, room, nick, ...(duration !== undefined && { duration }), ...(reason && { reason }) }, id);
    }
    case 'bans':
      return withId({ type, room: read.room() }, id);
    case 'mode': {
      const room = read.room();
      if (!read.has('change')) return withId({ type, room }, id);
      const change = read.string('change') as ModeChange;
      if (!MODE_CHANGES.includes(change)) read.fail('bad_request', `"change" is one of ${MODE_CHANGES.join(' ')}`);
      const arg = shortText(read, 'arg', ROOM_KEY_MAX_CHARS);
      if (['+k', '+l', '+v', '-v'].includes(change) && !arg) read.fail('bad_request', `"${change}" needs an "arg"`);
      if (change === '+l' && !(/^[1-9][0-9]{0,6}$/.test(arg!) && Number(arg) <= ROOM_LIMIT_MAX)) {
        read.fail('bad_request', `"+l" needs a number of members from 1 to ${ROOM_LIMIT_MAX}`);
      }
      if (change === '+k' && /\s/.test(arg!)) read.fail('bad_request', 'a room key has no spaces');
      return withId({ type, room, change, ...(arg !== undefined && { arg }) }, id);
    }
    case 'away': {
      const message = shortText(read, 'message', AWAY_MAX_CHARS);
      return withId({ type, ...(message && { message }) }, id);
    }
    case 'back':
      return withId({ type }, id);
  }
}
