// What the user typed, parsed: a message to send or one of the slash commands. Pure.

import { hasMessage, t } from '../text/i18n/index.js';
import { roomProblem } from '../../protocol/index.js';
import { problemWords } from '../text/problem-wording.js';
import { sanitizeLine } from '../text/sanitize.js';
import { MODERATION_COMMANDS, parseModerationCommand, type ModerationCommand } from './moderation-commands.js';

export type Command =
  | { name: 'join'; room: string; key?: string }
  | { name: 'leave'; target?: string }
  | { name: 'msg'; nick: string; text: string }
  | { name: 'query'; nick: string }
  | { name: 'nick'; nick: string }
  | { name: 'me'; text: string }
  | { name: 'who'; room?: string }
  | { name: 'rooms' }
  | { name: 'buffer'; number: number }
  | { name: 'clear' }
  | { name: 'send'; path: string }
  | { name: 'files' }
  | { name: 'get'; file: { number: number } | { id: string }; dir?: string }
  | { name: 'voice' }
  | { name: 'play'; file?: { number: number } | { id: string } }
  | { name: 'stop' }
  | { name: 'help' }
  | { name: 'reconnect' }
  | { name: 'login'; nick?: string }
  | { name: 'register'; nick?: string }
  | { name: 'quit'; reason?: string }
  | ModerationCommand
  | { name: 'reply'; seq: number; text: string }
  | { name: 'react'; seq: number; emoji: string }
  | { name: 'edit'; seq: number; text: string }
  | { name: 'delete'; seq: number }
  | { name: 'notify'; level?: 'all' | 'mentions' | 'off' }
  | { name: 'search'; words: string; room?: string; from?: string }
  | { name: 'jump'; number: number };

export type ParsedInput =
  | { kind: 'empty' }
  | { kind: 'text'; text: string }
  | { kind: 'command'; command: Command }
  | { kind: 'error'; message: string };

export interface CommandHelp {
  name: string;
  usage: string;
  help: string;
}

export const COMMANDS: readonly CommandHelp[] = [
  { name: 'join', usage: '/join ROOM [+k KEY]', help: 'join a room (or switch to it) in a new buffer' },
  { name: 'leave', usage: '/leave [ROOM]', help: 'leave this room, or close this private conversation' },
  { name: 'msg', usage: '/msg NICK TEXT', help: 'send a private message; opens a private buffer' },
  { name: 'query', usage: '/query NICK', help: 'open a private buffer with NICK' },
  { name: 'nick', usage: '/nick NAME', help: 'change your nick' },
  { name: 'me', usage: '/me TEXT', help: 'an action: "* alice waves"' },
  { name: 'who', usage: '/who [ROOM]', help: "list a room's members" },
  { name: 'rooms', usage: '/rooms', help: 'list the rooms on the server' },
  { name: 'send', usage: '/send PATH', help: 'share a file here (a room, or the person of a private buffer)' },
  { name: 'files', usage: '/files', help: 'list the files shared here, with their numbers' },
  { name: 'get', usage: '/get N|ID [DIR]', help: 'download file N (or by id) into DIR, ~/Downloads or .' },
  { name: 'voice', usage: '/voice', help: 'record a voice message here: Enter stops and sends it, Escape cancels' },
  { name: 'play', usage: '/play [N|ID]', help: 'play voice message N (or by id), or the latest one here' },
  { name: 'stop', usage: '/stop', help: 'stop playing' },
  { name: 'buffer', usage: '/buffer N', help: 'show buffer N (the number in the status line); /b N' },
  { name: 'clear', usage: '/clear', help: 'clear this buffer' },
  { name: 'help', usage: '/help', help: 'this help' },
  { name: 'reconnect', usage: '/reconnect', help: 'while disconnected: try to connect now' },
  { name: 'login', usage: '/login [NICK]', help: 'log in as NICK (the password is asked, not shown), or with the kept token' },
  { name: 'register', usage: '/register [NICK]', help: 'register your nick (or NICK) and log in: the password is asked twice, not shown' },
  { name: 'quit', usage: '/quit [REASON]', help: 'leave chat' },
  ...MODERATION_COMMANDS,
  { name: 'reply', usage: '/reply N TEXT', help: 'reply to message #N of this room or private conversation, quoting its first line' },
  { name: 'react', usage: '/react N EMOJI', help: 'add (or take back) a reaction to message #N: 👍 or :thumbsup:' },
  { name: 'edit', usage: '/edit N TEXT', help: 'change your message #N' },
  { name: 'delete', usage: '/delete N', help: 'delete your message #N' },
  { name: 'notify', usage: '/notify [all|mentions|off]', help: 'notifications for this buffer: every message, mentions (and private messages), or none' },
  { name: 'search', usage: '/search WORDS [in:ROOM] [from:NICK]', help: 'search the rooms and your private messages, newest first' },
  { name: 'jump', usage: '/jump N', help: 'show search hit N in its log' },
];

/** A command's help in the interface's language (the catalogue's `help.NAME`, else the English above). */
export function commandHelp(command: CommandHelp): string {
  const key = `help.${command.name}`;
  return hasMessage(key) ? t(key as 'help.join') : command.help;
}

const ALIASES: Record<string, Command['name']> = {
  j: 'join',
  b: 'buffer',
  part: 'leave',
  close: 'leave',
  q: 'query',
  exit: 'quit',
  names: 'who',
  list: 'rooms',
  action: 'me',
  upload: 'send',
  download: 'get',
};

/** A path as typed: surrounding quotes removed (a path may contain spaces). */
function unquote(text: string): string {
  const m = /^(["'])([\s\S]*)\1$/.exec(text);
  return m ? m[2]! : text;
}

function usage(name: string): ParsedInput {
  const command = COMMANDS.find((c) => c.name === name)!;
  return { kind: 'error', message: t('command.usage', { usage: command.usage, help: commandHelp(command) }) };
}

/** `@bob`, as private buffers are written, is bob. */
function withoutAt(nick: string): string {
  return nick.startsWith('@') ? nick.slice(1) : nick;
}

/** A room name typed with spaces in it: what is wrong with it, then how /join is used. */
function badRoom(typed: string): ParsedInput {
  const found = roomProblem(typed);
  const problem = found ? problemWords(found) : t('command.roomOneWord');
  return { kind: 'error', message: t('command.badRoom', { name: JSON.stringify(sanitizeLine(typed)), problem }) };
}

/** `2`, `#2` or an id: a file by its number in the buffer, or by its id. */
function fileRef(typed: string): { number: number } | { id: string } {
  const ref = typed.replace(/^#/, '');
  // A file number is short; an id is 22 characters (and could, rarely, be all digits).
  return /^\d{1,9}$/.test(ref) ? { number: Number(ref) } : { id: ref };
}

/** `/reply N TEXT`, `/edit N TEXT`, `/react N EMOJI`, `/delete N`: N may be written #N. Null when malformed. */
function conversationCommand(name: 'reply' | 'edit' | 'react' | 'delete', rest: string): ParsedInput | null {
  const m = /^#?(\d{1,15})(?:\s+([\s\S]*\S))?\s*$/.exec(rest.trim());
  if (!m) return null;
  const seq = Number(m[1]);
  const text = m[2];
  if (name === 'delete') return text === undefined ? { kind: 'command', command: { name, seq } } : null;
  if (text === undefined) return null;
  if (name === 'react') return /\s/.test(text) ? null : { kind: 'command', command: { name, seq, emoji: text } };
  return { kind: 'command', command: { name, seq, text } };
}

/** Parse one submitted input. `//text` sends `/text` literally. A multi-line paste is always text. */
export function parseInput(input: string): ParsedInput {
  if (input.trim() === '') return { kind: 'empty' };
  if (!input.startsWith('/') || input.includes('\n')) return { kind: 'text', text: input };
  if (input.startsWith('//')) return { kind: 'text', text: input.slice(1) };
  const match = /^\/(\S+)\s*([\s\S]*)$/.exec(input)!;
  const word = match[1]!.toLowerCase();
  const rest = match[2]!;
  const name = ALIASES[word] ?? word;
  const args = rest.trim() === '' ? [] : rest.trim().split(/\s+/);
  switch (name) {
    case 'join':
      if (args.length === 1) return { kind: 'command', command: { name, room: args[0]!.replace(/^#/, '') } };
      // A room with a key (+k), written as /mode sets it.
      if (args.length === 3 && args[1] === '+k') return { kind: 'command', command: { name, room: args[0]!.replace(/^#/, ''), key: args[2]! } };
      return args.length === 0 ? usage(name) : badRoom(rest.trim());
    case 'leave':
      return { kind: 'command', command: args[0] ? { name, target: args[0].replace(/^#/, '') } : { name } };
    case 'msg': {
      const m = /^(\S+)\s+([\s\S]*\S[\s\S]*)$/.exec(rest.trim());
      return m ? { kind: 'command', command: { name, nick: withoutAt(m[1]!), text: m[2]! } } : usage(name);
    }
    case 'query':
      return args.length === 1 ? { kind: 'command', command: { name, nick: withoutAt(args[0]!) } } : usage(name);
    case 'nick':
      return args.length === 1 ? { kind: 'command', command: { name, nick: args[0]! } } : usage(name);
    case 'me':
      return rest.trim() ? { kind: 'command', command: { name, text: rest.trim() } } : usage(name);
    case 'who':
      return { kind: 'command', command: args[0] ? { name, room: args[0].replace(/^#/, '') } : { name } };
    case 'send':
      return rest.trim() ? { kind: 'command', command: { name, path: unquote(rest.trim()) } } : usage(name);
    case 'get': {
      const m = /^(\S+)(?:\s+([\s\S]*\S))?\s*$/.exec(rest.trim());
      if (!m) return usage(name);
      const file = fileRef(m[1]!);
      return { kind: 'command', command: m[2] ? { name, file, dir: unquote(m[2]) } : { name, file } };
    }
    case 'play':
      if (args.length > 1) return usage(name);
      return { kind: 'command', command: args[0] ? { name, file: fileRef(args[0]) } : { name } };
    case 'buffer':
      return args.length === 1 && /^\d{1,4}$/.test(args[0]!) ? { kind: 'command', command: { name, number: Number(args[0]) } } : usage(name);
    case 'rooms':
    case 'files':
    case 'clear':
    case 'help':
    case 'reconnect':
    case 'voice':
    case 'stop':
      return { kind: 'command', command: { name } };
    case 'login':
    case 'register':
      if (args.length > 1) return usage(name);
      return { kind: 'command', command: args[0] ? { name, nick: args[0] } : { name } };
    case 'quit':
      return { kind: 'command', command: rest.trim() ? { name, reason: rest.trim() } : { name } };
    case 'reply':
    case 'edit':
    case 'react':
    case 'delete':
      return conversationCommand(name, rest) ?? usage(name);
    case 'notify': {
      const level = args[0]?.toLowerCase();
      if (args.length === 0) return { kind: 'command', command: { name } };
      return args.length === 1 && (level === 'all' || level === 'mentions' || level === 'off') ? { kind: 'command', command: { name, level } } : usage(name);
    }
    case 'search':
      return parseSearch(args) ?? usage(name);
    case 'jump':
      return args.length === 1 && /^#?\d{1,4}$/.test(args[0]!) ? { kind: 'command', command: { name, number: Number(args[0]!.replace('#', '')) } } : usage(name);
    default:
      return parseModerationCommand(name, rest) ?? { kind: 'error', message: t('command.unknown', { word }) };
  }
}

/** `/search WORDS [in:ROOM] [from:NICK]`: the filters anywhere among the words. */
function parseSearch(args: string[]): ParsedInput | null {
  const words: string[] = [];
  let room: string | undefined;
  let from: string | undefined;
  for (const arg of args) {
    const filter = /^(in|from):(.+)$/i.exec(arg);
    if (filter && filter[1]!.toLowerCase() === 'in') room = filter[2]!.replace(/^#/, '');
    else if (filter) from = withoutAt(filter[2]!);
    else words.push(arg);
  }
  if (words.length === 0) return null;
  const filters = { ...(room !== undefined && { room }), ...(from !== undefined && { from }) };
  return { kind: 'command', command: { name: 'search', words: words.join(' '), ...filters } };
}

/** Help text, one line per command. */
export function helpLines(): string[] {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    t('help.title'),
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${commandHelp(c)}`),
    t('help.keys1'),
    t('help.keys2'),
    t('help.keys3'),
    t('help.keys4'),
  ];
}
