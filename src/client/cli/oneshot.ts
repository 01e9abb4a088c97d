// One-shot commands for scripts: `chat send`, `chat rooms`, `chat who`. Connect, do one thing, say how it went.

import { t } from '../text/i18n/index.js';
import type { FileEvent, ServerMessage } from '../../protocol/index.js';
import { Connection } from '../core/connection.js';
import { logInWithToken } from '../core/handshake.js';
import { actAsUser } from '../core/act-as-user.js';
import { checkedNick, checkedRoom } from '../core/names.js';
import { expectReply } from '../core/replies.js';
import { ClientError } from '../core/errors.js';
import { emojify } from '../core/emoji.js';
import { userIdentity, type ConnectOptions } from './options.js';

/** Connect; `each` sees every message (the echo of a sent message arrives before its `ok`). */
function connect(options: ConnectOptions, each: (m: ServerMessage, line: string) => void = () => {}): Promise<Connection> {
  return Connection.connect(options.host, options.port, { message: each }, options.tls);
}

/** Connect and, with a kept login token, log in (a server with --accounts required answers nothing else). */
async function connectLoggedIn(options: ConnectOptions, each?: (m: ServerMessage, line: string) => void): Promise<Connection> {
  const conn = await connect(options, each);
  if (options.token) await logInWithToken(conn, options.token);
  return conn;
}

export interface SendTarget {
  room?: string;
  to?: string;
}

/**
 * Send one message as the user (core/act-as-user.ts): to a room with `post`, which needs no join, so the room sees
 * no join or leave line; resolves once the server has numbered it (a room) or taken it (a private message).
 */
export async function sendOnce(options: ConnectOptions, target: SendTarget, rawText: string): Promise<void> {
  const room = target.room !== undefined ? checkedRoom(target.room) : undefined;
  if (target.to !== undefined) checkedNick(target.to, 'nick to send to');
  checkedNick(options.nick, 'nick');
  const text = emojify(rawText);
  if (text.trim() === '') throw new ClientError('bad_config', t('cli.noText'));
  const conn = await connect(options);
  try {
    await actAsUser(conn, userIdentity(options));
    if (room !== undefined) {
      const reply = expectReply(await conn.request({ type: 'post', room, text }), 'ok');
      if (reply.seq === undefined) throw new ClientError('server_error', t('cli.notNumbered'));
    } else {
      expectReply(await conn.request({ type: 'msg', to: target.to!, text }), 'ok');
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
  const conn = await connectLoggedIn(options, (m, line) => {
    if (m.type === 'rooms') raw = line;
  });
  try {
    // The server answers in pages (a busy server has thousands of rooms): follow `next` to the end.
    const rooms: RoomsResult['rooms'] = [];
    let after: string | undefined;
    do {
      const reply = expectReply(await conn.request({ type: 'rooms', ...(after !== undefined && { after }) }), 'rooms');
      rooms.push(...reply.rooms);
      after = reply.next;
    } while (after !== undefined);
    return { rooms, line: raw };
  } finally {
    await conn.quit();
  }
}

export interface FilesResult {
  files: FileEvent[];
  /** The raw protocol line of the reply, for --json. */
  line: string;
}

/** The files shared in `room`, or (without a room) the private files this user may fetch. */
export async function listFiles(options: ConnectOptions, room: string | undefined): Promise<FilesResult> {
  const name = room === undefined ? undefined : checkedRoom(room);
  let raw = '';
  const conn = await connectLoggedIn(options, (m, line) => {
    if (m.type === 'files') raw = line;
  });
  try {
    const reply = expectReply(await conn.request({ type: 'files', ...(name !== undefined && { room: name }) }), 'files');
    return { files: reply.files, line: raw };
  } finally {
    await conn.quit();
  }
}

export async function whoIsIn(options: ConnectOptions, room: string): Promise<{ nicks: string[]; line: string }> {
  const name = checkedRoom(room);
  let raw = '';
  const conn = await connectLoggedIn(options, (m, line) => {
    if (m.type === 'members') raw = line;
  });
  try {
    const reply = expectReply(await conn.request({ type: 'who', room: name }), 'members');
    return { nicks: reply.nicks, line: raw };
  } finally {
    await conn.quit();
  }
}
