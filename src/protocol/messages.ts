// The wire contract, version 1 (docs/protocol.md). Pure types and constants: no I/O.

import { ModerationType, type ModerationEventMessage, type ModerationRequest } from './moderation.js';

export const PROTOCOL_VERSION = 1;

/** Every `type` a client may send. */
export const ClientType = {
  hello: 'hello',
  join: 'join',
  leave: 'leave',
  msg: 'msg',
  nick: 'nick',
  who: 'who',
  rooms: 'rooms',
  history: 'history',
  ping: 'ping',
  pong: 'pong',
  quit: 'quit',
  upload: 'upload',
  upload_status: 'upload_status',
  download: 'download',
  files: 'files',
  attach: 'attach',
  register: 'register',
  login: 'login',
  logout: 'logout',
  passwd: 'passwd',
  ...ModerationType,
  edit: 'edit',
  delete: 'delete',
  react: 'react',
  read: 'read',
  unread: 'unread',
  post: 'post',
  search: 'search',
} as const;
export type ClientType = (typeof ClientType)[keyof typeof ClientType];

/** A request id, echoed on the `ok`/`error` (or natural) reply to the request. */
export type RequestId = string | number;

interface Request {
  id?: RequestId;
}

export interface HelloRequest extends Request { type: 'hello'; nick?: string }
export interface JoinRequest extends Request { type: 'join'; room: string; nick?: string; since?: number; key?: string }
export interface LeaveRequest extends Request { type: 'leave'; room: string }
export interface RoomMsgRequest extends Request {
  type: 'msg'; room: string; text: string; me?: boolean;
  /** The seq of the room's message this one replies to (docs/protocol.md "Conversations"). */
  reply_to?: number;
}
export interface PrivateMsgRequest extends Request {
  type: 'msg'; to: string; text: string; me?: boolean;
  /** The seq of the conversation's message this one replies to (docs/protocol.md "Private conversations"). */
  reply_to?: number;
}
export interface NickRequest extends Request { type: 'nick'; nick: string }
export interface WhoRequest extends Request { type: 'who'; room: string }
export interface RoomsRequest extends Request { type: 'rooms'; after?: string; limit?: number }
export interface HistoryRequest extends Request { type: 'history'; room: string; before?: number; limit?: number }
export interface PingRequest extends Request { type: 'ping' }
export interface PongRequest extends Request { type: 'pong' }
export interface QuitRequest extends Request { type: 'quit'; reason?: string }

/** Followed on the wire by exactly `size - offset` raw bytes (docs/protocol.md "Files"). */
export interface UploadRequest extends Request {
  type: 'upload'; room?: string; to?: string; name: string; size: number; sha256?: string; offset?: number;
  /** A voice message (docs/protocol.md "Voice messages"): all three together. */
  kind?: 'voice'; duration_ms?: number; waveform?: number[];
}
export interface UploadStatusRequest extends Request { type: 'upload_status'; sha256: string; size: number }
export interface DownloadRequest extends Request {
  type: 'download'; file: string; offset?: number; length?: number; raw?: boolean;
}
export interface FilesRequest extends Request { type: 'files'; room?: string }
/** Act for the user whose `welcome` carried `token`, on a second connection (file transfers). */
export interface AttachRequest extends Request { type: 'attach'; token: string }

/** Create an account that owns `nick`, and log this connection in as it (docs/protocol.md "Accounts"). */
export interface RegisterRequest extends Request { type: 'register'; nick: string; password: string }
/** Log in with the account's nick and password (a new token comes back), or with a token. */
export interface LoginRequest extends Request { type: 'login'; nick?: string; password?: string; token?: string }
/** Revoke the token this connection logged in with (it is a guest again), or the token given. */
export interface LogoutRequest extends Request { type: 'logout'; token?: string }
export interface PasswdRequest extends Request { type: 'passwd'; old: string; new: string }
/** A message to a room without joining it (scripts: `chat send`); every rule of a room `msg` applies. */
export interface PostRequest extends Request { type: 'post'; room: string; text: string; me?: boolean }

/** Change one's own room message (docs/protocol.md "Conversations"). */
export interface EditRequest extends Request { type: 'edit'; room: string; seq: number; text: string }
export interface DeleteRequest extends Request { type: 'delete'; room: string; seq: number }
/** Add one's reaction to a room message, or take it back when it is there already. */
export interface ReactRequest extends Request { type: 'react'; room: string; seq: number; emoji: string }
/** The account has read `room` up to `seq` (docs/protocol.md "Read markers"). */
export interface ReadRequest extends Request { type: 'read'; room: string; seq: number }
/** The rooms the account reads, with what it has not read yet. */
export interface UnreadRequest extends Request { type: 'unread' }
/**
 * The same four in a private conversation (docs/protocol.md "Changes in private"): `with` names it as a private
 * `history` does, and `seq` is the message's number there.
 */
export interface PrivateEditRequest extends Request { type: 'edit'; with: string; seq: number; text: string }
export interface PrivateDeleteRequest extends Request { type: 'delete'; with: string; seq: number }
export interface PrivateReactRequest extends Request { type: 'react'; with: string; seq: number; emoji: string }
export interface PrivateReadRequest extends Request { type: 'read'; with: string; seq: number }

/**
 * A page of a private conversation (docs/protocol.md "Private conversations"): the one with `with` (an online nick
 * or a registered account): records with seq < before (the newest first when absent), or with seq > since.
 */
export interface PrivateHistoryRequest extends Request { type: 'history'; with: string; before?: number; since?: number; limit?: number }
/** Search the rooms and one's own private conversations (docs/protocol.md "Search"). */
export interface SearchRequest extends Request { type: 'search'; text: string; room?: string; from?: string; limit?: number }

export type MsgRequest = RoomMsgRequest | PrivateMsgRequest;

export type ClientMessage =
  | HelloRequest
  | JoinRequest
  | LeaveRequest
  | MsgRequest
  | NickRequest
  | WhoRequest
  | RoomsRequest
  | HistoryRequest
  | PingRequest
  | PongRequest
  | QuitRequest
  | UploadRequest
  | UploadStatusRequest
  | DownloadRequest
  | FilesRequest
  | AttachRequest
  | RegisterRequest
  | LoginRequest
  | LogoutRequest
  | PasswdRequest
  | ModerationRequest
  | EditRequest
  | DeleteRequest
  | ReactRequest
  | ReadRequest
  | UnreadRequest
  | PrivateEditRequest
  | PrivateDeleteRequest
  | PrivateReactRequest
  | PrivateReadRequest
  | PostRequest
  | PrivateHistoryRequest
  | SearchRequest;

// ---- server to client ----

export interface WelcomeEvent {
  type: 'welcome'; nick: string; server: string; proto: number; motd: string; id?: RequestId;
  /** Lets a second connection act for this user (`attach`), for file transfers beside the chat. */
  token?: string;
  /** The account the connection is logged in as. */
  account?: string;
}
export interface JoinEvent { type: 'join'; room: string; nick: string; ts: string }
export interface LeaveEvent { type: 'leave'; room: string; nick: string; ts: string; reason?: string }
export interface NickEvent { type: 'nick'; room?: string; old: string; nick: string; ts: string }
/** The members of a room, by nick; in a room bigger than the server lists, `count` says how many there are in all. */
export interface MembersEvent {
  type: 'members'; room: string; nicks: string[]; count?: number; id?: RequestId;
  /** Of those nicks, the room's operators (owner, operators, server admins) and those away (docs/protocol.md "Running a room"). */
  ops?: string[]; away?: string[];
}
export interface RoomMsgEvent {
  type: 'msg'; room: string; from: string; text: string; ts: string; seq: number; me?: boolean; history?: boolean;
  /** The message it replies to: its seq, author and first line (as it read when the reply was sent). */
  reply?: QuotedMessage;
  /** In history and join replays, the message as it is now: changed by its author, deleted (text ""), reacted to. */
  edited?: true;
  deleted?: true;
  reactions?: Reaction[];
}
export interface QuotedMessage { seq: number; from: string; text: string }
/** One emoji under a message and how many reacted with it, in the order they were first given. */
export interface Reaction { emoji: string; count: number }
/** A room message was changed by its author: its new text. */
export interface EditEvent {
  type: 'edit'; room: string; seq: number; text: string; ts: string;
  /** Sent again on a `since` resume: the message was changed while the client was away (docs/protocol.md "Conversations"). */
  history?: true;
}
/** A room message was deleted: shown as deleted from now on. */
export interface DeleteEvent { type: 'delete'; room: string; seq: number; ts: string; history?: true }
/** `nick` added (on) or took back a reaction; `reactions` is the message's whole tally now. */
export interface ReactEvent { type: 'react'; room: string; seq: number; nick: string; emoji: string; on: boolean; reactions: Reaction[] }
/** On a `since` resume, a message whose reactions changed while the client was away: its whole tally now. */
export interface ReactionsNowEvent { type: 'react'; room: string; seq: number; reactions: Reaction[]; history: true }
/** The account's read marker in a room: on join, and whenever another of its connections reads further. */
export interface ReadEvent { type: 'read'; room: string; seq: number; id?: RequestId }
export interface UnreadRoom { room: string; seq: number; last: number; unread: number; mentions: number }
export interface UnreadEvent {
  type: 'unread'; rooms: UnreadRoom[]; id?: RequestId;
  /** The account's private conversations with a marker, by the other party's nick (when it has any). */
  privates?: UnreadPrivate[];
}
export interface UnreadPrivate { with: string; seq: number; last: number; unread: number; mentions: number }
/** A message of a private conversation was changed, deleted or reacted to, or read further: `with` is the other party. */
export interface PrivateEditEvent { type: 'edit'; with: string; seq: number; text: string; ts: string; history?: true }
export interface PrivateDeleteEvent { type: 'delete'; with: string; seq: number; ts: string; history?: true }
export interface PrivateReactEvent { type: 'react'; with: string; seq: number; nick: string; emoji: string; on: boolean; reactions: Reaction[] }
/** After a private `history` page with `since`: a message whose reactions changed meanwhile, its whole tally now. */
export interface PrivateReactionsNowEvent { type: 'react'; with: string; seq: number; reactions: Reaction[]; history: true }
export interface PrivateReadEvent { type: 'read'; with: string; seq: number; id?: RequestId }
export interface PrivateMsgEvent {
  type: 'msg'; to: string; from: string; text: string; ts: string; me?: boolean;
  /** Its number in the private conversation (docs/protocol.md "Private conversations"). */
  seq?: number;
  /** Sent while the account was offline: delivered at its login. */
  missed?: boolean;
  history?: boolean;
  /** As a room message's (RoomMsgEvent): the message it replies to, and in history and missed ones its state now. */
  reply?: QuotedMessage;
  edited?: true;
  deleted?: true;
  reactions?: Reaction[];
}
export interface NoticeEvent { type: 'notice'; room?: string; text: string }
/** A page of the rooms with members, by name; `next` when there are more: ask again with `"after": next`. */
export interface RoomsEvent { type: 'rooms'; rooms: { room: string; members: number }[]; next?: string; id?: RequestId }
export interface HistoryEvent { type: 'history'; room: string; messages: RoomRecord[]; more: boolean; id?: RequestId }
/** A shared file, announced like a message: in a room it has a seq and is part of history. */
export interface FileEvent {
  type: 'file'; room?: string; to?: string; from: string; file: string; name: string; size: number; sha256: string;
  ts: string; seq?: number; history?: boolean;
  /** In a room's history and join replays, the file's reactions now (docs/protocol.md "Conversations"). */
  reactions?: Reaction[];
  /** A voice message: its length and the peak level (0-255) of each slice. */
  kind?: 'voice'; duration_ms?: number; waveform?: number[];
}
/** Header of a download: exactly `length` raw bytes follow it on the wire. */
export interface FileDataEvent {
  type: 'file_data'; file: string; name: string; size: number; offset: number; length: number; sha256: string;
  id?: RequestId;
}
export interface UploadStatusEvent { type: 'upload_status'; sha256: string; size: number; have: number; id?: RequestId }
export interface FilesEvent { type: 'files'; room?: string; files: FileEvent[]; id?: RequestId }
export interface PingEvent { type: 'ping'; ts: string }
export interface PongEvent { type: 'pong'; ts: string; id?: RequestId }
export interface OkEvent {
  type: 'ok'; id?: RequestId; seq?: number; file?: string;
  /** After register, login and passwd: the account now logged in, and (except after a login by token) its new token. */
  account?: string;
  token?: string;
}
export interface ErrorEvent {
  type: 'error'; code: ErrorCode; message: string; id?: RequestId;
  /** With nick_taken: a free nick close to the one asked for. */
  suggest?: string;
}
export interface ByeEvent { type: 'bye'; code: ByeCode; reason: string }

export type ServerMessage =
  | WelcomeEvent
  | JoinEvent
  | LeaveEvent
  | NickEvent
  | MembersEvent
  | RoomMsgEvent
  | PrivateMsgEvent
  | FileEvent
  | FileDataEvent
  | UploadStatusEvent
  | FilesEvent
  | NoticeEvent
  | RoomsEvent
  | HistoryEvent
  | PingEvent
  | PongEvent
  | OkEvent
  | ErrorEvent
  | ByeEvent
  | ModerationEventMessage
  | EditEvent
  | DeleteEvent
  | ReactEvent
  | ReactionsNowEvent
  | ReadEvent
  | UnreadEvent
  | PrivateEditEvent
  | PrivateDeleteEvent
  | PrivateReactEvent
  | PrivateReactionsNowEvent
  | PrivateReadEvent
  | PrivateHistoryEvent
  | SearchEvent;

/** A private message as its conversation keeps it: numbered. */
export type PrivateRecord = PrivateMsgEvent & { seq: number };
export interface PrivateHistoryEvent {
  type: 'history'; with: string; messages: PrivateRecord[]; more: boolean; id?: RequestId;
  /** The account's read marker in the conversation, when it has one (guests have none). */
  read?: number;
}
/** One search hit, with the records just before and after it in its room or conversation. */
export interface SearchHit {
  /** The room, or for a private conversation the other party's nick (`with`). */
  room?: string;
  with?: string;
  record: RoomRecord | PrivateRecord;
  before?: RoomRecord | PrivateRecord;
  after?: RoomRecord | PrivateRecord;
}
/** Hits newest first; `more` when there were more than the page holds. */
export interface SearchEvent { type: 'search'; hits: SearchHit[]; more: boolean; id?: RequestId }

/** Events that are part of a room's numbered history: messages and room files (both with `room` and `seq`). */
export type RoomRecord = RoomMsgEvent | (FileEvent & { room: string; seq: number });

export const ErrorCode = {
  bad_json: 'bad_json',
  bad_request: 'bad_request',
  unknown_type: 'unknown_type',
  line_too_long: 'line_too_long',
  bad_nick: 'bad_nick',
  nick_taken: 'nick_taken',
  bad_room: 'bad_room',
  not_in_room: 'not_in_room',
  no_such_user: 'no_such_user',
  rate_limited: 'rate_limited',
  too_many_rooms: 'too_many_rooms',
  server_full: 'server_full',
  too_large: 'too_large',
  quota_exceeded: 'quota_exceeded',
  no_such_file: 'no_such_file',
  checksum_mismatch: 'checksum_mismatch',
  short_upload: 'short_upload',
  /** The server's disk cannot take the upload (docs/protocol.md "File errors"). */
  no_space: 'no_space',
  /** The server cannot store what the request needs right now (its disk is full or failing); retry later. */
  unavailable: 'unavailable',
  /** The nick belongs to an account, and this connection is not logged in as it. */
  nick_registered: 'nick_registered',
  /** A new password that is too short or too long. */
  bad_password: 'bad_password',
  /** A wrong nick, password or token: which one is not said. */
  auth_failed: 'auth_failed',
  /** Too many failed logins for this nick or from this address: wait and try again. */
  auth_throttled: 'auth_throttled',
  /** The server wants every connection logged in (--accounts required). */
  auth_required: 'auth_required',
  /** The server has no accounts (--accounts off). */
  accounts_off: 'accounts_off',
  /** Only the room's operators may do that (docs/protocol.md "Running a room"). */
  not_operator: 'not_operator',
  /** Banned from the room. */
  banned: 'banned',
  /** The room is invite-only (+i) and there is no invitation for you. */
  invite_only: 'invite_only',
  /** Muted in the room, or the room is moderated (+m) and you have no voice. */
  muted: 'muted',
  /** The room is full (+l). */
  room_full: 'room_full',
  /** No message has that seq in the room (or it was deleted, or is too old to change). */
  no_such_message: 'no_such_message',
  /** Only a message's author may change or delete it. */
  not_allowed: 'not_allowed',
  /** The offline account's mailbox holds as many waiting messages as it may (from this sender, or from all). */
  mailbox_full: 'mailbox_full',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Why the server closed a connection (sent in `bye`, the last line it writes). */
export const ByeCode = {
  quit: 'quit',
  shutdown: 'shutdown',
  sendq_exceeded: 'sendq_exceeded',
  flood: 'flood',
  ping_timeout: 'ping_timeout',
  server_full: 'server_full',
  /** Too many connections from one address (an IPv4 address, or an IPv6 /64). */
  too_many_connections: 'too_many_connections',
  /** Connecting too fast from one address, or banned for a while after flooding. */
  throttled: 'throttled',
  /** A line that never ended, or a connection that never said anything. */
  timeout: 'timeout',
  /** The byte stream cannot be followed any more (an upload header whose bytes cannot be skipped). */
  protocol: 'protocol',
  /** Plain TCP from an address that must use TLS (`--plain loopback`). */
  tls_required: 'tls_required',
} as const;
export type ByeCode = (typeof ByeCode)[keyof typeof ByeCode];

/** An error found in a client line; `code` is stable, `message` is for people. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly id?: RequestId,
    /**
     * A refused upload header is still followed by its raw bytes: how many ('unknown' when its size or offset
     * could not be read), so the receiver can skip them instead of reading them as lines.
     */
    readonly followingBytes?: number | 'unknown',
  ) {
    super(message);
  }
}
