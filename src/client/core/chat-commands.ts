// The slash commands: one small handler each, routed from one table by the command's name. A handler that throws
// (a bad room name, a lost connection) has its error said in the buffer by ChatClient.submit.

import { t } from '../text/i18n/index.js';
import type { ServerMessage } from '../../protocol/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import { loginWithPassword, registerWithPassword, type AccountContext } from './account-actions.js';
import type { Request } from './connection.js';
import { emojify } from './emoji.js';
import { deleteMessage, edit, react, reply } from './conversation-commands.js';
import type { FileActions } from './file-actions.js';
import { checkedNick, checkedRoom } from './names.js';
import { MODERATION_HANDLERS } from './moderation-commands.js';
import { marksOf } from './moderation-state.js';
import { helpLines, type Command } from './parse-input.js';
import { privateKey, type ChatBuffer, type ClientState } from './state.js';
import { jump, search } from './search-actions.js';
import type { VoiceActions } from './voice/actions.js';
import type { NotifyLevel, NotifyLevels } from './notify.js';

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
  /** The /notify level of each buffer. */
  notifyLevels(): NotifyLevels;
}

type Handler<N extends Command['name']> = (
  context: CommandContext,
  buffer: ChatBuffer,
  command: Extract<Command, { name: N }>,
) => Promise<unknown> | unknown;

const HANDLERS: { [N in Command['name']]: Handler<N> } = {
  join, leave, msg, query, nick, me, who, rooms, buffer, send, files, get, clear, help, reconnect, login, register, quit, notify,
  voice: ({ voice }, buffer) => voice.record(buffer),
  play: ({ voice }, buffer, command) => void voice.play(buffer, command.file), // plays beside the chat
  stop: ({ voice }, buffer) => voice.stop(buffer),
  ...MODERATION_HANDLERS,
  reply, react, edit, delete: deleteMessage,
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
  else context.state.error(buffer, t('cmd.serverBuffer'));
}

async function join({ state, request }: CommandContext, buffer: ChatBuffer, command: { room: string; key?: string }) {
  const key = checkedRoom(command.room);
  if (state.buffer(key)?.joined) state.switchTo(key);
  else if (await request(buffer, { type: 'join', room: key, ...(command.key !== undefined && { key: command.key }) })) {
    if (command.key !== undefined) marksOf(state.buffer(key)!).key = command.key;
    state.switchTo(key);
  }
}

async function leave({ state, leaveRoom }: CommandContext, buffer: ChatBuffer, command: { target?: string }) {
  const target = command.target ? state.room(command.target) ?? state.buffer(privateKey(command.target)) : buffer;
  if (!target) state.error(buffer, t('cmd.noSuchBuffer', { name: command.target ?? '' }));
  else if (target.kind === 'server') state.error(buffer, t('cmd.serverBufferStays'));
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
    state.error(buffer, t('cmd.whoUsage'));
    return;
  }
  const room = checkedRoom(typed);
  const reply = await request(buffer, { type: 'who', room });
  if (reply?.type !== 'members') return;
  const ops = new Set(reply.ops ?? []);
  const away = new Set(reply.away ?? []);
  const nicks = reply.nicks.map((nick) => `${ops.has(nick) ? '@' : ''}${sanitizeLine(nick)}${away.has(nick) ? ' (away)' : ''}`);
  state.info(buffer, nicks.length === 0 ? t('cmd.nobodyIn', { room }) : t('cmd.membersIn', { room, count: nicks.length, nicks: nicks.join(', ') }));
}

async function rooms({ state, request }: CommandContext, buffer: ChatBuffer) {
  const reply = await request(buffer, { type: 'rooms' });
  if (reply?.type !== 'rooms') return;
  if (reply.rooms.length === 0) state.info(buffer, t('cmd.noRooms'));
  else state.info(buffer, t('cmd.rooms', { rooms: reply.rooms.map((r) => `${sanitizeLine(r.room)} (${r.members})`).join(', ') }));
}

function buffer({ state }: CommandContext, current: ChatBuffer, command: { number: number }) {
  const count = state.buffers.length;
  if (command.number >= 1 && command.number <= count) state.switchToNumber(command.number);
  else state.error(current, t('cmd.noBufferNumber', { number: command.number, count }));
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
    state.info(buffer, t('cmd.noKeptToken'));
    return;
  }
  const reply = await request(buffer, { type: 'login', token });
  if (reply?.type !== 'ok' || !reply.account) return;
  state.nick = reply.account;
  state.info(buffer, t('cmd.loggedIn', { nick: sanitizeLine(reply.account) }));
}

function register(context: CommandContext, buffer: ChatBuffer, command: { nick?: string }) {
  return registerWithPassword(context, buffer, command.nick);
}

function quit(context: CommandContext, _buffer: ChatBuffer, command: { reason?: string }) {
  return context.quit(command.reason);
}

/** /notify [all|mentions|off]: say or set this buffer's level (kept for the next session). */
function notify({ state, notifyLevels: levels }: CommandContext, buffer: ChatBuffer, command: { level?: NotifyLevel }) {
  const notifyLevels = levels();
  const name = buffer.kind === 'private' ? `@${buffer.name}` : buffer.name;
  if (command.level === undefined) {
    state.info(buffer, t('cmd.notifyIs', { buffer: name, level: t(`notify.${notifyLevels.level(buffer.key)}`) }));
    return;
  }
  notifyLevels.set(buffer.key, command.level); // a file that cannot be written is said by submit()
  state.info(buffer, t('cmd.notifySet', { buffer: name, level: t(`notify.${command.level}`) }));
}
