// The client's state: buffers (the server buffer, rooms, private conversations), their logs, unread counts,
// mentions, members and scroll positions. Server events in, state out; no sockets and no blessed here.

import { roomAbove, trimScrollback } from './scrollback-bound.js';
import {
  canonicalRoom,
  nickKey,
  type FileEvent,
  type PrivateMsgEvent,
  type RoomMsgEvent,
  type RoomRecord,
  type ServerMessage,
} from '../../protocol/index.js';
import { sanitize, sanitizeLine } from '../text/sanitize.js';
import { describeBye, describeError, fileText, roomWelcome } from '../text/wording.js';
import { t } from '../text/i18n/index.js';
import { scrollBy, type Anchor, type Row } from './scrollback.js';
import { IgnoreList } from './ignore.js';
import { applyModeration } from './moderation-state.js';
import { invitationWords, leaveReason } from '../text/moderation-wording.js';
import { applyConversationEvent, conversationFields, type MessageChange } from './conversation-state.js';

export type BufferKind = 'server' | 'room' | 'private';
/** `queued`: a message typed while disconnected, waiting to be sent (removed when it is). */
export type EntryKind = 'msg' | 'action' | 'file' | 'join' | 'leave' | 'nick' | 'notice' | 'info' | 'error' | 'queued' | 'marker';

/** One line of a buffer's log. All text in it is already sanitized. */
export interface Entry {
  id: number;
  /** Milliseconds since the epoch. */
  ts: number;
  kind: EntryKind;
  text: string;
  from?: string;
  self?: boolean;
  mention?: boolean;
  history?: boolean;
  /**
   * A voice message (kind 'file'): drawn as `▶ 0:07 ▁▂▅▇▆▃▂▁`, played with /play N; with its number in a private
   * buffer (a room's is its seq, shown as every message's #N).
   */
  voice?: VoiceClip & { number?: number };
  /**
   * Its number in its room or private conversation, when it has one: shown as #N in rooms (/reply, /react, /edit
   * and /delete take it), where the log starts again once older entries are dropped (scrollback-bound.ts), and how
   * a search hit is found.
   */
  seq?: number;
  reply?: { seq: number; from: string; text: string };
  edited?: boolean;
  deleted?: boolean;
  reactions?: { emoji: string; count: number }[];
}

/** What a voice message carries besides the file: its length and the peak level (0-255) of each slice. */
export interface VoiceClip {
  durationMs: number;
  waveform: number[];
}

export interface SeenRecord {
  seq: number;
  ts: string;
  from: string;
}

export interface ChatBuffer {
  /** '*' for the server buffer, the canonical room name, or '@' + nick key for a private conversation. */
  key: string;
  kind: BufferKind;
  /** Room name or the other person's nick (sanitized for display). */
  name: string;
  entries: Entry[];
  unread: number;
  mentioned: boolean;
  members: string[];
  /** For rooms: whether we are (or, while disconnected, want to be) in it. */
  joined: boolean;
  /** The newest room message seen, so that a rejoin asks only for what was missed. */
  lastSeen: SeenRecord | null;
  /** The oldest room record in the log: scrolling above it asks the server for the page before it. */
  oldestSeq: number | null;
  /** False once the server said there is nothing older. */
  moreHistory: boolean;
  scroll: Anchor | null;
  /** Messages that arrived while the view was scrolled back. */
  newWhileScrolled: number;
  /**
   * The files shared here, by the number `/get N` and `/play N` take: in a room its seq (the #N of every message
   * there); in a private buffer 1, 2, ... in the order this client first saw them.
   */
  files: SharedFile[];
  /** The account's read marker in the room (conversation-state.ts); undefined for a guest, or until the join says it. */
  readMarker?: number;
}

/** A file shared in a buffer, with its number there. Names are as the server sent them (sanitize to show). */
export interface SharedFile {
  number: number;
  file: string;
  name: string;
  size: number;
  sha256: string;
  from: string;
  /** Milliseconds since the epoch. */
  ts: number;
  voice?: VoiceClip;
}

export const SERVER_KEY = '*';

export function privateKey(nick: string): string {
  return `@${nickKey(nick)}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `text` names `nick` as a whole word (case-insensitive). */
export function mentions(text: string, nick: string): boolean {
  if (!nick) return false;
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegExp(nick)}($|[^\\p{L}\\p{N}_])`, 'iu').test(text);
}

export interface ApplyResult {
  /** Ring the terminal bell: someone mentioned us or wrote to us privately. */
  bell: boolean;
}

export class ClientState {
  nick = '';
  /** The account this connection is logged in as (its read markers are kept by the server), or null for a guest. */
  account: string | null = null;
  readonly buffers: ChatBuffer[] = [];
  private activeKey = SERVER_KEY;
  private nextEntryId = 1;
  /** Called for every entry added, with its buffer (line mode prints them). */
  onEntry: ((buffer: ChatBuffer, entry: Entry) => void) | null = null;
  /** Called for every change to a message that changes what is shown of it (line mode says them). */
  onChange: ((buffer: ChatBuffer, change: MessageChange) => void) | null = null;
  /** Nicks whose messages are not shown (/ignore); the CLI gives it its file in the config dir. */
  ignore = new IgnoreList();
  /** Also called for every entry added (the logs, notifications). */
  readonly entryListeners = new Set<(buffer: ChatBuffer, entry: Entry) => void>();

  constructor(private readonly now: () => number = Date.now) {
    this.buffers.push(this.newBuffer(SERVER_KEY, 'server', t('buffer.server')));
  }

  private newBuffer(key: string, kind: BufferKind, name: string): ChatBuffer {
    return {
      key, kind, name, entries: [], unread: 0, mentioned: false, members: [], joined: false,
      lastSeen: null, oldestSeq: null, moreHistory: true, scroll: null, newWhileScrolled: 0, files: [],
    };
  }

  get active(): ChatBuffer {
    return this.buffer(this.activeKey) ?? this.buffers[0]!;
  }

  get serverBuffer(): ChatBuffer {
    return this.buffers[0]!;
  }

  buffer(key: string): ChatBuffer | undefined {
    return this.buffers.find((b) => b.key === key);
  }

  room(name: string): ChatBuffer | undefined {
    return this.buffer(canonicalRoom(name));
  }

  /** The private buffer with `nick`, if there is one. */
  privateWith(nick: string): ChatBuffer | undefined {
    return this.buffer(privateKey(nick));
  }

  rooms(): ChatBuffer[] {
    return this.buffers.filter((b) => b.kind === 'room');
  }

  openRoom(name: string): ChatBuffer {
    const key = canonicalRoom(name);
    return this.open(key, 'room', sanitizeLine(key));
  }

  openPrivate(nick: string): ChatBuffer {
    return this.open(privateKey(nick), 'private', sanitizeLine(nick));
  }

  /** The buffer with this key, made (at the end of the list) when there is none yet. */
  private open(key: string, kind: BufferKind, name: string): ChatBuffer {
    let buffer = this.buffer(key);
    if (!buffer) {
      buffer = this.newBuffer(key, kind, name);
      this.buffers.push(buffer);
    }
    return buffer;
  }

  close(key: string): void {
    const index = this.buffers.findIndex((b) => b.key === key);
    if (index <= 0) return;
    if (this.activeKey === key) this.activeKey = this.buffers[index - 1]!.key;
    this.buffers.splice(index, 1);
  }

  switchTo(key: string): void {
    const buffer = this.buffer(key);
    if (!buffer) return;
    this.activeKey = key;
    buffer.unread = 0;
    buffer.mentioned = false;
  }

  /** Alt+1..9: the nth buffer, counting from 1. */
  switchToNumber(n: number): void {
    const buffer = this.buffers[n - 1];
    if (buffer) this.switchTo(buffer.key);
  }

  /**
   * Alt+A: the next buffer (after the active one, round) with a mention, else the next with unread lines.
   * Returns false when no buffer has any.
   */
  switchToActivity(): boolean {
    const start = this.buffers.indexOf(this.active);
    const after = [...this.buffers.slice(start + 1), ...this.buffers.slice(0, start)];
    const next = after.find((b) => b.mentioned) ?? after.find((b) => b.unread > 0);
    if (next) this.switchTo(next.key);
    return next !== undefined;
  }

  /** Ctrl+N / Ctrl+P. */
  cycle(delta: number): void {
    const index = this.buffers.indexOf(this.active);
    const next = (index + delta + this.buffers.length) % this.buffers.length;
    this.switchTo(this.buffers[next]!.key);
  }

  add(buffer: ChatBuffer, fields: Omit<Entry, 'id' | 'ts'> & { ts?: number }): Entry {
    const entry: Entry = { ...fields, id: this.nextEntryId++, ts: fields.ts ?? this.now() };
    buffer.entries.push(entry);
    trimScrollback(buffer);
    const talk = entry.kind === 'msg' || entry.kind === 'action' || entry.kind === 'file';
    if (buffer !== this.active && talk && !entry.self) {
      buffer.unread++;
      if (entry.mention) buffer.mentioned = true;
    }
    if (buffer.scroll !== null && talk) buffer.newWhileScrolled++;
    this.onEntry?.(buffer, entry);
    for (const listener of this.entryListeners) listener(buffer, entry);
    return entry;
  }

  info(buffer: ChatBuffer, text: string): Entry {
    return this.add(buffer, { kind: 'info', text: sanitize(text) });
  }

  error(buffer: ChatBuffer, text: string): Entry {
    return this.add(buffer, { kind: 'error', text: sanitize(text) });
  }

  /** An entry changed (edited, deleted, reacted to): a new id, so that views lay it out again. */
  changeEntry(buffer: ChatBuffer, entry: Entry, changes: Partial<Entry>): Entry {
    const changed: Entry = { ...entry, ...changes, id: this.nextEntryId++ };
    const index = buffer.entries.indexOf(entry);
    if (index >= 0) buffer.entries[index] = changed;
    return changed;
  }

  /** An entry put before the `index`th (the unread marker line). */
  insertEntry(buffer: ChatBuffer, index: number, fields: Omit<Entry, 'id' | 'ts'> & { ts?: number }): Entry {
    const entry: Entry = { ...fields, id: this.nextEntryId++, ts: fields.ts ?? this.now() };
    buffer.entries.splice(index, 0, entry);
    return entry;
  }

  removeEntry(buffer: ChatBuffer, id: number): void {
    const index = buffer.entries.findIndex((e) => e.id === id);
    if (index >= 0) buffer.entries.splice(index, 1);
  }

  clear(buffer: ChatBuffer): void {
    buffer.entries = [];
    buffer.scroll = null;
    buffer.newWhileScrolled = 0;
  }

  /** PageUp/PageDown/wheel: `rows` is the buffer's log as currently laid out, `height` the lines on screen. */
  scroll(buffer: ChatBuffer, rows: readonly Row[], height: number, delta: number): void {
    buffer.scroll = scrollBy(rows, buffer.scroll, height, delta);
    if (buffer.scroll === null) buffer.newWhileScrolled = 0;
  }

  scrollToBottom(buffer: ChatBuffer): void {
    buffer.scroll = null;
    buffer.newWhileScrolled = 0;
  }

  private isMe(nick: string): boolean {
    return this.nick !== '' && nickKey(nick) === nickKey(this.nick);
  }

  /** Apply one server event. Replies to our own requests (errors with an id) are the requester's business. */
  apply(message: ServerMessage): ApplyResult {
    const moderation = applyModeration(this, message);
    if (moderation) return moderation;
    const ts = 'ts' in message && typeof message.ts === 'string' ? Date.parse(message.ts) || this.now() : this.now();
    switch (message.type) {
      case 'welcome':
        this.nick = message.nick;
        this.account = message.account ?? null;
        this.info(this.serverBuffer, t('event.welcome', { server: message.server, nick: message.nick }));
        if (message.motd) this.add(this.serverBuffer, { kind: 'notice', text: sanitize(message.motd) });
        return { bell: false };
      case 'join': {
        const me = this.isMe(message.nick);
        const buffer = me ? this.openRoom(message.room) : this.room(message.room);
        if (!buffer) return { bell: false };
        if (me) {
          buffer.joined = true;
          buffer.readMarker = undefined;
        }
        if (!buffer.members.some((m) => nickKey(m) === nickKey(message.nick))) buffer.members.push(message.nick);
        buffer.members.sort(byNick);
        const who = sanitizeLine(message.nick);
        const text = me ? t('event.joinedSelf', { room: buffer.name }) : t('event.joined', { nick: who, room: buffer.name });
        this.add(buffer, { kind: 'join', ts, from: message.nick, text });
        return { bell: false };
      }
      case 'leave': {
        const buffer = this.room(message.room);
        if (!buffer) return { bell: false };
        buffer.members = buffer.members.filter((m) => nickKey(m) !== nickKey(message.nick));
        const me = this.isMe(message.nick);
        if (me) buffer.joined = false;
        const reason = message.reason ? t('event.reason', { reason: leaveReason(message.reason) }) : '';
        const text = me
          ? t('event.leftSelf', { room: buffer.name, reason })
          : t('event.left', { nick: sanitizeLine(message.nick), room: buffer.name, reason });
        this.add(buffer, { kind: 'leave', ts, from: message.nick, text });
        return { bell: false };
      }
      case 'nick':
        return this.applyNick(message.old, message.nick, message.room, ts);
      case 'members': {
        const buffer = this.room(message.room);
        if (buffer && buffer.joined) buffer.members = [...message.nicks].sort(byNick);
        return { bell: false };
      }
      case 'msg':
        return 'room' in message ? this.applyRoomMsg(message, ts) : this.applyPrivateMsg(message, ts);
      case 'file':
        return this.applyFile(message, ts);
      case 'notice': {
        const buffer = (message.room !== undefined && this.room(message.room)) || this.serverBuffer;
        // The room's welcome banner and an operator's invitation are said in our words (and language).
        const welcome = buffer.kind === 'room' ? roomWelcome(buffer.name, message.text) : invitationWords(message.text);
        this.add(buffer, { kind: 'notice', text: welcome ?? sanitize(message.text) });
        return { bell: false };
      }
      case 'error':
        if (message.id === undefined) this.error(this.active, describeError(message));
        return { bell: false };
      case 'edit':
      case 'delete':
      case 'react':
      case 'read': {
        const change = applyConversationEvent(this, message, this.now());
        const buffer = change && ('room' in message ? this.room(message.room) : this.privateWith(message.with));
        if (buffer) this.onChange?.(buffer, change);
        return { bell: false };
      }
      case 'bye':
        this.info(this.serverBuffer, t('event.bye', { reason: describeBye(message) }));
        return { bell: false };
      default:
        return { bell: false };
    }
  }

  private applyNick(old: string, nick: string, room: string | undefined, ts: number): ApplyResult {
    const me = this.isMe(old);
    if (me) this.nick = nick;
    const text = me ? t('event.nickSelf', { nick: sanitizeLine(nick) }) : t('event.nick', { old: sanitizeLine(old), nick: sanitizeLine(nick) });
    const peer = this.buffer(privateKey(old));
    if (peer && !me && privateKey(old) !== privateKey(nick)) {
      peer.key = privateKey(nick);
      peer.name = sanitizeLine(nick);
      if (this.activeKey === privateKey(old)) this.activeKey = peer.key;
      this.add(peer, { kind: 'nick', ts, text });
    }
    const buffer = room === undefined ? (me ? this.active : undefined) : this.room(room);
    if (!buffer) return { bell: false };
    buffer.members = buffer.members.map((m) => (nickKey(m) === nickKey(old) ? nick : m)).sort(byNick);
    this.add(buffer, { kind: 'nick', ts, text });
    return { bell: false };
  }

  private applyRoomMsg(message: RoomMsgEvent, ts: number): ApplyResult {
    const buffer = this.room(message.room);
    if (!buffer) return { bell: false };
    const last = buffer.lastSeen?.seq ?? 0;
    // History at or below what we have seen is a repeat. A live message at or below it means the room's numbering
    // started again (the server restarted): keep it.
    if (message.history && message.seq <= last) return { bell: false };
    buffer.lastSeen = { seq: message.seq, ts: message.ts, from: message.from };
    if (buffer.oldestSeq === null) buffer.oldestSeq = message.seq;
    const self = this.isMe(message.from);
    const text = sanitize(message.text);
    const mention = !self && mentions(text, this.nick);
    this.add(buffer, {
      kind: message.me ? 'action' : 'msg', ts, from: message.from, text, self, mention,
      ...(message.history ? { history: true } : {}),
      ...conversationFields(message),
    });
    return { bell: mention && !message.history };
  }

  /** A shared file: in a room it is numbered like a message (and comes again in history), privately it is not. */
  private applyFile(message: FileEvent, ts: number): ApplyResult {
    const self = this.isMe(message.from);
    if (message.room === undefined) {
      const buffer = this.openPrivate(self ? message.to ?? message.from : message.from);
      const shared = this.noteFile(buffer, message);
      this.add(buffer, { kind: 'file', ts, from: message.from, text: fileText(shared), self, mention: !self, ...voiceOf(shared, true) });
      return { bell: !self };
    }
    const buffer = this.room(message.room);
    if (!buffer || message.seq === undefined) return { bell: false };
    if (message.history && message.seq <= (buffer.lastSeen?.seq ?? 0)) return { bell: false };
    buffer.lastSeen = { seq: message.seq, ts: message.ts, from: message.from };
    if (buffer.oldestSeq === null) buffer.oldestSeq = message.seq;
    const shared = this.noteFile(buffer, message);
    this.add(buffer, { kind: 'file', ts, from: message.from, text: fileText(shared, true), self, ...voiceOf(shared, false), ...(message.history ? { history: true } : {}), ...conversationFields(message as RoomRecord) });
    return { bell: false };
  }

  /**
   * A private message: numbered in its conversation, so one that came before (missed messages come to each login
   * for a while, and a resume may overlap) is not shown twice. Missed ones are said to be so, once per batch.
   */
  private applyPrivateMsg(message: PrivateMsgEvent, ts: number): ApplyResult {
    const { from, to, seq } = message;
    const self = this.isMe(from);
    const buffer = this.openPrivate(self ? to : from);
    const old = message.missed || message.history;
    if (seq !== undefined) {
      if (old && seq <= (buffer.lastSeen?.seq ?? 0)) return { bell: false };
      if (seq > (buffer.lastSeen?.seq ?? 0)) buffer.lastSeen = { seq, ts: message.ts, from };
      if (buffer.oldestSeq === null || seq < buffer.oldestSeq) buffer.oldestSeq = seq;
    }
    if (message.missed && !this.missedSaid.has(buffer)) {
      this.missedSaid.add(buffer);
      this.info(buffer, t('private.missed'));
    } else if (!message.missed) this.missedSaid.delete(buffer);
    const kind = message.me ? 'action' : 'msg';
    const fields = seq !== undefined ? conversationFields({ ...message, seq }) : {};
    this.add(buffer, { kind, ts, from, text: sanitize(message.text), self, mention: !self && !old, seq, ...(old ? { history: true } : {}), ...fields });
    return { bell: !self && !message.history };
  }

  /** Private buffers whose last message so far was a missed one (the next missed one needs no heading). */
  private readonly missedSaid = new WeakSet<ChatBuffer>();

  /** A page of older history (`history` reply), put above what the log already has. */
  prependHistory(buffer: ChatBuffer, records: readonly RoomRecord[], more: boolean): number {
    const oldest = buffer.oldestSeq ?? Infinity;
    const older = records.filter((r) => r.seq < oldest).sort((a, b) => a.seq - b.seq);
    const room = roomAbove(buffer);
    const page = older.slice(Math.max(0, older.length - room));
    const entries: Entry[] = page.map((r) => {
      const self = this.isMe(r.from);
      const ts = Date.parse(r.ts) || this.now();
      if (r.type === 'file') {
        const shared = this.noteFile(buffer, r);
        return { id: this.nextEntryId++, ts, kind: 'file', from: r.from, text: fileText(shared, true), self, history: true, ...voiceOf(shared, false), ...conversationFields(r) };
      }
      const text = sanitize(r.text);
      const mention = !self && mentions(text, this.nick);
      return { id: this.nextEntryId++, ts, kind: r.me ? 'action' : 'msg', from: r.from, text, self, mention, history: true, ...conversationFields(r) };
    });
    buffer.entries.unshift(...entries);
    if (page.length > 0) buffer.oldestSeq = page[0]!.seq;
    buffer.moreHistory = more && page.length === older.length && page.length > 0;
    if (buffer.lastSeen === null && page.length > 0) {
      const last = page[page.length - 1]!;
      buffer.lastSeen = { seq: last.seq, ts: last.ts, from: last.from };
    }
    return entries.length;
  }

  /** A file seen in `buffer` (announced, in history, or in a `files` list): its number there, given on first sight. */
  noteFile(
    buffer: ChatBuffer,
    file: Pick<FileEvent, 'file' | 'name' | 'size' | 'sha256' | 'from' | 'ts' | 'kind' | 'duration_ms' | 'waveform' | 'seq'>,
  ): SharedFile {
    const known = buffer.files.find((f) => f.file === file.file);
    if (known) return known;
    // A room numbers its files as its messages; a private buffer counts them itself.
    const number = buffer.kind === 'room' && file.seq !== undefined ? file.seq : buffer.files.length + 1;
    const voice = file.kind === 'voice' && file.duration_ms !== undefined && file.waveform !== undefined
      ? { voice: { durationMs: file.duration_ms, waveform: file.waveform } }
      : {};
    const shared: SharedFile = {
      number, file: file.file, name: file.name, size: file.size, sha256: file.sha256,
      from: file.from, ts: Date.parse(file.ts) || this.now(), ...voice,
    };
    buffer.files.push(shared);
    return shared;
  }

  /** `/get N` or `/get ID`: a file of this buffer by its number, or by its id (or the start of it). */
  findFile(buffer: ChatBuffer, ref: { number: number } | { id: string }): SharedFile | undefined {
    if ('number' in ref) return buffer.files.find((f) => f.number === ref.number);
    const exact = buffer.files.find((f) => f.file === ref.id);
    if (exact) return exact;
    const starting = buffer.files.filter((f) => ref.id.length >= 4 && f.file.startsWith(ref.id));
    return starting.length === 1 ? starting[0] : undefined;
  }

  /** Before a rejoin: forget the room's numbering when the server no longer has the message we saw last. */
  resetSeen(buffer: ChatBuffer): void {
    buffer.lastSeen = null;
    // Older pages would be counted in the new numbering and repeat what the log shows.
    buffer.oldestSeq = null;
    buffer.moreHistory = false;
  }
}

/** The voice fields of a file's entry, when it is a voice message; `numbered` when the entry shows no #seq of its own. */
function voiceOf(shared: SharedFile, numbered: boolean): { voice?: VoiceClip & { number?: number } } {
  return shared.voice ? { voice: { ...shared.voice, ...(numbered && { number: shared.number }) } } : {};
}

function byNick(a: string, b: string): number {
  return nickKey(a) < nickKey(b) ? -1 : nickKey(a) > nickKey(b) ? 1 : 0;
}
