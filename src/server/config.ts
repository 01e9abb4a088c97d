import { homedir } from 'node:os';
import type { AccountsMode } from './accounts/store.js';
import { join } from 'node:path';

// Every limit and timeout of the server, with the reason for its default. Flags in cli.ts override them.

export interface ServerConfig {
  port: number;
  host: string;
  /** Longest accepted line in bytes (protocol.md "Framing"); a longer one is dropped with line_too_long. */
  maxLineBytes: number;
  /** Longest msg text in characters (UTF-16 units); 8000 leaves room for a pasted block of code. */
  maxTextChars: number;
  /** Messages kept per room for late joiners and `since` (protocol.md "History"). */
  historyPerRoom: number;
  /** Sustained lines per second per connection; 0 turns flood control off, per address too (benchmarks). */
  rateLimit: number;
  /** Lines a connection may send at once before the rate applies: a pasted script of 100 lines passes. */
  rateBurst: number;
  /** Rate-limited lines in a row after which the connection is cut off as a flood. */
  floodKick: number;
  /**
   * Output owed to one client and not yet taken by it (IRC's hard SendQ, Redis's client-output-buffer-limit): every
   * byte counts, also what one turn queued; past it the client is cut off, the others unaffected.
   */
  sendqBytes: number;
  /** Bytes of history one reply may carry (a join's replay, a `history` page): one request cannot build megabytes. */
  replyHistoryBytes: number;
  /** Rooms in one `rooms` reply; the rest come in further pages (`after`). */
  roomsPageMax: number;
  /** Nicks in one `members` reply; a bigger room's reply says how many there are in all (`count`). */
  membersListMax: number;
  /**
   * A room with more members than this (on one node) announces no joins and leaves: each would go to everyone, and
   * a join storm into it would cost the square of its size. The joiner and the leaver still get their own.
   */
  quietRoomMembers: number;
  /** Silence from a client after which the server pings it (protocol.md "Keepalive"); 0 disables. */
  pingIntervalMs: number;
  /** Further silence after the ping after which the connection is reaped as dead. */
  pingTimeoutMs: number;
  /** Open connections at once; beyond it new ones get `bye` server_full. */
  maxConnections: number;
  /**
   * Open connections from one address (an IPv4 address, an IPv6 /64) at once; 0: no limit. High enough for a
   * classroom behind one NAT, low enough that one host cannot take the server's connections.
   */
  maxConnectionsPerAddress: number;
  /** New connections one address may open per second (after a burst of maxConnectionsPerAddress); 0: no limit. */
  connectRatePerAddress: number;
  /** Lines per second all the connections of one address may send together (after a burst of 2 s); 0: no limit. */
  rateLimitPerAddress: number;
  /**
   * After a connection is cut off for flooding, its address may not connect for this long; the ban doubles with
   * each further kick (up to 10 minutes) and is forgiven after 10 minutes without one. 0: no ban.
   */
  floodBanMs: number;
  /** A line that has begun must end within this time (people type into their client, not into the socket); 0: off. */
  lineTimeoutMs: number;
  /** A connection that has not sent one complete line by then is closed (it holds a slot for nothing); 0: off. */
  firstLineTimeoutMs: number;
  /** Rooms one connection may be in at once. */
  maxRoomsPerConnection: number;
  /** Rooms kept in memory (with their history); the least recently used empty room is forgotten first. */
  maxRooms: number;
  /** Rooms one address may have opened in the table at once: one host cannot fill it. 0: no limit. */
  maxRoomsPerAddress: number;
  /**
   * An empty room leaves the table after this long when its history is kept elsewhere (SQLite or Redis) and comes
   * back from there on the next join; with --memory an empty room is only forgotten when the table is full.
   */
  emptyRoomExpiryMs: number;
  /** Time given to clients to receive the shutdown notice before sockets are destroyed. */
  shutdownGraceMs: number;
  /** Sent in `welcome`. */
  motd: string;
  /**
   * Where history and files are kept. null: history in memory only and files in a temporary directory removed
   * on close (the in-process default, for tests); the CLI passes defaultDataDir() unless --memory.
   */
  dataDir: string | null;
  /** With a dataDir: records kept per room on disk; older ones are deleted (docs/persistence.md). 0 keeps all. */
  retainMessages: number;
  /** With a dataDir: records older than this many days are deleted. 0 keeps them forever. */
  retainDays: number;
  /**
   * Redis URL (redis://host:port) of a cluster of chat-server nodes sharing rooms, nicks and history
   * (docs/scale-out.md); null: a single node.
   */
  redisUrl: string | null;
  /**
   * With a dataDir (and no redisUrl): room history and its search index are written by a thread of their own
   * (storage/history-thread.ts), so that the event loop and the disk work on two cores.
   */
  storageThread: boolean;
  /** Cluster: how often a node says it is alive; a node silent for 3 beats is dead and its nicks are free. */
  clusterHeartbeatMs: number;
  /** Cluster: records kept per room in Redis (a capped stream). */
  clusterHistory: number;
  /** Largest file accepted (protocol.md "Files"). */
  maxFileBytes: number;
  /** Total bytes the file store may hold; an upload that would pass it gets quota_exceeded. */
  fileQuotaBytes: number;
  /** Shared files are forgotten after this many days. */
  fileExpiryDays: number;
  /**
   * Bytes of the data dir's disk that uploads must leave free: an upload is refused with no_space unless the disk
   * has its size plus this, so a big file cannot take the last space history and the system need (protocol.md
   * "File errors"). 64 MiB is some minutes of heavy chat history, and little on any disk worth running on.
   */
  diskReserveBytes: number;
  /**
   * Accounts (protocol.md "Accounts"): off, optional (guests chat under nicks no account owns) or required (a
   * connection must log in before it does anything but hello, register, login, attach, ping, pong and quit).
   */
  accounts: AccountsMode;
  /**
   * Certificate and key (PEM) to serve TLS with, on the same port as plain TCP (protocol.md "TLS"): the first byte
   * tells them apart. null: plain TCP only.
   */
  tls: { cert: string; key: string } | null;
  /** Plain TCP from anywhere ('on'), or from this machine only ('loopback': elsewhere must use TLS). */
  plain: 'on' | 'loopback';
  /**
   * A TLS handshake must be done within this of its first byte, or the connection is closed. Clients take
   * milliseconds; one that stalls there (slowloris) would hold a socket for nothing. 0: no limit.
   */
  tlsHandshakeTimeoutMs: number;
  /**
   * The newest messages of a room that may still be edited, deleted or reacted to (protocol.md "Conversations"):
   * their authors are kept, in SQLite or Redis, for this many messages per room and no more.
   */
  changeableMessages: number;
  /** Different emoji under one message: a tally, not a wall. */
  reactionsPerMessage: number;
  /** Rooms an account keeps read markers for (protocol.md "Read markers"); `unread` reports on each. */
  readMarkersPerAccount: number;
  /**
   * Port of the browser gateway (protocol.md "WebSocket": the page at /chat/, /ws, /files/ID), on `host`;
   * null: no gateway. 0 picks a free port.
   */
  webPort: number | null;
  /**
   * Private messages waiting for one offline account (protocol.md "Private conversations"), from everyone, and from
   * one sender (an account, or a guest's address): a stranger cannot fill someone's mailbox by themselves, and all of
   * them together cannot fill the server's disk.
   */
  mailboxPerRecipient: number;
  mailboxPerSender: number;
  /** A waiting message is kept this long after its first delivery, for the account's other devices. */
  mailboxKeepMs: number;
  /** Searches per second per connection, and how many may come at once (protocol.md "Search"). */
  searchRate: number;
  searchBurst: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  port: 8000,
  host: '127.0.0.1',
  maxLineBytes: 64 * 1024,
  maxTextChars: 8000,
  historyPerRoom: 200,
  rateLimit: 20,
  rateBurst: 100,
  floodKick: 100,
  sendqBytes: 1024 * 1024,
  replyHistoryBytes: 256 * 1024,
  roomsPageMax: 1000,
  membersListMax: 500,
  quietRoomMembers: 1000,
  pingIntervalMs: 120_000,
  pingTimeoutMs: 60_000,
  maxConnections: 20_000,
  maxConnectionsPerAddress: 64,
  connectRatePerAddress: 10,
  rateLimitPerAddress: 200,
  floodBanMs: 2000,
  lineTimeoutMs: 10_000,
  firstLineTimeoutMs: 60_000,
  maxRoomsPerConnection: 100,
  maxRooms: 10_000,
  maxRoomsPerAddress: 200,
  emptyRoomExpiryMs: 3_600_000,
  shutdownGraceMs: 1000,
  dataDir: null,
  retainMessages: 0,
  retainDays: 0,
  redisUrl: null,
  storageThread: false,
  clusterHeartbeatMs: 2000,
  clusterHistory: 10_000,
  maxFileBytes: 2 * 1024 ** 3,
  fileQuotaBytes: 20 * 1024 ** 3,
  fileExpiryDays: 30,
  motd: 'Welcome to chat-server! Join a room to start talking.',
  diskReserveBytes: 64 * 1024 ** 2,
  accounts: 'optional',
  tls: null,
  plain: 'on',
  tlsHandshakeTimeoutMs: 10_000,
  changeableMessages: 1000,
  reactionsPerMessage: 20,
  readMarkersPerAccount: 200,
  webPort: null,
  mailboxPerRecipient: 500,
  mailboxPerSender: 50,
  mailboxKeepMs: 24 * 3600 * 1000,
  searchRate: 1,
  searchBurst: 5,
};

/** $XDG_DATA_HOME/chat-server, else ~/.local/share/chat-server. */
export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'chat-server');
}

export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const config = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) (config as Record<string, unknown>)[key] = value;
  }
  return config;
}
