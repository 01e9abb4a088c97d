// One-shot commands for scripts: `chat send`, `chat rooms`, `chat who`. Connect, do one thing, say how it went.

import { canonicalRoom, nickKey, nickProblem, roomProblem, type ServerMessage } from '../../protocol/index.js';
import { suggestedNick } from '../core/client.js';
import { Connection } from '../core/connection.js';
import { ClientError } from '../core/errors.js';
import { emojify } from '../core/emoji.js';
import type { ConnectOptions } from './options.js';
import { describeError } from '../text/wording.js';
import { sanitizeLine } from '../text/sanitize.js';

function checkRoom(room: string): string {
  const problem = roomProblem(room);
  if (problem) throw new ClientError('bad_room', `bad room name ${JSON.stringify(sanitizeLine(room))}: ${problem}`);
  return canonicalRoom(room);
}

function checkNick(nick: string, what: string): void {
  const problem = nickProblem(nick);
  if (problem) throw new ClientError('bad_nick', `bad ${what} ${JSON.stringify(sanitizeLine(nick))}: ${problem}`);
}

function fail(reply: ServerMessage): never {
  if (reply.type !== 'error') throw new ClientError('server_error', `unexpected reply from the server: ${reply.type}`);
  const code = reply.code === 'nick_taken' ? 'nick_taken' : reply.code === 'bad_room' ? 'bad_room' : reply.code === 'bad_nick' ? 'bad_nick' : 'server_error';
  throw new ClientError(code, describeError(reply));
}

/** Connect; `each` sees every message (the echo of a sent message arrives before its `ok`). */
async function connect(options: ConnectOptions, each: (m: ServerMessage, line: string) => void = () => {}): Promise<Connection> {
  return Connection.connect(options.host, options.port, { message: each, close: () => {} });
}

/** Say hello. A nick that was only defaulted to the login name and is taken (by the user's own chat window,
 * most likely) gives way to the server's suggestion; a chosen one fails with nick_taken. */
async function hello(conn: Connection, options: ConnectOptions): Promise<string> {
  let nick = options.nick;
  for (let tries = 0; ; tries++) {
    const reply = await conn.request({ type: 'hello', nick });
    if (reply.type === 'welcome') return reply.nick;
    if (reply.type === 'error' && reply.code === 'nick_taken') {
      if (!options.nickChosen && tries < 5) {
        nick = suggestedNick(reply.message, nick);
        continue;
      }
      throw new ClientError(
        'nick_taken',
        `the nick ${nick} is taken (by another client of yours?); choose another with --nick NAME or CHAT_NICK`,
      );
    }
    fail(reply);
  }
}

export interface SendTarget {
  room?: string;
  to?: string;
}

/** Send one message; resolves once the server has echoed it back. */
export async function sendOnce(options: ConnectOptions, target: SendTarget, rawText: string): Promise<void> {
  const room = target.room !== undefined ? checkRoom(target.room) : undefined;
  if (target.to !== undefined) checkNick(target.to, 'nick to send to');
  checkNick(options.nick, 'nick');
  const text = emojify(rawText);
  if (text.trim() === '') throw new ClientError('bad_config', 'there is no text to send');
  let me = '';
  const echoed = new Set<number | string>();
  let echoedPrivate = false;
  const conn = await connect(options, (m) => {
    if (m.type !== 'msg' || nickKey(m.from) !== nickKey(me)) return;
    if ('room' in m && m.room === room) echoed.add(m.seq);
    if ('to' in m && target.to !== undefined && nickKey(m.to) === nickKey(target.to)) echoedPrivate = true;
  });
  try {
    me = await hello(conn, options);
    if (room !== undefined) {
      const joined = await conn.request({ type: 'join', room });
      if (joined.type !== 'members') fail(joined);
      const reply = await conn.request({ type: 'msg', room, text });
      if (reply.type !== 'ok') fail(reply);
      if (reply.seq === undefined || !echoed.has(reply.seq)) {
        throw new ClientError('server_error', 'the server accepted the message but did not echo it');
      }
    } else {
      const reply = await conn.request({ type: 'msg', to: target.to!, text });
      if (reply.type !== 'ok') fail(reply);
      if (!echoedPrivate) throw new ClientError('server_error', 'the server accepted the message but did not echo it');
    }
  } finally {
    await conn.quit();
  }
}

export interface RoomsResult {
  rooms: { room: string; members: number }[];
  line: string;
}

export async function listRooms(options: ConnectOptions): Promise<RoomsResult> {
  let raw = '';
  const conn = await connect(options, (m, line) => {
    if (m.type === 'rooms') raw = line;
  });
  try {
    const reply = await conn.request({ type: 'rooms' });
    if (reply.type !== 'rooms') fail(reply);
    return { rooms: reply.rooms, line: raw };
  } finally {
    await conn.quit();
  }
}

export async function whoIsIn(options: ConnectOptions, room: string): Promise<{ nicks: string[]; line: string }> {
  const name = checkRoom(room);
  let raw = '';
  const conn = await connect(options, (m, line) => {
    if (m.type === 'members') raw = line;
  });
  try {
    const reply = await conn.request({ type: 'who', room: name });
    if (reply.type !== 'members') fail(reply);
    return { nicks: reply.nicks, line: raw };
  } finally {
    await conn.quit();
  }
}
