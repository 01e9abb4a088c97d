// /reply, /react, /edit and /delete (docs/protocol.md "Conversations", "Changes in private"): a message of a room
// or of a private conversation by its seq there (`#N` beside it in the log). Registered in chat-commands.ts's table.

import type { ServerMessage } from '../../protocol/index.js';
import type { Request } from './connection.js';
import { t } from '../text/i18n/index.js';
import { emojify } from './emoji.js';
import type { ChatBuffer, ClientState } from './state.js';

/** What these commands need of chat-commands.ts's CommandContext. */
interface CommandContext {
  readonly state: ClientState;
  request(buffer: ChatBuffer, message: Request): Promise<ServerMessage | null>;
}

/** True in a room or private buffer; else false, after saying where these work. */
function inRoomBuffer({ state }: CommandContext, buffer: ChatBuffer, name: string): boolean {
  if (buffer.kind !== 'server') return true;
  state.error(buffer, t('conversation.inRoomOnly', { command: name }));
  return false;
}

/** Where a request about one of the buffer's messages goes: its room, or the conversation with its person. */
function where(buffer: ChatBuffer): { room: string } | { with: string } {
  return buffer.kind === 'private' ? { with: buffer.name } : { room: buffer.key };
}

export async function reply(context: CommandContext, buffer: ChatBuffer, command: { seq: number; text: string }) {
  if (!inRoomBuffer(context, buffer, 'reply')) return;
  const to = buffer.kind === 'private' ? { to: buffer.name } : { room: buffer.key };
  await context.request(buffer, { type: 'msg', ...to, text: emojify(command.text), reply_to: command.seq });
}

/** `/react 12 👍` or `/react 12 :thumbsup:`: the same again takes it back. */
export async function react(context: CommandContext, buffer: ChatBuffer, command: { seq: number; emoji: string }) {
  if (!inRoomBuffer(context, buffer, 'react')) return;
  const emoji = emojify(command.emoji);
  if (/^:[^:\s]+:$/.test(emoji)) {
    context.state.error(buffer, t('conversation.noEmoji', { emoji }));
    return;
  }
  await context.request(buffer, { type: 'react', ...where(buffer), seq: command.seq, emoji });
}

export async function edit(context: CommandContext, buffer: ChatBuffer, command: { seq: number; text: string }) {
  if (inRoomBuffer(context, buffer, 'edit')) await context.request(buffer, { type: 'edit', ...where(buffer), seq: command.seq, text: emojify(command.text) });
}

export async function deleteMessage(context: CommandContext, buffer: ChatBuffer, command: { seq: number }) {
  if (inRoomBuffer(context, buffer, 'delete')) await context.request(buffer, { type: 'delete', ...where(buffer), seq: command.seq });
}
