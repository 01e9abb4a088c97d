// The server: the state of everyone in one place, handleConnection(stream) at its heart, listen() a thin wrapper.

import net from 'node:net';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByeCode, ClientLineParser, encode, type ClientMessage } from '../protocol/index.js';
import { AddressBook } from './addresses.js';
import { SqliteAccountStore } from './accounts/sqlite.js';
import { ClusterBackend } from './cluster/backend.js';
import { resolveConfig, type ServerConfig } from './config.js';
import { FileStore } from './files/store.js';
import { FlushScheduler } from './flush-scheduler.js';
import { dispatch, type ServerContext } from './handlers/index.js';
import { forgetGuestConversations } from './handlers/private.js';
import { now } from './handlers/replies.js';
import { silentLogger, type Logger } from './log.js';
import { remoteOf, Session, type SessionHost } from './session.js';
import type { Backend } from './state/backend.js';
import { LocalBackend } from './state/local.js';
import { NickRegistry } from './state/nicks.js';
import { sameAccount } from './state/principals.js';
import { RoomRegistry, type Member } from './state/rooms.js';
import { LastAuthorship } from './state/conversation.js';
import { SqliteConversationStore } from './storage/conversation-sqlite.js';
import { localPrivates } from './storage/local-privates.js';
import { SqliteHistoryStore } from './storage/sqlite.js';
import { ThreadedHistoryStore } from './storage/history-thread.js';
import { SqliteModerationStore } from './storage/moderation-sqlite.js';
import { roomControlled } from './handlers/moderation.js';
import { wentAway } from './handlers/away.js';
import { tokenEnds } from './handlers/tokens.js';
import type { HistoryStore } from './storage/store.js';
// TLS and the web gateway (ws, http, the page's assets) are loaded when configured: a server without them does not
// hold their code (~20 MB of RSS at rest, bench/README.md "RSS at rest").
import { plainRefusal } from './plain.js';
import { clientSocketOptions, setOnEach } from './socket-options.js';
import type { Admission, TlsDoor } from './tls.js';
import type { WebGateway } from './web/gateway.js';

const FILE_SWEEP_MS = 3600_000;
/** How often retention's rule is applied to the rooms' rings in memory (the stores run theirs as often). */
const RETENTION_EVERY_MS = 60_000;
const DAY_MS = 24 * 3600 * 1000;
/** How long a refused connection may stay open to read its `bye`. */
const REFUSED_LINGER_MS = 2000;

/** The package version, read from package.json (found upward: this file runs from src/ in tests, dist/src/ when built). */
export const VERSION: string = (() => {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')).version as string;
    } catch {
      // try the next level up
    }
  }
  return '0.0.0';
})();

export interface ServerOptions extends Partial<ServerConfig> {
  log?: Logger;
}

export class ChatServer implements SessionHost, ServerContext {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly version = VERSION;
  readonly sessions = new Set<Session>();
  /** Connections, connect rate, line rate and flood bans per address. */
  readonly addresses: AddressBook;
  /** This node's rooms (members here, history ring, seq) and nicks; on a cluster, its share of the whole. */
  readonly rooms: RoomRegistry;
  readonly nicks = new NickRegistry<Member>(sameAccount);
  /** The rules' access to nicks, rooms and fan-out: this node alone, or a cluster through Redis. */
  readonly backend: Backend;
  readonly flushScheduler = new FlushScheduler();
  readonly parser: ClientLineParser;
  /** attach token -> the session it lets another connection act for. */
  readonly attachTokens = new Map<string, Session>();
  readonly lastAuthorship = new LastAuthorship();
  /** Room history beyond the in-memory window: SQLite in dataDir, none when dataDir is null. */
  readonly historyStore: HistoryStore | undefined;
  readonly files: FileStore;
  private readonly fileSweepTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout | null;

  private listener: net.Server | null = null;
  /** With TLS on: where new connections wait for their first byte (and their handshake). */
  private door: TlsDoor | null = null;
  /** With --web: the browser gateway, and where it listens. */
  private web: WebGateway | null = null;
  webAddress: net.AddressInfo | null = null;
  private nextSessionId = 1;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  /** What each accepted TCP connection needs set (socket-options.ts). */
  private socketOptions: (socket: net.Socket) => void = setOnEach;
  private closing: Promise<void> | null = null;

  constructor(options: ServerOptions = {}) {
    const { log, ...overrides } = options;
    this.config = resolveConfig(overrides);
    this.parser = new ClientLineParser(this.config);
    this.log = log ?? silentLogger;
    const { dataDir, retainMessages, retainDays, redisUrl } = this.config;
    // A cluster keeps history in Redis (one stream per room), shared by every node.
    const onHistoryError = (error: Error, records: number) =>
      this.log.error({ err: error.message, records }, records > 0 ? 'history not written: records dropped' : 'history store error');
    this.historyStore =
      dataDir === null || redisUrl
        ? undefined
        : this.config.storageThread
          ? new ThreadedHistoryStore(join(dataDir, 'history.sqlite'), { retainMessages, retainDays }, onHistoryError, join(dataDir, 'conversations.sqlite'))
          : new SqliteHistoryStore(join(dataDir, 'history.sqlite'), { retainMessages, retainDays }, onHistoryError);
    // A turn's records are committed right after its writes, so deliveries never wait for the disk.
    if (this.historyStore) this.flushScheduler.afterPass = () => this.historyStore!.flush();
    this.addresses = new AddressBook(this.config);
    const { historyPerRoom, maxRooms, maxRoomsPerAddress } = this.config;
    this.rooms = new RoomRegistry(historyPerRoom, maxRooms, this.historyStore, maxRoomsPerAddress || Infinity);
    this.backend = redisUrl
      ? new ClusterBackend(redisUrl, {
          rooms: this.rooms,
          nicks: this.nicks,
          config: this.config,
          log: this.log,
          noticeAll: (text) => {
            for (const session of this.sessions) session.send({ type: 'notice', text });
          },
        })
      : new LocalBackend(
          this.rooms,
          this.nicks,
          new SqliteAccountStore(dataDir === null ? null : join(dataDir, 'accounts.sqlite')),
          new SqliteModerationStore(dataDir === null ? null : join(dataDir, 'rooms.sqlite')),
          new SqliteConversationStore(
            dataDir === null ? null : join(dataDir, 'conversations.sqlite'),
            this.historyStore instanceof SqliteHistoryStore ? this.historyStore : undefined,
          ),
          ...localPrivates(this.config, this.historyStore),
        );
    this.backend.onRoomControl = (room, payload) => roomControlled(this, room, payload);
    this.files = new FileStore(this.config.dataDir === null ? null : join(this.config.dataDir, 'files'), {
      maxFileBytes: this.config.maxFileBytes,
      quotaBytes: this.config.fileQuotaBytes,
      expiryMs: this.config.fileExpiryDays * 24 * 3600 * 1000,
    });
    this.fileSweepTimer = setInterval(() => {
      try {
        this.files.sweep();
      } catch (error) {
        // A --workers sibling may delete the same file at the same moment: the next sweep tries again.
        this.log.warn({ err: String(error) }, 'file sweep failed');
      }
    }, FILE_SWEEP_MS).unref();
    this.retentionTimer =
      retainMessages > 0 || retainDays > 0 ? setInterval(() => this.forgetExpiredHistory(), RETENTION_EVERY_MS).unref() : null;
    this.startKeepalive();
  }

  /**
   * What retention lets go of (`--retain-messages`, `--retain-days`) goes from the rooms' rings too, on one node and
   * on a cluster alike: a join or a `since` resume never replays from memory what the store no longer keeps.
   */
  forgetExpiredHistory(now = Date.now()): void {
    const { retainMessages, retainDays } = this.config;
    this.rooms.forgetExpiredHistory(retainMessages, retainDays > 0 ? now - retainDays * DAY_MS : 0);
  }

  /**
   * Serve one client over any Duplex stream (a TCP socket, or one end of a duplexPair in tests). `remote`: where it
   * comes from when the stream is no TCP socket that can say so (remoteOf). `admission`: its
   * place in its address's allowance, taken already (at the TLS door), or why it has none.
   */
  handleConnection(stream: Duplex, remote?: string, admission?: Admission): Session | null {
    if (this.closing) {
      if (admission && 'limits' in admission) admission.limits.release();
      stream.destroy();
      return null;
    }
    const refuse = (code: ByeCode, reason: string) => {
      if (admission && 'limits' in admission) admission.limits.release();
      stream.on('error', () => {});
      stream.end(encode({ type: 'bye', code, reason }));
      // Half-open sockets close only once their input is read to the end; a peer that never ends is cut.
      stream.resume();
      setTimeout(() => stream.destroy(), REFUSED_LINGER_MS).unref();
      this.log.warn({ remote: remote ?? remoteOf(stream), code }, `connection refused: ${reason}`);
      return null;
    };
    if (this.sessions.size >= this.config.maxConnections) return refuse(ByeCode.server_full, 'the server has too many connections');
    const remoteAddress = (stream as Partial<net.Socket>).remoteAddress;
    const plainProblem = plainRefusal(this.config.plain, stream, remoteAddress);
    if (plainProblem) return refuse(ByeCode.tls_required, plainProblem);
    if (admission && 'refusal' in admission) return refuse(admission.refusal.code, admission.refusal.reason);
    const address = admission?.limits ?? this.addresses.get(remoteAddress);
    const refusal = admission ? null : address.admit();
    if (refusal) return refuse(refusal.code, refusal.reason);
    const session = new Session(this.nextSessionId++, stream, this, remote, address);
    this.sessions.add(session);
    this.log.info({ conn: session.id, remote: session.remote }, 'connected');
    return session;
  }

  handle(session: Session, message: ClientMessage): void {
    dispatch(this, session, message);
  }

  /** Remove a session from every map, announcing its departure. Called once, from Session's close path. */
  forget(session: Session, reason: string): void {
    const ts = now();
    for (const room of [...session.rooms]) {
      this.backend.removeMember(room, session);
      // A big room announces no leaves (config.quietRoomMembers): each would go to everyone.
      if (this.backend.membersHere(room) < this.config.quietRoomMembers && !this.backend.accountAlsoIn(room, session)) {
        void this.backend.announce(room, { type: 'leave', room, nick: session.nick, ts, reason });
      }
    }
    this.backend.releaseNick(session);
    void wentAway(this, session);
    forgetGuestConversations(this, session);
    tokenEnds(this, session);
    session.address.release();
    this.sessions.delete(session);
    this.log.info({ conn: session.id, nick: session.nick || undefined, reason }, 'disconnected');
  }

  async listen(port = this.config.port, host = this.config.host): Promise<net.AddressInfo> {
    await this.backend.start();
    const { tls, tlsHandshakeTimeoutMs, firstLineTimeoutMs, maxConnectionsPerAddress, maxConnections } = this.config;
    const door = tls
      ? new (await import('./tls.js')).TlsDoor({
          tls,
          firstByteTimeoutMs: firstLineTimeoutMs,
          handshakeTimeoutMs: tlsHandshakeTimeoutMs,
          maxPerAddress: maxConnectionsPerAddress,
          maxWaiting: maxConnections,
          log: this.log,
          addresses: this.addresses,
          enter: (stream, remote, admission) => {
            this.handleConnection(stream, remote, admission);
            stream.resume();
          },
        })
      : null;
    this.door = door;
    const listener = net.createServer({ allowHalfOpen: true }, (socket) => {
      this.socketOptions(socket);
      if (door) door.admit(socket);
      else this.handleConnection(socket);
    });
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        this.socketOptions = clientSocketOptions(listener);
        resolve();
      });
    });
    // Failing to listen is the caller's to report; errors after that are logged.
    listener.on('error', (error) => this.log.error({ err: error.message }, 'listener error'));
    const address = listener.address() as net.AddressInfo;
    if (this.config.webPort !== null) {
      const { WebGateway } = await import('./web/gateway.js');
      this.web = new WebGateway(this);
      this.webAddress = await this.web.listen(this.config.webPort, host);
    }
    this.log.info({ host: address.address, port: address.port, ...(tls && { tls: true, plain: this.config.plain }) }, 'listening');
    return address;
  }

  /** Tell every client the server is shutting down, flush, close. Idempotent. */
  close(reason = 'the server is shutting down'): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private async shutdown(reason: string): Promise<void> {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    const listenerClosed = this.listener
      ? new Promise<void>((resolve) => this.listener!.close(() => resolve()))
      : Promise.resolve();
    this.door?.close();
    const webClosed = this.web?.close();
    const streams = [...this.sessions].map((session) => session.stream);
    for (const session of [...this.sessions]) session.close(ByeCode.shutdown, reason);
    const graceTimer = setTimeout(() => {
      for (const stream of streams) stream.destroy();
    }, this.config.shutdownGraceMs);
    await Promise.all([
      listenerClosed,
      webClosed,
      ...streams.map((stream) =>
        stream.destroyed ? undefined : new Promise<void>((resolve) => stream.once('close', () => resolve())),
      ),
    ]);
    clearTimeout(graceTimer);
    this.historyStore?.close();
    // The checkpoint thread may still be writing the database's files: a caller may remove them once this resolves.
    await this.historyStore?.whenClosed?.();
    await this.backend.close();
    clearInterval(this.fileSweepTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.files.settled();
    this.files.close();
    this.log.info('stopped');
  }

  /**
   * Ping clients that have been silent and reap those that stay silent (protocol.md "Keepalive"); close
   * connections whose line never ends or that never said anything (a slowloris holds slots for nothing).
   */
  private startKeepalive(): void {
    const { pingIntervalMs, pingTimeoutMs, lineTimeoutMs, firstLineTimeoutMs } = this.config;
    const periods = [pingIntervalMs, pingTimeoutMs, lineTimeoutMs, firstLineTimeoutMs].filter((ms) => ms > 0);
    if (periods.length === 0) return;
    const sweepEvery = Math.max(10, Math.min(...periods) / 4);
    this.keepaliveTimer = setInterval(() => {
      const now = Date.now();
      for (const session of [...this.sessions]) this.checkAlive(session, now);
      this.addresses.sweep(now);
      // Only where history lives on elsewhere: a --memory server would lose it.
      const { emptyRoomExpiryMs, dataDir, redisUrl } = this.config;
      if (emptyRoomExpiryMs > 0 && (dataDir !== null || redisUrl)) this.rooms.forgetEmptySince(now - emptyRoomExpiryMs);
    }, sweepEvery);
    this.keepaliveTimer.unref();
  }

  private checkAlive(session: Session, now: number): void {
    const { pingIntervalMs, pingTimeoutMs, lineTimeoutMs, firstLineTimeoutMs } = this.config;
    if (lineTimeoutMs > 0 && session.lineStartedAt > 0 && now - session.lineStartedAt >= lineTimeoutMs) {
      session.close(ByeCode.timeout, `a line must end within ${Math.round(lineTimeoutMs / 1000)} s of its first byte`);
    } else if (firstLineTimeoutMs > 0 && session.linesSeen === 0 && now - session.connectedAt >= firstLineTimeoutMs) {
      session.close(ByeCode.timeout, `nothing was said in ${Math.round(firstLineTimeoutMs / 1000)} s`);
    } else if (pingIntervalMs <= 0) {
      return;
    } else if (session.pingSentAt && now - session.pingSentAt >= pingTimeoutMs) {
      session.close(ByeCode.ping_timeout, `no reply to ping in ${Math.round(pingTimeoutMs / 1000)} s`);
    } else if (!session.pingSentAt && now - session.lastInputAt >= pingIntervalMs) {
      session.pingSentAt = now;
      session.send({ type: 'ping', ts: new Date(now).toISOString() });
    }
  }
}
