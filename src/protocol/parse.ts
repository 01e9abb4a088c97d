// One client line in, one typed message out, or a ProtocolError that says what a right line looks like.

import {
  ClientType,
  ErrorCode,
  ProtocolError,
  type ClientMessage,
  type RequestId,
} from './messages.js';
import { canonicalRoom, chosenNickProblem, nickProblem, roomProblem } from './names.js';
import { voiceProblem } from './voice.js';
import { PASSWORD_MAX_CHARS, passwordProblem } from './passwords.js';
import { EXAMPLES_MODERATION, readModeration, ROOM_KEY_MAX_CHARS } from './moderation.js';

export interface ParseLimits {
  /** Longest `text` of a msg, in UTF-16 code units (JavaScript string length). */
  maxTextChars: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxTextChars: 8000 };

/** An example of a right line for each type, quoted in error messages. */
export const EXAMPLES: Record<ClientType, string> = {
  hello: '{"type":"hello","nick":"alice"}',
  join: '{"type":"join","room":"test","nick":"alice"}',
  leave: '{"type":"leave","room":"test"}',
  msg: '{"type":"msg","room":"test","text":"hi"} or {"type":"msg","to":"bob","text":"hi"}',
  nick: '{"type":"nick","nick":"alice2"}',
  who: '{"type":"who","room":"test"}',
  rooms: '{"type":"rooms"} (a page: {"type":"rooms","after":"ops","limit":100})',
  history: '{"type":"history","room":"test","before":120,"limit":50}',
  ping: '{"type":"ping"}',
  pong: '{"type":"pong"}',
  quit: '{"type":"quit","reason":"bye"}',
  upload: '{"type":"upload","room":"test","name":"photo.jpg","size":123456} followed by 123456 raw bytes',
  upload_status: '{"type":"upload_status","sha256":"<64 hex digits>","size":123456}',
  download: '{"type":"download","file":"<id>","offset":0}',
  files: '{"type":"files","room":"test"}',
  attach: '{"type":"attach","token":"<token from welcome>"}',
  register: '{"type":"register","nick":"alice","password":"<at least 8 characters>"}',
  login: '{"type":"login","nick":"alice","password":"<password>"} or {"type":"login","token":"<token>"}',
  logout: '{"type":"logout"}',
  passwd: '{"type":"passwd","old":"<password>","new":"<new password>"}',
  ...EXAMPLES_MODERATION,
  edit: '{"type":"edit","room":"test","seq":12,"text":"fixed"}',
  delete: '{"type":"delete","room":"test","seq":12}',
  react: '{"type":"react","room":"test","seq":12,"emoji":"👍"}',
  read: '{"type":"read","room":"test","seq":12}',
  unread: '{"type":"unread"}',
  post: '{"type":"post","room":"ops","text":"deploy done"}',
  search: '{"type":"search","text":"exam","room":"test","from":"alice"}',
};

/** Longest reaction in UTF-16 units: room for a ZWJ family or a flag with skin tones, not for a sentence. */
export const EMOJI_MAX_CHARS = 32;
const NOT_IN_EMOJI = /[\s\u0000-\u001f\u007f-\u009f]/;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const FILE_ID = /^[A-Za-z0-9_-]{16,64}$/;
const FILE_NAME_MAX_CHARS = 255;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

const KNOWN_TYPES = new Set<string>(Object.values(ClientType));

type Fields = Record<string, unknown>;

/** Room names a parser remembers before it starts again (a client sending ever new names cannot grow it). */
const ROOMS_SEEN_MAX = 4096;

/**
 * Parses client lines with a memory of the valid room names it has read, as sent, and each one's canonical name:
 * every message names its room, and checking and normalising the name (twice NFC, a pattern, lower case) cost a
 * few percent of a message's CPU (issue 17). One per server: whoever parses owns what the parser remembers.
 */
export class ClientLineParser {
  private readonly roomsSeen = new Map<string, string>();

  constructor(private readonly limits: ParseLimits = DEFAULT_PARSE_LIMITS) {}

  /** Room names remembered now (at most ROOMS_SEEN_MAX). */
  get roomsKnown(): number {
    return this.roomsSeen.size;
  }

  /** As parseClientLine. */
  parse(line: string): ClientMessage {
    return parseLine(line, this.limits, this.roomsSeen);
  }
}

class FieldReader {
  constructor(
    private readonly fields: Fields,
    private readonly type: ClientType,
    private readonly id: RequestId | undefined,
    /** Valid room names already checked, and their canonical names; null: check every one. */
    private readonly roomsSeen: Map<string, string> | null,
  ) {}

  fail(code: ErrorCode, problem: string): never {
    throw new ProtocolError(code, `${problem}; for example ${EXAMPLES[this.type]}`, this.id);
  }

  has(name: string): boolean {
    return this.fields[name] !== undefined;
  }

  string(name: string): string {
    const value = this.fields[name];
    if (value === undefined) this.fail(ErrorCode.bad_request, `"${this.type}" needs a "${name}" field`);
    if (typeof value !== 'string') this.fail(ErrorCode.bad_request, `"${name}" must be a string`);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  optionalCount(name: string): number | undefined {
    if (!this.has(name)) return undefined;
    const value = this.fields[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.fail(ErrorCode.bad_request, `"${name}" must be a whole number >= 0`);
    }
    return value;
  }

  /** `kind`, `duration_ms` and `waveform` of a voice message: all or none. */
  voice(size: number): { kind: 'voice'; duration_ms: number; waveform: number[] } | Record<string, never> {
    if (!this.has('kind') && !this.has('duration_ms') && !this.has('waveform')) return {};
    const { kind, duration_ms, waveform } = this.fields;
    const problem = voiceProblem(kind, duration_ms, waveform, size);
    if (problem) this.fail(ErrorCode.bad_request, `a voice message needs "kind":"voice", "duration_ms" and "waveform": ${problem}`);
    return { kind: 'voice', duration_ms: duration_ms as number, waveform: [...(waveform as number[])] };
  }

  optionalBoolean(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const value = this.fields[name];
    if (typeof value !== 'boolean') this.fail(ErrorCode.bad_request, `"${name}" must be true or false`);
    return value;
  }

  /** A nick to send to; `problemOf` = chosenNickProblem for the nick a connection asks for itself. */
  nick(name: string, problemOf = nickProblem): string {
    const nick = this.string(name).normalize('NFC');
    const problem = problemOf(nick);
    if (problem) this.fail(ErrorCode.bad_nick, `bad nick ${JSON.stringify(nick)}: ${problem}`);
    return nick;
  }

  room(name = 'room'): string {
    const room = this.string(name);
    const roomsSeen = this.roomsSeen;
    const known = roomsSeen?.get(room);
    if (known !== undefined) return known;
    const problem = roomProblem(room.normalize('NFC'));
    if (problem) this.fail(ErrorCode.bad_room, `bad room ${JSON.stringify(room)}: ${problem}`);
    const canonical = canonicalRoom(room);
    if (roomsSeen) {
      if (roomsSeen.size >= ROOMS_SEEN_MAX) roomsSeen.clear();
      roomsSeen.set(room, canonical);
    }
    return canonical;
  }

  sha256(required: boolean): string | undefined {
    if (!required && !this.has('sha256')) return undefined;
    const value = this.string('sha256').toLowerCase();
    if (!SHA256_HEX.test(value)) this.fail(ErrorCode.bad_request, '"sha256" must be 64 hex digits');
    return value;
  }

  fileId(): string {
    const value = this.string('file');
    if (!FILE_ID.test(value)) this.fail(ErrorCode.no_such_file, `no file has the id ${JSON.stringify(value)}`);
    return value;
  }

  fileName(): string {
    const value = this.string('name');
    if (value.length === 0 || value.length > FILE_NAME_MAX_CHARS) {
      this.fail(ErrorCode.bad_request, `"name" must have 1 to ${FILE_NAME_MAX_CHARS} characters`);
    }
    if (CONTROL_CHARACTERS.test(value)) this.fail(ErrorCode.bad_request, '"name" cannot contain control characters');
    return value;
  }

  count(name: string): number {
    const value = this.optionalCount(name);
    if (value === undefined) this.fail(ErrorCode.bad_request, `"${this.type}" needs a "${name}" field`);
    return value;
  }

  /** A password being set: its rules are checked (bad_password); the password itself is never quoted. */
  newPassword(name: string): string {
    const password = this.string(name);
    const problem = passwordProblem(password);
    if (problem) this.fail(ErrorCode.bad_password, `"${name}": ${problem}`);
    return password;
  }

  /** A password being checked: any string (a wrong one is auth_failed), but not past the cap. */
  password(name: string): string {
    const password = this.string(name);
    if (password.length > PASSWORD_MAX_CHARS * 2) this.fail(ErrorCode.bad_password, `"${name}" is longer than any password`);
    return password;
  }

  text(limits: ParseLimits): string {
    const text = this.string('text');
    if (text.length === 0) this.fail(ErrorCode.bad_request, '"text" cannot be empty');
    if (text.length > limits.maxTextChars) {
      this.fail(ErrorCode.bad_request, `"text" is longer than ${limits.maxTextChars} characters`);
    }
    return text;
  }
}

function requestId(fields: Fields): RequestId | undefined {
  const id = fields.id;
  if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return id;
  return undefined;
}

/** Parse one line from a client. Throws ProtocolError (with the request's id when it had one). */
export function parseClientLine(line: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ClientMessage {
  return parseLine(line, limits, null);
}

function parseLine(line: string, limits: ParseLimits, roomsSeen: Map<string, string> | null): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError(
      ErrorCode.bad_json,
      `not valid JSON; send one JSON object per line, for example ${EXAMPLES.msg}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(ErrorCode.bad_request, `a line must be a JSON object, for example ${EXAMPLES.msg}`);
  }
  const fields = value as Fields;
  const id = requestId(fields);
  if (fields.id !== undefined && id === undefined) {
    throw new ProtocolError(ErrorCode.bad_request, '"id" must be a string or a number');
  }
  const type = fields.type;
  if (typeof type !== 'string') {
    throw new ProtocolError(ErrorCode.bad_request, `a line needs a "type" string, for example ${EXAMPLES.msg}`, id);
  }
  if (!KNOWN_TYPES.has(type)) {
    throw new ProtocolError(
      ErrorCode.unknown_type,
      `unknown type ${JSON.stringify(type)}; known types are ${[...KNOWN_TYPES].join(', ')}`,
      id,
    );
  }
  return readMessage(new FieldReader(fields, type as ClientType, id, roomsSeen), type as ClientType, id, limits);
}

function followedBy(error: unknown, followingBytes: number | 'unknown'): unknown {
  if (!(error instanceof ProtocolError)) return error;
  return new ProtocolError(error.code, error.message, error.id, followingBytes);
}

function withId<T extends object>(message: T, id: RequestId | undefined): T & { id?: RequestId } {
  return id === undefined ? message : { ...message, id };
}

function readMessage(
  read: FieldReader,
  type: ClientType,
  id: RequestId | undefined,
  limits: ParseLimits,
): ClientMessage {
  switch (type) {
    case 'hello': {
      const nick = read.has('nick') ? read.nick('nick', chosenNickProblem) : undefined;
      return withId({ type, ...(nick !== undefined && { nick }) }, id);
    }
    case 'join': {
      const room = read.room();
      const nick = read.has('nick') ? read.nick('nick', chosenNickProblem) : undefined;
      const since = read.optionalCount('since');
      const key = read.optionalString('key');
      if (key !== undefined && key.length > ROOM_KEY_MAX_CHARS) read.fail(ErrorCode.bad_password, '"key" is longer than any room key');
      return withId({ type, room, ...(nick !== undefined && { nick }), ...(since !== undefined && { since }), ...(key !== undefined && { key }) }, id);
    }
    case 'leave':
    case 'who':
      return withId({ type, room: read.room() }, id);
    case 'msg': {
      const me = read.optionalBoolean('me');
      if (read.has('to') && read.has('room')) read.fail(ErrorCode.bad_request, 'a msg has "room" or "to", not both');
      if (read.has('to')) {
        const to = read.nick('to');
        const replyTo = read.optionalCount('reply_to');
        return withId({ type, to, text: read.text(limits), ...(me === true && { me: true }), ...(replyTo !== undefined && { reply_to: replyTo }) }, id);
      }
      if (!read.has('room')) read.fail(ErrorCode.bad_request, 'a msg needs "room" (or "to" for a private message)');
      return roomMsg(read, me, id, limits);
    }
    case 'nick':
      return withId({ type, nick: read.nick('nick', chosenNickProblem) }, id);
    case 'history': {
      if (read.has('with')) return readPrivateHistory(read, id);
      const room = read.room();
      const before = read.optionalCount('before');
      const limit = read.optionalCount('limit');
      return withId(
        { type, room, ...(before !== undefined && { before }), ...(limit !== undefined && { limit }) },
        id,
      );
    }
    case 'quit': {
      const reason = read.optionalString('reason');
      return withId({ type, ...(reason !== undefined && { reason }) }, id);
    }
    case 'rooms': {
      // A page of the room list: the rooms after `after`, by name.
      const after = read.has('after') ? read.room('after') : undefined;
      const limit = read.optionalCount('limit');
      return withId({ type, ...(after !== undefined && { after }), ...(limit !== undefined && { limit }) }, id);
    }
    case 'ping':
    case 'pong':
      return withId({ type }, id);
    case 'upload': {
      // Size and offset first: whatever else is wrong, they say how many raw bytes follow the header.
      let size: number;
      let offset: number | undefined;
      try {
        size = read.count('size');
        offset = read.optionalCount('offset');
        if (offset !== undefined && offset > size) read.fail(ErrorCode.bad_request, '"offset" cannot be past "size"');
      } catch (error) {
        throw followedBy(error, 'unknown');
      }
      try {
        if (read.has('to') && read.has('room')) read.fail(ErrorCode.bad_request, 'an upload has "room" or "to", not both');
        const target = read.has('to') ? { to: read.nick('to') } : read.has('room') ? { room: read.room() } : null;
        if (!target) read.fail(ErrorCode.bad_request, 'an upload needs "room" (or "to" for a private file)');
        const name = read.fileName();
        const sha256 = read.sha256(false);
        if (offset && sha256 === undefined) read.fail(ErrorCode.bad_request, 'resuming (an "offset") needs "sha256"');
        const voice = read.voice(size);
        return withId(
          { type, ...target, name, size, ...(sha256 !== undefined && { sha256 }), ...(offset !== undefined && { offset }), ...voice },
          id,
        );
      } catch (error) {
        throw followedBy(error, size - (offset ?? 0));
      }
    }
    case 'upload_status':
      return withId({ type, sha256: read.sha256(true)!, size: read.count('size') }, id);
    case 'download': {
      const file = read.fileId();
      const offset = read.optionalCount('offset');
      const length = read.optionalCount('length');
      const raw = read.optionalBoolean('raw');
      return withId(
        {
          type,
          file,
          ...(offset !== undefined && { offset }),
          ...(length !== undefined && { length }),
          ...(raw !== undefined && { raw }),
        },
        id,
      );
    }
    case 'files':
      return withId({ type, ...(read.has('room') && { room: read.room() }) }, id);
    case 'attach':
      return withId({ type, token: read.string('token') }, id);
    case 'register':
      return withId({ type, nick: read.nick('nick'), password: read.newPassword('password') }, id);
    case 'login':
      if (read.has('token')) {
        if (read.has('password')) read.fail(ErrorCode.bad_request, 'a login has "token", or "nick" and "password", not both');
        return withId({ type, token: read.string('token') }, id);
      }
      return withId({ type, nick: read.nick('nick'), password: read.password('password') }, id);
    case 'logout': {
      const token = read.optionalString('token');
      return withId({ type, ...(token !== undefined && { token }) }, id);
    }
    case 'passwd':
      return withId({ type, old: read.password('old'), new: read.newPassword('new') }, id);
    case 'edit':
      return withId({ type, ...conversationOf(read), seq: read.count('seq'), text: read.text(limits) }, id);
    case 'delete':
      return withId({ type, ...conversationOf(read), seq: read.count('seq') }, id);
    case 'read':
      return withId({ type, ...conversationOf(read), seq: read.count('seq') }, id);
    case 'react': {
      const where = conversationOf(read);
      const seq = read.count('seq');
      const emoji = read.string('emoji');
      if (emoji.length === 0 || emoji.length > EMOJI_MAX_CHARS || NOT_IN_EMOJI.test(emoji)) {
        read.fail(ErrorCode.bad_request, `"emoji" must be 1 to ${EMOJI_MAX_CHARS} characters, with no spaces or control characters`);
      }
      return withId({ type, ...where, seq, emoji: emoji.normalize('NFC') }, id);
    }
    case 'unread':
      return withId({ type }, id);
    case 'post': {
      const me = read.optionalBoolean('me') === true ? { me: true } : {};
      return withId({ type, room: read.room(), text: read.text(limits), ...me }, id);
    }
    case 'search':
      return readSearch(read, id);
    default:
      return readModeration(read, type, id);
  }
}

/**
 * A room message, the one message of the hot path: its fields set one by one (in the order the spread form had),
 * no object made but the message. The checks and their order are those of every other type.
 */
function roomMsg(read: FieldReader, me: boolean | undefined, id: RequestId | undefined, limits: ParseLimits): ClientMessage {
  const room = read.room();
  const replyTo = read.optionalCount('reply_to');
  const message: Extract<ClientMessage, { type: 'msg'; room: string }> = { type: 'msg', room, text: read.text(limits) };
  if (me === true) message.me = true;
  if (replyTo !== undefined) message.reply_to = replyTo;
  if (id !== undefined) message.id = id;
  return message;
}

/** Where an edit, delete, react or read is: a room, or the private conversation `with` a nick (not both). */
function conversationOf(read: FieldReader): { room: string } | { with: string } {
  if (!read.has('with')) return { room: read.room() };
  if (read.has('room')) read.fail(ErrorCode.bad_request, 'name a "room" or a private conversation "with" a nick, not both');
  return { with: read.nick('with') };
}

/** Longest search text, in characters: a search costs per word. */
export const SEARCH_TEXT_MAX = 200;

function readPrivateHistory(read: FieldReader, id: RequestId | undefined): ClientMessage {
  if (read.has('room')) read.fail(ErrorCode.bad_request, 'a history has "room" or "with", not both');
  const peer = read.nick('with');
  const before = read.optionalCount('before');
  const since = read.optionalCount('since');
  if (before !== undefined && since !== undefined) read.fail(ErrorCode.bad_request, 'a history has "before" or "since", not both');
  const limit = read.optionalCount('limit');
  return withId(
    {
      type: 'history' as const,
      with: peer,
      ...(before !== undefined && { before }),
      ...(since !== undefined && { since }),
      ...(limit !== undefined && { limit }),
    },
    id,
  );
}

function readSearch(read: FieldReader, id: RequestId | undefined): ClientMessage {
  const text = read.string('text').normalize('NFC').trim();
  if (text.length === 0) read.fail(ErrorCode.bad_request, '"text" cannot be empty');
  if (text.length > SEARCH_TEXT_MAX) read.fail(ErrorCode.bad_request, `"text" is longer than ${SEARCH_TEXT_MAX} characters`);
  if (CONTROL_CHARACTERS.test(text)) read.fail(ErrorCode.bad_request, '"text" cannot contain control characters');
  const room = read.has('room') ? read.room() : undefined;
  const from = read.has('from') ? read.nick('from') : undefined;
  const limit = read.optionalCount('limit');
  return withId(
    {
      type: 'search' as const,
      text,
      ...(room !== undefined && { room }),
      ...(from !== undefined && { from }),
      ...(limit !== undefined && { limit }),
    },
    id,
  );
}
