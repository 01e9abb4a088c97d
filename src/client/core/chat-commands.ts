// The slash commands: one small handler each, routed from one table by the command's name. A handler that throws
// (a bad room name, a lost connection) has its error said in the buffer by ChatClient.submit.

import type { ServerMessage } from '../../protocol/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import { loginWithPassword, registerWithPassword, type AccountContext } from './account-actions.js';
import type { Request } from './connection.js';
import { emojify } from './emoji.js';
import type { FileActions } from './file-actions.js';
import { checkedNick, checkedRoom } from './names.js';
import { helpLines, type Command } from './parse-input.js';
import { privateKey, type ChatBuffer, type ClientState } from './state.js';
import { jump, search } from './search-actions.js';
import type { VoiceActions } from './voice/actions.js';

/** What the handlers need from the chat client. */
export interface CommandContext extends AccountContext {
  readonly state: ClientState;
  readonly files: FileActions;
  readonly voice: VoiceActions;
  /** A request for `buffer`: null after saying an error reply (or that we are not connected) there. */
  request(buffer: ChatBuffer, message: Request): Promise<ServerMessage | null>;
  /** Leave a room on the server, when connected. */
  leaveRoom(room: string): Promise<void>;
  quit(reason?: string): Promise<void>;
  /** /reconnect: try now instead of at the next back-off step. */
  reconnect(buffer: ChatBuffer): void;
  /** The login token kept for this server (by `chat login` or `chat register`), or null. */
  keptToken(): string | null;
}

type Handler<N extends Command['name']> = (
  context: CommandContext,
  buffer: ChatBuffer,
  command: Extract<Command, { name: N }>,
) => Promise<unknown> | unknown;

const HANDLERS: { [N in Command['name']]: Handler<N> } = {
  join, leave, msg, query, nick, me, who, rooms, buffer, send, files, get, clear, help, reconnect, login, register, quit,
  voice: ({ voice }, buffer) => voice.record(buffer),
  play: ({ voice }, buffer, command) => void voice.play(buffer, command.file), // plays beside the chat
  stop: ({ voice }, buffer) => voice.stop(buffer),
  search,
  jump,
};

export async function runCommand(context: CommandContext, buffer: ChatBuffer, command: Command): Promise<void> {
  await (HANDLERS[command.name] as Handler<Command['name']>)(context, buffer, command);
}

/** A message (or with `me`, an action) to this buffer's room or person; :shortcodes: become emoji. */
export async function say(context: CommandContext, buffer: ChatBuffer, raw: string, me: boolean): Promise<void> {
  const text = emojify(raw);
  const flag = me ? { me: true } : {};
  if (buffer.kind === 'room') await context.request(buffer, { type: 'msg', room: buffer.key, text, ...flag });
  else if (buffer.kind === 'private') await context.request(buffer, { type: 'msg', to: buffer.name, text, ...flag });
  else context.state.error(buffer, 'This is the server buffer: /join a room, or /msg NICK TEXT, to talk.');
}

async function join({ state, request }: CommandContext, buffer: ChatBuffer, command: { room: string }) {
  const key = checkedRoom(command.room);
  if (state.buffer(key)?.joined) state.switchTo(key);
  else if (await request(buffer, { type: 'join', room: key })) state.switchTo(key);
}

async function leave({ state, leaveRoom }: CommandContext, buffer: ChatBuffer, command: { target?: string }) {
  const target = command.target ? state.room(command.target) ?? state.buffer(privateKey(command.target)) : buffer;
  if (!target) state.error(buffer, `There is no buffer called ${command.target}.`);
  else if (target.kind === 'server') state.error(buffer, 'The server buffer stays open; /quit to leave chat.');
  else {
    if (target.kind === 'room' && target.joined) await leaveRoom(target.key);
    state.close(target.key);
  }
}

/** The private buffer is opened once the server took the message: a nick nobody has leaves no empty buffer. */
async function msg({ state, request }: CommandContext, buffer: ChatBuffer, command: { nick: string; text: string }) {
  const to = checkedNick(command.nick, 'nick to send to');
  if (await request(buffer, { type: 'msg', to, text: emojify(command.text) })) state.switchTo(state.openPrivate(to).key);
}

function query({ state }: CommandContext, _buffer: ChatBuffer, command: { nick: string }) {
  state.switchTo(state.openPrivate(command.nick).key);
}

async function nick({ state, request }: CommandContext, buffer: ChatBuffer, command: { nick: string }) {
  const reply = await request(buffer, { type: 'nick', nick: checkedNick(command.nick) });
  // In a room the server's `nick` event renames us; in none, nothing else will.
  if (reply && state.rooms().every((b) => !b.joined)) state.nick = command.nick;
}

function me(context: CommandContext, buffer: ChatBuffer, command: { text: string }) {
  return say(context, buffer, command.text, true);
}

async function who({ state, request }: CommandContext, buffer: ChatBuffer, command: { room?: string }) {
  const typed = command.room ?? (buffer.kind === 'room' ? buffer.key : undefined);
  if (!typed) {
    state.error(buffer, 'Usage: /who ROOM (or /who in a room buffer).');
    return;
  }
  const room = checkedRoom(typed);
  const reply = await request(buffer, { type: 'who', room });
  if (reply?.type !== 'members') return;
  const nicks = reply.nicks.map(sanitizeLine);
  state.info(buffer, nicks.length === 0 ? `Nobody is in ${room}.` : `In ${room} (${nicks.length}): ${nicks.join(', ')}`);
}

async function rooms({ state, request }: CommandContext, buffer: ChatBuffer) {
  const reply = await request(buffer, { type: 'rooms' });
  if (reply?.type !== 'rooms') return;
  if (reply.rooms.length === 0) state.info(buffer, 'No rooms are open on the server.');
  else state.info(buffer, `Rooms: ${reply.rooms.map((r) => `${sanitizeLine(r.room)} (${r.members})`).join(', ')}`);
}

function buffer({ state }: CommandContext, current: ChatBuffer, command: { number: number }) {
  const count = state.buffers.length;
  if (command.number >= 1 && command.number <= count) state.switchToNumber(command.number);
  else state.error(current, `There is no buffer ${command.number}: they are numbered 1 to ${count} in the status line.`);
}

function send({ files }: CommandContext, buffer: ChatBuffer, command: { path: string }) {
  files.send(buffer, command.path); // runs beside the chat; its end is said in the buffer
}

function files({ files }: CommandContext, buffer: ChatBuffer) {
  return files.list(buffer);
}

function get({ files }: CommandContext, buffer: ChatBuffer, command: { file: { number: number } | { id: string }; dir?: string }) {
  files.get(buffer, command.file, command.dir); // runs beside the chat; its end is said in the buffer
}

function clear({ state }: CommandContext, buffer: ChatBuffer) {
  state.clear(buffer);
}

function help({ state }: CommandContext, buffer: ChatBuffer) {
  for (const line of helpLines()) state.info(buffer, line);
}

function reconnect(context: CommandContext, buffer: ChatBuffer) {
  context.reconnect(buffer);
}

/** /login NICK asks the password; /login alone logs in with the token kept on disk (by `chat login`, `chat register` or /register). */
async function login(context: CommandContext, buffer: ChatBuffer, command: { nick?: string }) {
  if (command.nick !== undefined) return loginWithPassword(context, buffer, command.nick);
  const { state, request, keptToken } = context;
  const token = keptToken();
  if (!token) {
    state.info(buffer, 'No login token is kept for this server: /login NICK (or /register) asks your password.');
    return;
  }
  const reply = await request(buffer, { type: 'login', token });
  if (reply?.type !== 'ok' || !reply.account) return;
  state.nick = reply.account;
  state.info(buffer, `Logged in as ${sanitizeLine(reply.account)}.`);
}

function register(context: CommandContext, buffer: ChatBuffer, command: { nick?: string }) {
  return registerWithPassword(context, buffer, command.nick);
}

function quit(context: CommandContext, _buffer: ChatBuffer, command: { reason?: string }) {
  return context.quit(command.reason);
}
