// Scale-out through Redis (docs/scale-out.md): several chat-server nodes serve the same rooms. Redis holds what
// must be shared (per-room seq, history as a capped stream per room, nick owners, room members, which nodes are
// alive) and carries events between nodes with pub/sub: one channel per room, one per node for private messages.
//
// Ordering: a room record gets its seq, is appended to the room's stream and is published by one Lua script, so
// Redis runs the three at once and every node (its own sender's node included) receives the room's events in
// seq order on its subscriber connection. A node delivers a room's events to its local members only from that
// connection: one Redis message per event per node, serialised once, the same Buffer for every local member.
//
// When Redis goes away the node says so (log and a notice to every client), keeps serving its own members with
// node-local seq numbers, and when Redis is back it re-registers its nicks and members, re-seeds each room's
// counter above every seq it has given out, reloads history and says so again.

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ErrorCode, lineBytes, nickKey, ProtocolError, type AwayEvent, type RoomRecord, type ServerMessage } from '../../protocol/index.js';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { Backend, MemberList, NickHolder, RecordDraft, RoomCount, RoomPage } from '../state/backend.js';
import type { Authorship } from '../state/conversation.js';
import { announceToMembers, fanOut, roomPage } from '../state/local.js';
import { changesRecord } from '../state/history.js';
import type { NickRegistry } from '../state/nicks.js';
import { isAccountPrincipal, sameAccount } from '../state/principals.js';
import { accountAlsoIn, roomsOfPrincipal, sortedNicks, type Member, type Room, type RoomRefusal, type RoomRegistry } from '../state/rooms.js';
import { RedisAccountStore } from './accounts.js';
import { RedisSessionTokens } from './session-tokens.js';
import { RedisModerationStore } from './moderation.js';
import { conversationKey, RedisConversationStore } from './conversation.js';
import { RedisPrivateStore } from './private.js';
import { ClusterRetention } from './retention.js';
import { RedisSearcher, SEARCHABLE_ROOMS } from './search.js';
import { RedisLoginThrottle } from './throttle.js';
import { ACCOUNT_CHANNEL, key, NODE_CHANNEL, ROOM_CHANNEL, SCRIPTS, type Scripted } from './scripts.js';

function linkDown(): ProtocolError {
  return new ProtocolError(ErrorCode.unavailable, 'the link between chat servers is down: the message was not sent; try again in a moment');
}

/** After an outage, how long a node waits before numbering again: the other nodes re-seed the counters meanwhile. */
const RESEED_GRACE_MS = 2000;

/** How soon a node tries again when registering with Redis after a reconnect failed. */
const RESYNC_RETRY_MS = 500;

/** How long Redis remembers in which rooms a principal's news was announced (the nodes claim them within moments). */
const ANNOUNCED_KEEP_MS = 60_000;

/** How long a node waits for its own event to come back from Redis before it delivers it locally. */
const ECHO_TIMEOUT_MS = 10_000;

/** A room event awaiting its own echo from Redis; delivered locally instead if Redis goes away first. */
interface Pending {
  room: string;
  /** When it was published: an echo that never comes (a lost subscription) must not hold a client forever. */
  at: number;
  resolve(seq: number): void;
  /** A record Redis never numbered: it was not sent. */
  reject(error: Error): void;
  /** For a record: the line around its seq, and the seq once the script has answered. */
  prefix?: string;
  suffix?: string;
  seq?: number;
  /** For any other event: its line. */
  line?: string;
}

/** What a cluster node shares with the rest of its server: its local state, limits and log. */
export interface ClusterDeps {
  rooms: RoomRegistry;
  nicks: NickRegistry<Member>;
  config: Pick<ServerConfig, 'clusterHeartbeatMs' | 'clusterHistory' | 'mailboxPerRecipient' | 'mailboxPerSender' | 'mailboxKeepMs' | 'retainMessages' | 'retainDays'>;
  log: Logger;
  /** Tell every client of this node something about the cluster (the link to the others is down, or back). */
  noticeAll(text: string): void;
}

export class ClusterBackend implements Backend {
  readonly nodeId = randomBytes(4).toString('hex');
  // Made in start(): ioredis is loaded only by a node that joins a cluster (it costs a single server ~0.1 s).
  private command!: Scripted;
  /** Accounts in Redis: every node accepts every account's token. */
  readonly accounts = new RedisAccountStore(() => this.command);
  /** Failed logins counted in Redis: guesses spread over the nodes count together. */
  readonly loginThrottle = new RedisLoginThrottle(() => this.command);
  /** Room rules and away marks in Redis, each room's rules cached here. */
  readonly moderation = new RedisModerationStore(() => this.command);
  onRoomControl: ((room: string, payload: string) => void) | null = null;
  /** Authors, changes and read markers in Redis, beside the room streams. */
  readonly conversations = new RedisConversationStore(() => this.command, (error) => this.log.debug({ err: error.message }, 'conversation write failed'));
  /** Private conversations, mailboxes and search in Redis (cluster/private.ts, cluster/search.ts). */
  readonly privates: RedisPrivateStore;
  readonly searcher: RedisSearcher;
  /** Attach tokens in Redis: a one-shot or a download finds the user on any node. */
  readonly tokens = new RedisSessionTokens(() => this.command, this.nodeId, key.nodes, () => this.deadMs);
  /** --retain-messages and --retain-days applied to the rooms' streams, by one node each minute. */
  readonly retention: ClusterRetention;
  private subscriber!: Redis;
  private up = false;
  private wasUp = false;
  private readonly loads = new Map<string, Promise<void>>();
  private readonly channels = new Set<string>();
  /** The highest record seq delivered here, per room: a record merged again after an outage is not repeated. */
  private readonly delivered = new Map<string, number>();
  /** Until when room records are refused after Redis came back (RESEED_GRACE_MS). */
  private numberingFrom = 0;
  private readonly pending = new Map<string, Pending>();
  private nextToken = 1;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private readonly rooms: RoomRegistry;
  private readonly nicks: NickRegistry<Member>;
  private readonly config: ClusterDeps['config'];
  private readonly log: Logger;

  constructor(
    private readonly url: string,
    private readonly deps: ClusterDeps,
  ) {
    ({ rooms: this.rooms, nicks: this.nicks, config: this.config, log: this.log } = deps);
    this.channels.add(key.nodeChannel(this.nodeId));
    this.nicks.guestPrefix = `guest-${this.nodeId.slice(0, 4)}-`;
    const { mailboxPerRecipient, mailboxPerSender, mailboxKeepMs, clusterHistory } = deps.config;
    const limits = { perRecipient: mailboxPerRecipient, perSender: mailboxPerSender, keepMs: mailboxKeepMs };
    this.privates = new RedisPrivateStore(() => this.command, limits, clusterHistory);
    this.searcher = new RedisSearcher(() => this.command, this.privates);
    const { retainMessages, retainDays } = deps.config;
    this.retention = new ClusterRetention(() => this.command, { retainMessages, retainDays }, this.nodeId, (error) =>
      this.log.warn({ err: error.message }, 'history retention failed; trying again in a minute'),
    );
  }

  private async connectRedis(): Promise<void> {
    const { Redis } = await import('ioredis');
    const url = this.url;
    const options = {
      lazyConnect: true,
      // Fail fast while Redis is away: the node then serves its own members instead of queueing.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
    };
    this.command = new Redis(url, options) as Scripted;
    this.subscriber = new Redis(url, options);
    for (const [name, script] of Object.entries(SCRIPTS)) this.command.defineCommand(name, script);
    for (const connection of [this.command, this.subscriber]) {
      connection.on('error', (error: Error) => this.log.debug({ err: error.message }, 'redis error'));
      connection.on('ready', () => this.linkChanged());
      connection.on('close', () => this.linkChanged());
    }
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  private get deadMs(): number {
    return this.config.clusterHeartbeatMs * 3;
  }

  /** Connect to Redis; resolves when connected or after `timeoutMs` (the node then starts alone and keeps trying). */
  async start(timeoutMs = 5000): Promise<void> {
    await this.connectRedis();
    if (this.closed) return;
    const connected = Promise.all([this.command.connect(), this.subscriber.connect()]).then(() => this.whenUp());
    connected.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([connected.catch(() => undefined), timeout]);
    clearTimeout(timer);
    if (!this.up) this.log.warn({ node: this.nodeId }, 'redis is not reachable yet: serving local members only');
    this.retention.start();
    this.heartbeatTimer = setInterval(() => this.beat(), this.config.clusterHeartbeatMs).unref();
  }

  /** Say we are alive; give up nodes that are not (their members leave); re-register if we were given up. */
  private beat(): void {
    this.expirePending();
    if (!this.up) return;
    this.command
      .heartbeat(key.nodes, this.nodeId)
      .then((added) => {
        if (added === 1) {
          this.log.warn({ node: this.nodeId }, 'this node was given up for dead (too slow?): registering again');
          return this.resync();
        }
        return undefined;
      })
      .catch(() => {});
    this.command
      .reapDead(key.nodes, key.rooms, this.deadMs, 'chat:members:', ROOM_CHANNEL, this.nodeId, new Date().toISOString())
      .then((reaped) => {
        if (Number(reaped) > 0) this.log.warn({ nodes: reaped }, 'gave up silent nodes: their members left');
      })
      .catch(() => {});
  }

  private whenUpPromise: Promise<void> | null = null;
  private whenUp(): Promise<void> {
    return this.whenUpPromise ?? Promise.resolve();
  }

  private syncing = false;

  private linkChanged(): void {
    if (this.closed) return;
    const ready = this.command.status === 'ready' && this.subscriber.status === 'ready';
    if (!ready && this.up) {
      this.up = false;
      this.log.warn({ node: this.nodeId }, 'lost redis: room messages are refused until it is back');
      this.noticeAll('The link between chat servers is down: messages to rooms cannot be sent until it is back.');
      for (const [token, entry] of this.pending) {
        this.pending.delete(token);
        this.deliverPendingLocally(entry);
      }
      this.loads.clear();
      return;
    }
    if (!ready || this.up || this.syncing) return;
    this.syncing = true;
    this.whenUpPromise = this.resync().then(
      () => {
        this.syncing = false;
        if (this.command.status !== 'ready' || this.subscriber.status !== 'ready') return this.linkChanged();
        this.up = true;
        // Back after an outage: the other nodes raise the counters above what they saw in the next moments;
        // numbering before they have could give a seq twice.
        this.numberingFrom = this.wasUp ? Date.now() + RESEED_GRACE_MS : 0;
        this.log.info({ node: this.nodeId }, this.wasUp ? 'redis is back' : 'connected to redis');
        if (this.wasUp) this.noticeAll('The link between chat servers is back.');
        if (this.wasUp) this.tokens.keepAllAgain();
        this.wasUp = true;
        for (const room of this.rooms.occupied()) void this.ensureRoom(room);
      },
      (error: Error) => {
        this.syncing = false;
        // The connections may stay up (a script failed, say): nothing else would try again.
        this.log.warn({ err: error.message }, 'redis resync failed; trying again');
        setTimeout(() => this.linkChanged(), RESYNC_RETRY_MS).unref();
      },
    );
  }

  /** After (re)connecting: say we are alive, subscribe, raise counters, claim our nicks, list our members. */
  private async resync(): Promise<void> {
    await this.command.heartbeat(key.nodes, this.nodeId);
    for (const room of this.rooms.occupied()) this.channels.add(key.roomChannel(room.name));
    await this.subscriber.subscribe(...this.channels);
    const batch = this.command.multi();
    for (const room of this.rooms.occupied()) {
      if (room.lastSeq > 0) batch.eval(SCRIPTS.seedSeq.lua, 1, key.seq(room.name), room.lastSeq);
      const ring = room.history.all().flatMap((record) => [record.seq, JSON.stringify(record)]);
      if (ring.length > 0) {
        const keys = [key.history(room.name), key.roomChannel(room.name)];
        batch.eval(SCRIPTS.mergeHistory.lua, 2, ...keys, this.config.clusterHistory, this.nodeId, ...ring);
      }
    }
    for (const member of this.nicks.holders()) {
      const { nick, principal } = member;
      batch.eval(SCRIPTS.claimNick.lua, 3, key.nick(nick), key.nodes, key.nickNodes(nick), this.nodeId, nick, this.deadMs, principal);
      for (const room of member.rooms) {
        batch.hset(key.members(room), member.nick, this.nodeId);
        batch.zadd(key.rooms, 0, room);
      }
    }
    await batch.exec();
  }

  private noticeAll(text: string): void {
    this.deps.noticeAll(text);
  }

  // ---- nicks and private messages ----

  /** The principal each local member's nick is registered under in Redis (it changes at a login or logout). */
  private readonly claimedAs = new WeakMap<Member, string>();

  /**
   * Take `nick` on this node and cluster-wide; the member's old nick is released and its memberships follow. The
   * connections of one account share its nick, on this node and across nodes; a member that holds the nick and
   * now acts for another principal (it logged in) registers it again under that principal.
   */
  async claimNick(member: Member, nick: string): Promise<boolean> {
    const old = member.nick;
    if (this.nicks.holdersOf(nick).some((holder) => holder !== member && !sameAccount(holder, member))) return false;
    const sameKey = old !== '' && nickKey(old) === nickKey(nick);
    const oldPrincipal = this.claimedAs.get(member);
    const recorded = sameKey && oldPrincipal === member.principal;
    if (!recorded && !(await this.claimRemote(nick, member.principal))) return false;
    if (member.closed || !this.nicks.claim(nick, member, old === '' ? undefined : old)) {
      // Gone meanwhile, or another connection of this node took it while we asked Redis (it keeps the claim).
      if (!sameKey && this.nicks.holdersOf(nick).length === 0) this.releaseRemote(nick);
      return false;
    }
    this.claimedAs.set(member, member.principal);
    if (old !== '' && !sameKey) this.letGo(old, oldPrincipal);
    else if (oldPrincipal !== undefined && oldPrincipal !== member.principal) this.unfollowAccount(oldPrincipal, nick);
    await this.followAccount(member.principal);
    member.nick = nick;
    for (const room of member.rooms) {
      this.forgetMember(room, old);
      this.rememberMember(room, nick);
    }
    return true;
  }

  /**
   * A guest nick (unique by the node's tag in it), registered cluster-wide so that private messages reach it. A
   * member that had a nick (it logged out) lets it go, and its memberships follow.
   */
  async claimGuest(member: Member): Promise<void> {
    const old = member.nick;
    const oldPrincipal = this.claimedAs.get(member);
    if (old !== '') this.nicks.release(old, member);
    member.nick = this.nicks.claimGuest(member);
    this.claimedAs.set(member, member.principal);
    if (old !== '') {
      this.letGo(old, oldPrincipal);
      for (const room of member.rooms) {
        this.forgetMember(room, old);
        this.rememberMember(room, member.nick);
      }
    }
    await this.claimRemote(member.nick, member.principal);
  }

  releaseNick(member: Member): void {
    if (member.nick === '' || !this.nicks.holdersOf(member.nick).includes(member)) return;
    this.nicks.release(member.nick, member);
    this.letGo(member.nick, this.claimedAs.get(member));
  }

  suggestNick(nick: string): string {
    return this.nicks.suggest(nick);
  }

  /** Take `nick` cluster-wide. True while Redis is away (re-claimed when it is back). */
  private async claimRemote(nick: string, principal: string): Promise<boolean> {
    if (!this.up) return true;
    try {
      const claimed = await this.command.claimNick(key.nick(nick), key.nodes, key.nickNodes(nick), this.nodeId, nick, this.deadMs, principal);
      return claimed === 1;
    } catch {
      return true;
    }
  }

  private releaseRemote(nick: string): void {
    if (this.up && nick !== '') this.command.releaseNick(key.nick(nick), key.nodes, key.nickNodes(nick), this.nodeId, this.deadMs).catch(() => {});
  }

  /** Nobody here holds `nick` for `principal` any more (the last of an account's connections here has left it). */
  private letGo(nick: string, principal: string | undefined): void {
    if (this.nicks.holdersOf(nick).length > 0) return;
    this.releaseRemote(nick);
    if (principal !== undefined) this.unfollowAccount(principal, nick);
  }

  /** Receive the private messages of an account that has a connection here. */
  private async followAccount(principal: string): Promise<void> {
    const channel = key.accountChannel(principal);
    if (!isAccountPrincipal(principal) || this.channels.has(channel)) return;
    this.channels.add(channel);
    if (this.up) await this.subscriber.subscribe(channel).catch(() => {});
  }

  /** Stop receiving an account's private messages once none of its connections here holds its nick. */
  private unfollowAccount(principal: string, nick: string): void {
    const channel = key.accountChannel(principal);
    if (this.nicks.holdersOf(nick).some((holder) => holder.principal === principal)) return;
    if (!this.channels.delete(channel) || !this.up) return;
    this.subscriber.unsubscribe(channel).catch(() => {});
  }

  /** The live holder of `nick` anywhere in the cluster ("node nick principal" in Redis), or null. */
  private async owner(nick: string): Promise<{ node: string; nick: string; principal: string } | null> {
    if (!this.up) return null;
    try {
      const owner = (await this.command.lookupNick(key.nick(nick), key.nodes, key.nickNodes(nick), this.deadMs)) as string | null;
      if (!owner) return null;
      const [node = '', spelled = '', principal = ''] = owner.split(' ');
      return { node, nick: spelled, principal };
    } catch {
      return null;
    }
  }

  async lookup(nick: string): Promise<NickHolder | null> {
    const local = this.nicks.owner(nick);
    if (local) return { nick: local.nick, principal: local.principal };
    const owner = await this.owner(nick);
    return owner && { nick: owner.nick, principal: owner.principal };
  }

  /**
   * A private event to `to` wherever it is held: direct to its holders on this node; to an account's other nodes
   * through the account's channel; to a guest on another node through that node's channel. The principal goes
   * with it, so that only a holder acting for it receives it (not one that took the nick meanwhile).
   */
  async sendPrivate(to: string, make: (nick: string) => ServerMessage): Promise<ServerMessage | null> {
    const local = this.nicks.holdersOf(to);
    if (local.length > 0) {
      const event = make(local[0]!.nick);
      const line = JSON.stringify(event);
      const bytes = lineBytes(line);
      for (const holder of local) holder.deliver(bytes);
      const { principal, nick } = local[0]!;
      if (this.up && isAccountPrincipal(principal)) {
        this.command.publish(key.accountChannel(principal), `${this.nodeId}\n${principal} ${nick}\nd\n${line}`).catch(() => {});
      }
      return event;
    }
    const owner = await this.owner(to);
    if (!owner) return null;
    const event = make(owner.nick);
    const channel = isAccountPrincipal(owner.principal) ? key.accountChannel(owner.principal) : key.nodeChannel(owner.node);
    try {
      const receivers = await this.command.publish(channel, `${this.nodeId}\n${owner.principal} ${owner.nick}\nd\n${JSON.stringify(event)}`);
      return receivers > 0 ? event : null;
    } catch {
      return null;
    }
  }

  // ---- rooms: subscription, history, members ----

  /** The room, subscribed to and loaded from Redis before anyone joins it: nothing said from then on is missed. */
  async openRoom(name: string, creator: string): Promise<Room | RoomRefusal> {
    const room = this.rooms.open(name, creator);
    if (typeof room !== 'string') await this.ensureRoom(room);
    return room;
  }

  addMember(room: Room, member: Member): void {
    room.members.add(member);
    member.rooms.add(room.name);
    room.news?.add(member);
    this.rememberMember(room.name, member.nick);
  }

  removeMember(name: string, member: Member): void {
    member.rooms.delete(name);
    if (!accountAlsoIn(this.rooms.get(name), member)) this.forgetMember(name, member.nick);
    const room = this.rooms.get(name);
    if (!room) return;
    if (room.members.delete(member)) room.news?.remove(member);
    room.lastActive = Date.now();
    if (room.members.size === 0) this.unfollow(name);
  }

  releaseRoom(name: string): void {
    const room = this.rooms.get(name);
    if (room && room.members.size === 0) this.unfollow(name);
  }

  /** Subscribe to the room and load its recent history and counter from Redis (once per connection). */
  private ensureRoom(room: Room): Promise<void> {
    if (!this.up) return Promise.resolve();
    let load = this.loads.get(room.name);
    if (!load) {
      load = this.loadRoom(room).catch((error: Error) => {
        this.loads.delete(room.name);
        this.log.debug({ room: room.name, err: error.message }, 'room load failed');
      });
      this.loads.set(room.name, load);
    }
    return load;
  }

  private async loadRoom(room: Room): Promise<void> {
    const channel = key.roomChannel(room.name);
    if (!this.channels.has(channel)) {
      this.channels.add(channel);
      await this.subscriber.subscribe(channel);
    }
    // Subscribed first, then read: what arrives meanwhile is merged by seq, nothing falls in between.
    const [entries, counter] = await Promise.all([
      this.command.xrevrange(key.history(room.name), '+', '-', 'COUNT', room.history.capacity),
      this.command.get(key.seq(room.name)),
    ]);
    const stored = entries.map(([, fields]) => JSON.parse(fields[1]!) as RoomRecord).reverse();
    room.history.replace([...stored, ...room.history.all()]);
    room.lastSeq = Math.max(room.lastSeq, Number(counter ?? 0), ...stored.map((record) => record.seq));
    // Records this node missed (Redis died before their echo reached it): its members get them now, in order.
    for (const record of stored) if (this.isNew(room.name, record.seq)) this.deliverLocally(room.name, JSON.stringify(record));
  }

  /** True once per record seq and room: a record may reach a node twice (its echo, and a merge after an outage). */
  private isNew(room: string, seq: number): boolean {
    if (seq <= (this.delivered.get(room) ?? 0)) return false;
    this.delivered.set(room, seq);
    return true;
  }

  /** Nobody here is in the room any more: stop receiving its events (the next join loads it again). */
  private unfollow(name: string): void {
    const channel = key.roomChannel(name);
    this.loads.delete(name);
    this.delivered.delete(name);
    if (!this.channels.delete(channel) || !this.up) return;
    this.subscriber.unsubscribe(channel).catch(() => {});
  }

  private rememberMember(room: string, nick: string): void {
    if (!this.up || nick === '') return;
    this.command.multi().hset(key.members(room), nick, this.nodeId).zadd(key.rooms, 0, room).zadd(SEARCHABLE_ROOMS, Date.now(), room).exec().catch(() => {});
  }

  private forgetMember(room: string, nick: string): void {
    if (this.up && nick !== '') this.command.hdel(key.members(room), nick).catch(() => {});
  }

  membersHere(room: string): number {
    return this.rooms.get(room)?.members.size ?? 0;
  }

  accountAlsoIn(room: string, member: Member): boolean {
    return accountAlsoIn(this.rooms.get(room), member);
  }

  /** Nicks in the room across live nodes, sorted; this node's view alone while Redis is away. */
  async members(room: string, limit: number): Promise<MemberList> {
    const here = this.rooms.get(room);
    const local = here?.distinctNicks() ?? [];
    const list = (nicks: string[]) => ({ nicks: sortedNicks(nicks, limit), count: nicks.length });
    if (!this.up) return list(local);
    try {
      const nicks = new Set((await this.command.members(key.members(room), key.nodes, this.deadMs)) as string[]);
      // A member of this node whose registration is still on its way is a member all the same.
      for (const nick of local) nicks.add(nick);
      return list([...nicks]);
    } catch {
      return list(local);
    }
  }

  async listRooms(after: string | undefined, limit: number): Promise<RoomPage> {
    if (!this.up) return roomPage(this.rooms, after, limit);
    try {
      const flat = (await this.command.rooms(key.rooms, key.nodes, this.deadMs, 'chat:members:', after ?? '', limit)) as (string | number)[];
      const next = String(flat.pop() ?? '');
      const rooms: RoomCount[] = [];
      for (let i = 0; i < flat.length; i += 2) rooms.push({ room: String(flat[i]), members: Number(flat[i + 1]) });
      return next === '' ? { rooms } : { rooms, next };
    } catch {
      return roomPage(this.rooms, after, limit);
    }
  }

  /**
   * Every node with connections of the principal announces in their rooms: an account's other nodes hear of it on
   * the account's channel, a guest's one connection (a one-shot attached here acting for it) on its node's channel.
   * A room that connections on two nodes share hears it once, from the node that claims the room first in Redis.
   */
  async announceToRoomsOf(holder: NickHolder, event: AwayEvent): Promise<void> {
    const id = randomBytes(12).toString('base64url');
    const channel = await this.channelOfOtherNodes(holder);
    if (channel) {
      const payload = JSON.stringify({ id, event });
      this.command.publish(channel, `${this.nodeId}\n${holder.principal} ${holder.nick}\na\n${payload}`).catch(() => {});
    }
    await this.announceHere(id, holder, event);
  }

  /** Where the principal's connections on other nodes hear of it, or null when it has none. */
  private async channelOfOtherNodes(holder: NickHolder): Promise<string | null> {
    if (!this.up) return null;
    if (isAccountPrincipal(holder.principal)) return key.accountChannel(holder.principal);
    if (this.nicks.holdersOf(holder.nick).some((local) => local.principal === holder.principal)) return null;
    const owner = await this.owner(holder.nick);
    return owner && owner.principal === holder.principal && owner.node !== this.nodeId ? key.nodeChannel(owner.node) : null;
  }

  /** `announceToRoomsOf` on this node: the rooms of its own connections of the principal, those not claimed yet. */
  private async announceHere(id: string, holder: NickHolder, event: AwayEvent): Promise<void> {
    const rooms = [...roomsOfPrincipal(this.nicks.holdersOf(holder.nick), holder.principal)];
    const unclaimed = await this.claimRooms(key.announced(id), rooms);
    await Promise.all(unclaimed.map((room) => this.announce(room, { ...event, room })));
  }

  /** Of `rooms`, those no node had added to the set at `setKey` before (all of them while Redis is away). */
  private async claimRooms(setKey: string, rooms: string[]): Promise<string[]> {
    if (rooms.length === 0 || !this.up) return rooms;
    try {
      const batch = this.command.multi();
      for (const room of rooms) batch.sadd(setKey, room);
      const results = await batch.pexpire(setKey, ANNOUNCED_KEEP_MS).exec();
      return rooms.filter((_, i) => results?.[i]?.[1] === 1);
    } catch {
      return rooms;
    }
  }

  /** From the ring of a room open here when it has them, else from the room's stream in Redis (no subscription). */
  async before(name: string, before: number | undefined, limit: number): Promise<RoomRecord[]> {
    const ring = this.rooms.get(name)?.history.all() ?? [];
    const older = before === undefined ? ring : ring.filter((record) => record.seq < before);
    const newest = older.slice(Math.max(0, older.length - limit));
    if (older.length >= limit || (older.length > 0 && older[0]!.seq <= 1) || !this.up || before === 1) return newest;
    try {
      const end = before === undefined ? '+' : String(before - 1);
      const entries = await this.command.xrevrange(key.history(name), end, '-', 'COUNT', limit);
      return entries.map(([, fields]) => JSON.parse(fields[1]!) as RoomRecord).reverse();
    } catch {
      return newest;
    }
  }

  // ---- publishing ----

  /** A room event with no seq (join, leave, nick): to every node's members; resolves once delivered here. */
  announce(room: string, event: ServerMessage): Promise<void> {
    const line = JSON.stringify(event);
    // A change to a record (kind c) is news to every node's replay of the room, this one's at once.
    const change = changesRecord(event);
    if (change) this.rooms.get(room)?.history.noteChanged();
    const kind = change ? 'c' : 'e';
    if (!this.up) {
      this.deliverLocally(room, line);
      return Promise.resolve();
    }
    if (!this.rooms.get(room)?.members.size) {
      // Nobody here to deliver to (the last one here just left): no echo to wait for, we may have unsubscribed.
      this.command.publish(key.roomChannel(room), `${this.nodeId}\n\n${kind}\n${line}`).catch(() => {});
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const token = String(this.nextToken++);
      const entry: Pending = { room, at: Date.now(), line, resolve: () => resolve(), reject: () => resolve() };
      this.pending.set(token, entry);
      this.command.publish(key.roomChannel(room), `${this.nodeId}\n${token}\n${kind}\n${line}`).catch(() => {
        if (this.pending.delete(token)) this.deliverPendingLocally(entry);
      });
    });
  }

  /**
   * A room record (a message, or a room's file event): numbered by Redis, stored in the room's stream and
   * published, all in one script. Resolves with its seq once it has been delivered to this node's members.
   */
  append(name: string, draft: RecordDraft, author?: Authorship): Promise<number> {
    const room = this.rooms.get(name);
    if (!room) return Promise.resolve(0);
    // Only Redis numbers a room's records: numbering here while it is away could give a seq that another node
    // gives too, or that Redis gives again once it is back (empty, if it lost its data).
    if (!this.up || Date.now() < this.numberingFrom) return Promise.reject(linkDown());
    const json = JSON.stringify(draft);
    const prefix = `${json.slice(0, -1)},"seq":`;
    const suffix = '}';
    return new Promise((resolve, reject) => {
      const token = String(this.nextToken++);
      const entry: Pending = { room: name, at: Date.now(), prefix, suffix, resolve, reject };
      this.pending.set(token, entry);
      const publish = [this.nodeId, token, prefix, suffix, room.lastSeq, this.config.clusterHistory];
      // An account's authorship goes to Redis in the same script; a guest's stays here (RecentAuthors).
      const numbered = author?.account
        ? this.command.publishRecordBy(
            key.seq(name), key.history(name), key.roomChannel(name), conversationKey.authors(name), conversationKey.read(author.principal),
            ...publish, author.principal, author.window, name, author.account.maxRooms,
          )
        : this.command.publishRecord(key.seq(name), key.history(name), key.roomChannel(name), ...publish);
      numbered
        .then(
          (seq) => {
            entry.seq = Number(seq);
            if (author) this.conversations.noteSent(name, entry.seq, author.principal, author.window, null);
          },
          () => {
            if (this.pending.delete(token)) this.deliverPendingLocally(entry);
          },
        );
    });
  }

  /** A record Redis numbered whose echo will not come: deliver it here with that seq. */
  private recordLocally(room: Room, prefix: string, suffix: string, seq: number): number {
    if (seq > room.lastSeq) room.lastSeq = seq;
    const line = prefix + seq + suffix;
    room.history.remember(JSON.parse(line) as RoomRecord);
    if (this.isNew(room.name, seq)) this.deliverLocally(room.name, line);
    return seq;
  }

  /** Echoes overdue by more than ECHO_TIMEOUT_MS: deliver here and answer, rather than wait forever. */
  private expirePending(): void {
    const overdue = Date.now() - ECHO_TIMEOUT_MS;
    for (const [token, entry] of this.pending) {
      if (entry.at > overdue) continue;
      this.pending.delete(token);
      this.log.warn({ room: entry.room }, 'no echo from redis in time: delivered on this node only');
      this.deliverPendingLocally(entry);
    }
  }

  /** The echo will not come (Redis went away, or too slow): finish what can be finished here. */
  private deliverPendingLocally(entry: Pending): void {
    if (entry.prefix !== undefined) {
      // Never numbered by Redis: not sent, and the sender is told so.
      if (entry.seq === undefined) return entry.reject(linkDown());
      const room = this.rooms.get(entry.room);
      if (!room) return entry.resolve(entry.seq);
      entry.resolve(this.recordLocally(room, entry.prefix, entry.suffix!, entry.seq));
    } else {
      this.deliverLocally(entry.room, entry.line!);
      entry.resolve(0);
    }
  }

  /** `presence`: a join, leave or nick (kind e), which may wait for the next presence pass. */
  private deliverLocally(roomName: string, line: string, presence = false): void {
    const room = this.rooms.get(roomName);
    if (!room || room.members.size === 0) return;
    const bytes = lineBytes(line);
    if (presence) announceToMembers(room, bytes);
    else fanOut(room.members, bytes);
  }

  /**
   * `origin 
 token 
 kind 
 line`: kind r = room record, c = a change to one (edit, delete, reaction), e = other
   * room event, d = private message (its token: "principal nick" it is for), a = news of an account, or of a guest
   * attached to from another node, to announce in its rooms (announceToRoomsOf).
   */
  private onMessage(channel: string, message: string): void {
    const first = message.indexOf('\n');
    const second = message.indexOf('\n', first + 1);
    const third = message.indexOf('\n', second + 1);
    if (first < 0 || second < 0 || third < 0) return;
    const origin = message.slice(0, first);
    const token = message.slice(first + 1, second);
    const kind = message.slice(second + 1, third);
    const line = message.slice(third + 1);
    if (channel.startsWith(NODE_CHANNEL) || channel.startsWith(ACCOUNT_CHANNEL)) {
      // A private message; on an account's channel this node's own were delivered when sent.
      if (origin === this.nodeId && channel.startsWith(ACCOUNT_CHANNEL)) return;
      // `token` is "principal nick": whom it is for (the recipient, or the sender's account for its own copy), and
      // the nick they hold. Whoever took the nick meanwhile does not receive it.
      const [principal = '', nick = ''] = token.split(' ');
      if (kind === 'a') {
        const { id, event } = JSON.parse(line) as { id: string; event: AwayEvent };
        void this.announceHere(id, { principal, nick }, event).catch(() => {});
        return;
      }
      if (kind !== 'd') return;
      const bytes = lineBytes(line);
      for (const holder of this.nicks.holdersOf(nick)) if (holder.principal === principal) holder.deliver(bytes);
      return;
    }
    if (!channel.startsWith(ROOM_CHANNEL)) return;
    const roomName = channel.slice(ROOM_CHANNEL.length);
    if (kind === 'x') return this.onRoomControl?.(roomName, line);
    const room = this.rooms.get(roomName);
    let seq = 0;
    let deliver = true;
    if (kind === 'r') {
      const record = JSON.parse(line) as RoomRecord;
      seq = record.seq;
      deliver = this.isNew(roomName, seq);
      if (room && deliver) {
        room.history.remember(record);
        if (seq > room.lastSeq) room.lastSeq = seq;
      }
    }
    if (kind === 'c') room?.history.noteChanged();
    if (deliver) this.deliverLocally(roomName, line, kind === 'e' || kind === 'c');
    if (origin === this.nodeId && token !== '') {
      const entry = this.pending.get(token);
      if (entry) {
        this.pending.delete(token);
        entry.resolve(seq);
      }
    }
  }

  localMembers(room: string): Iterable<Member> {
    return this.rooms.get(room)?.members ?? [];
  }

  /** To every node following the room, this one included (here at once while Redis is away). */
  roomControl(room: string, payload: string): void {
    const here = () => this.onRoomControl?.(room, payload);
    if (!this.up) return here();
    this.command.publish(key.roomChannel(room), `${this.nodeId}\n\nx\n${payload}`).catch(here);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.retention.stop();
    this.tokens.close();
    if (this.up) await this.command.zrem(key.nodes, this.nodeId).catch(() => {});
    this.closed = true;
    this.up = false;
    if (!this.command) return;
    await Promise.all([this.command.quit().catch(() => {}), this.subscriber.quit().catch(() => {})]);
    this.command.disconnect();
    this.subscriber.disconnect();
  }
}
