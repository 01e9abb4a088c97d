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
import { nickKey, type FileEvent, type RoomMsgEvent, type RoomRecord, type ServerMessage } from '../../protocol/index.js';
import type { RoomBus } from '../bus.js';
import type { Room } from '../rooms.js';
import type { ChatServer } from '../server.js';
import type { Session } from '../session.js';

const key = {
  seq: (room: string) => `chat:seq:${room}`,
  history: (room: string) => `chat:hist:${room}`,
  members: (room: string) => `chat:members:${room}`,
  nick: (nick: string) => `chat:nick:${nickKey(nick)}`,
  rooms: 'chat:rooms',
  nodes: 'chat:nodes',
  roomChannel: (room: string) => `chat:room:${room}`,
  nodeChannel: (node: string) => `chat:node:${node}`,
};
const ROOM_CHANNEL = 'chat:room:';
/** How long a node waits for its own event to come back from Redis before it delivers it locally. */
const ECHO_TIMEOUT_MS = 10_000;
const NODE_CHANNEL = 'chat:node:';

/** Lua: Redis's clock in ms, so that liveness does not depend on the nodes' clocks agreeing. */
const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";
/** Lua: is node `n` alive (a heartbeat within ARGV[deadArg] ms)? */
const ALIVE = (deadArg: number) =>
  `local function alive(n) local b = redis.call('ZSCORE', KEYS[2], n) return b and tonumber(b) > now - tonumber(ARGV[${deadArg}]) end`;

const SCRIPTS = {
  /** KEYS seq, history, channel; ARGV node, token, prefix, suffix, floor, maxlen. Returns the seq. */
  publishRecord: {
    numberOfKeys: 3,
    lua: `
      local seq = redis.call('INCR', KEYS[1])
      local floor = tonumber(ARGV[5])
      if seq <= floor then seq = floor + 1 redis.call('SET', KEYS[1], seq) end
      local line = ARGV[3] .. seq .. ARGV[4]
      pcall(redis.call, 'XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], seq .. '-0', 'r', line)
      redis.call('PUBLISH', KEYS[3], ARGV[1] .. '\\n' .. ARGV[2] .. '\\nr\\n' .. line)
      return seq`,
  },
  /** KEYS seq; ARGV floor. Raise the counter to at least floor (after Redis lost its data). */
  seedSeq: {
    numberOfKeys: 1,
    lua: `if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1`,
  },
  /** KEYS nick, nodes; ARGV node, nick, deadMs. 1 when the nick is now this node's. */
  claimNick: {
    numberOfKeys: 2,
    lua: `${NOW} ${ALIVE(3)}
      local owner = redis.call('GET', KEYS[1])
      if owner then
        local node = string.match(owner, '^(%S+)')
        if node ~= ARGV[1] and alive(node) then return 0 end
      end
      redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])
      return 1`,
  },
  /** KEYS nick; ARGV node. Delete the nick when this node owns it. */
  releaseNick: {
    numberOfKeys: 1,
    lua: `local owner = redis.call('GET', KEYS[1])
      if owner and string.match(owner, '^(%S+)') == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1`,
  },
  /** KEYS nick, nodes; ARGV deadMs. "node nick" of a live owner, or nil. */
  lookupNick: {
    numberOfKeys: 2,
    lua: `${NOW} ${ALIVE(1)}
      local owner = redis.call('GET', KEYS[1])
      if owner and alive(string.match(owner, '^(%S+)')) then return owner end
      return false`,
  },
  /** KEYS members, nodes; ARGV deadMs. Nicks in the room on live nodes. */
  members: {
    numberOfKeys: 2,
    lua: `${NOW} ${ALIVE(1)}
      local all = redis.call('HGETALL', KEYS[1]) local out = {}
      for i = 1, #all, 2 do if alive(all[i + 1]) then table.insert(out, all[i]) end end
      return out`,
  },
  /** KEYS rooms, nodes; ARGV deadMs, members key prefix. Flat [room, count, ...] of rooms with live members. */
  rooms: {
    numberOfKeys: 2,
    lua: `${NOW} ${ALIVE(1)}
      local out = {}
      for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
        local all = redis.call('HGETALL', ARGV[2] .. room) local n = 0
        for i = 1, #all, 2 do if alive(all[i + 1]) then n = n + 1 end end
        if #all == 0 then redis.call('SREM', KEYS[1], room) end
        if n > 0 then table.insert(out, room) table.insert(out, n) end
      end
      return out`,
  },
  /** KEYS nodes; ARGV node. 1 when the node was missing (it had been given up for dead): it must resync. */
  heartbeat: {
    numberOfKeys: 1,
    lua: `${NOW} return redis.call('ZADD', KEYS[1], now, ARGV[1])`,
  },
  /**
   * KEYS nodes, rooms; ARGV deadMs, members prefix, room channel prefix, node, ts. Give up dead nodes: drop their
   * members and announce each as a leave in its room. Atomic, so exactly one live node does it.
   */
  reapDead: {
    numberOfKeys: 2,
    lua: `${NOW}
      local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
      if #dead == 0 then return 0 end
      local gone = {}
      for _, n in ipairs(dead) do gone[n] = true redis.call('ZREM', KEYS[1], n) end
      for _, room in ipairs(redis.call('SMEMBERS', KEYS[2])) do
        local all = redis.call('HGETALL', ARGV[2] .. room)
        for i = 1, #all, 2 do
          if gone[all[i + 1]] then
            redis.call('HDEL', ARGV[2] .. room, all[i])
            local event = cjson.encode({ type = 'leave', room = room, nick = all[i], ts = ARGV[5], reason = 'server lost' })
            redis.call('PUBLISH', ARGV[3] .. room, ARGV[4] .. '\\n\\ne\\n' .. event)
          end
        end
      end
      return #dead`,
  },
};

type ScriptName = keyof typeof SCRIPTS;
type Scripted = Redis & { [K in ScriptName]: (...args: (string | number)[]) => Promise<unknown> };

/** A room event awaiting its own echo from Redis; delivered locally instead if Redis goes away first. */
interface Pending {
  room: string;
  /** When it was published: an echo that never comes (a lost subscription) must not hold a client forever. */
  at: number;
  resolve(seq: number): void;
  /** For a record: the line around its seq, and the seq once the script has answered. */
  prefix?: string;
  suffix?: string;
  seq?: number;
  /** For any other event: its line. */
  line?: string;
}

export class Cluster {
  readonly nodeId = randomBytes(4).toString('hex');
  readonly bus: RoomBus;
  // Made in start(): ioredis is loaded only by a node that joins a cluster (it costs a single server ~0.1 s).
  private command!: Scripted;
  private subscriber!: Redis;
  private up = false;
  private wasUp = false;
  private readonly loads = new Map<string, Promise<void>>();
  private readonly channels = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  private nextToken = 1;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly server: ChatServer,
    private readonly url: string,
  ) {
    this.channels.add(key.nodeChannel(this.nodeId));
    server.nicks.guestPrefix = `guest-${this.nodeId.slice(0, 4)}-`;
    const bus: RoomBus = { publish: (room, event) => void this.publish(room, event) };
    this.bus = bus;
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
      connection.on('error', (error: Error) => this.server.log.debug({ err: error.message }, 'redis error'));
      connection.on('ready', () => this.linkChanged());
      connection.on('close', () => this.linkChanged());
    }
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  private get deadMs(): number {
    return this.server.config.clusterHeartbeatMs * 3;
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
    if (!this.up) this.server.log.warn({ node: this.nodeId }, 'redis is not reachable yet: serving local members only');
    this.heartbeatTimer = setInterval(() => this.beat(), this.server.config.clusterHeartbeatMs).unref();
  }

  /** Say we are alive; give up nodes that are not (their members leave); re-register if we were given up. */
  private beat(): void {
    this.expirePending();
    if (!this.up) return;
    this.command
      .heartbeat(key.nodes, this.nodeId)
      .then((added) => {
        if (added === 1) {
          this.server.log.warn({ node: this.nodeId }, 'this node was given up for dead (too slow?): registering again');
          return this.resync();
        }
        return undefined;
      })
      .catch(() => {});
    this.command
      .reapDead(key.nodes, key.rooms, this.deadMs, 'chat:members:', ROOM_CHANNEL, this.nodeId, new Date().toISOString())
      .then((reaped) => {
        if (Number(reaped) > 0) this.server.log.warn({ nodes: reaped }, 'gave up silent nodes: their members left');
      })
      .catch(() => {});
  }

  private whenUpPromise: Promise<void> | null = null;
  private whenUp(): Promise<void> {
    return this.whenUpPromise ?? Promise.resolve();
  }

  get connected(): boolean {
    return this.up;
  }

  private syncing = false;

  private linkChanged(): void {
    if (this.closed) return;
    const ready = this.command.status === 'ready' && this.subscriber.status === 'ready';
    if (!ready && this.up) {
      this.up = false;
      this.server.log.warn({ node: this.nodeId }, 'lost redis: serving local members only until it is back');
      this.noticeAll('The link between chat servers is down: until it is back, only people on this server see your messages.');
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
        this.server.log.info({ node: this.nodeId }, this.wasUp ? 'redis is back' : 'connected to redis');
        if (this.wasUp) this.noticeAll('The link between chat servers is back.');
        this.wasUp = true;
        for (const room of this.server.rooms.occupied()) void this.ensureRoom(room);
      },
      (error: Error) => {
        this.syncing = false;
        this.server.log.warn({ err: error.message }, 'redis resync failed; will retry on reconnect');
      },
    );
  }

  /** After (re)connecting: say we are alive, subscribe, raise counters, claim our nicks, list our members. */
  private async resync(): Promise<void> {
    await this.command.heartbeat(key.nodes, this.nodeId);
    for (const room of this.server.rooms.occupied()) this.channels.add(key.roomChannel(room.name));
    await this.subscriber.subscribe(...this.channels);
    const batch = this.command.multi();
    for (const room of this.server.rooms.occupied()) {
      if (room.lastSeq > 0) batch.eval(SCRIPTS.seedSeq.lua, 1, key.seq(room.name), room.lastSeq);
    }
    for (const session of this.server.sessions) {
      if (session.nick === '') continue;
      batch.eval(SCRIPTS.claimNick.lua, 2, key.nick(session.nick), key.nodes, this.nodeId, session.nick, this.deadMs);
      for (const room of session.rooms) {
        batch.hset(key.members(room), session.nick, this.nodeId);
        batch.sadd(key.rooms, room);
      }
    }
    await batch.exec();
  }

  private noticeAll(text: string): void {
    for (const session of this.server.sessions) session.send({ type: 'notice', text });
  }

  // ---- rooms: subscription, history, members ----

  /** Subscribe to the room and load its recent history and counter from Redis (once per connection). */
  ensureRoom(room: Room<Session>): Promise<void> {
    if (!this.up) return Promise.resolve();
    let load = this.loads.get(room.name);
    if (!load) {
      load = this.loadRoom(room).catch((error: Error) => {
        this.loads.delete(room.name);
        this.server.log.debug({ room: room.name, err: error.message }, 'room load failed');
      });
      this.loads.set(room.name, load);
    }
    return load;
  }

  private async loadRoom(room: Room<Session>): Promise<void> {
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
    const stored = entries.map(([, fields]) => JSON.parse(fields[1]!) as RoomRecord);
    room.history.replace([...stored, ...room.history.all()]);
    room.lastSeq = Math.max(room.lastSeq, Number(counter ?? 0), ...stored.map((record) => record.seq));
  }

  addMember(room: string, nick: string): void {
    if (!this.up) return;
    this.command.multi().hset(key.members(room), nick, this.nodeId).sadd(key.rooms, room).exec().catch(() => {});
  }

  removeMember(room: string, nick: string): void {
    if (this.up && nick !== '') this.command.hdel(key.members(room), nick).catch(() => {});
  }

  /** Nicks in the room across live nodes, sorted; this node's view alone while Redis is away. */
  async members(room: string): Promise<string[]> {
    const local = () => this.server.rooms.get(room)?.nicks() ?? [];
    if (!this.up) return local();
    try {
      const nicks = (await this.command.members(key.members(room), key.nodes, this.deadMs)) as string[];
      return nicks.sort((a, b) => a.localeCompare(b));
    } catch {
      return local();
    }
  }

  async rooms(): Promise<{ room: string; members: number }[]> {
    const local = () => this.server.rooms.occupied().map((room) => ({ room: room.name, members: room.members.size }));
    if (!this.up) return local();
    try {
      const flat = (await this.command.rooms(key.rooms, key.nodes, this.deadMs, 'chat:members:')) as (string | number)[];
      const list: { room: string; members: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) list.push({ room: String(flat[i]), members: Number(flat[i + 1]) });
      return list.sort((a, b) => a.room.localeCompare(b.room));
    } catch {
      return local();
    }
  }

  /** Up to `limit` records with seq < before, oldest first: from the ring when it has them, else from Redis. */
  async before(room: Room<Session>, before: number, limit: number): Promise<RoomRecord[]> {
    const older = room.history.all().filter((record) => record.seq < before);
    if (older.length >= limit || (older.length > 0 && older[0]!.seq <= 1) || !this.up || before <= 1) {
      return older.slice(Math.max(0, older.length - limit));
    }
    try {
      const entries = await this.command.xrevrange(key.history(room.name), String(before - 1), '-', 'COUNT', limit);
      return entries.map(([, fields]) => JSON.parse(fields[1]!) as RoomRecord).reverse();
    } catch {
      return older.slice(Math.max(0, older.length - limit));
    }
  }

  // ---- nicks and private messages ----

  /** Take `nick` cluster-wide. True while Redis is away (re-claimed when it is back). */
  async claimNick(nick: string): Promise<boolean> {
    if (!this.up) return true;
    try {
      return (await this.command.claimNick(key.nick(nick), key.nodes, this.nodeId, nick, this.deadMs)) === 1;
    } catch {
      return true;
    }
  }

  releaseNick(nick: string): void {
    if (this.up && nick !== '') this.command.releaseNick(key.nick(nick), this.nodeId).catch(() => {});
  }

  /** Send a private message to `to` on whichever node has it. False when nobody (alive) has that nick. */
  async sendPrivate(to: string, event: (nick: string) => ServerMessage): Promise<ServerMessage | null> {
    if (!this.up) return null;
    try {
      const owner = (await this.command.lookupNick(key.nick(to), key.nodes, this.deadMs)) as string | null;
      if (!owner) return null;
      const space = owner.indexOf(' ');
      const message = event(owner.slice(space + 1));
      const receivers = await this.command.publish(
        key.nodeChannel(owner.slice(0, space)),
        `${this.nodeId}\n\nd\n${JSON.stringify(message)}`,
      );
      return receivers > 0 ? message : null;
    } catch {
      return null;
    }
  }

  // ---- publishing ----

  /** A room event with no seq (join, leave, nick): to every node's members; resolves once delivered here. */
  publish(room: string, event: ServerMessage): Promise<void> {
    const line = JSON.stringify(event);
    if (!this.up) {
      this.deliverLocally(room, line);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const token = String(this.nextToken++);
      const entry: Pending = { room, at: Date.now(), line, resolve: () => resolve() };
      this.pending.set(token, entry);
      this.command.publish(key.roomChannel(room), `${this.nodeId}\n${token}\ne\n${line}`).catch(() => {
        if (this.pending.delete(token)) this.deliverPendingLocally(entry);
      });
    });
  }

  /**
   * A room record (a message, or a room's file event): numbered by Redis, stored in the room's stream and
   * published, all in one script. Resolves with its seq once it has been delivered to this node's members.
   * Code that makes room records on a cluster node calls this instead of room.nextSeq() + bus.publish().
   */
  publishRecord(room: Room<Session>, event: Omit<RoomMsgEvent, 'seq'> | Omit<FileEvent, 'seq'>): Promise<number> {
    const json = JSON.stringify(event);
    const prefix = `${json.slice(0, -1)},"seq":`;
    const suffix = '}';
    if (!this.up) return Promise.resolve(this.recordLocally(room, prefix, suffix));
    return new Promise((resolve) => {
      const token = String(this.nextToken++);
      const entry: Pending = { room: room.name, at: Date.now(), prefix, suffix, resolve };
      this.pending.set(token, entry);
      const { clusterHistory } = this.server.config;
      this.command
        .publishRecord(
          key.seq(room.name), key.history(room.name), key.roomChannel(room.name),
          this.nodeId, token, prefix, suffix, room.lastSeq, clusterHistory,
        )
        .then(
          (seq) => (entry.seq = Number(seq)),
          () => {
            if (this.pending.delete(token)) this.deliverPendingLocally(entry);
          },
        );
    });
  }

  /** Redis is away: number the record here, above every seq this node has seen. */
  private recordLocally(room: Room<Session>, prefix: string, suffix: string, seq = room.nextSeq()): number {
    if (seq > room.lastSeq) room.lastSeq = seq;
    const line = prefix + seq + suffix;
    room.history.remember(JSON.parse(line) as RoomRecord);
    this.deliverLocally(room.name, line);
    return seq;
  }

  /** Echoes overdue by more than ECHO_TIMEOUT_MS: deliver here and answer, rather than wait forever. */
  private expirePending(): void {
    const overdue = Date.now() - ECHO_TIMEOUT_MS;
    for (const [token, entry] of this.pending) {
      if (entry.at > overdue) continue;
      this.pending.delete(token);
      this.server.log.warn({ room: entry.room }, 'no echo from redis in time: delivered on this node only');
      this.deliverPendingLocally(entry);
    }
  }

  private deliverPendingLocally(entry: Pending): void {
    if (entry.prefix !== undefined) {
      const room = this.server.rooms.get(entry.room);
      if (!room) return entry.resolve(entry.seq ?? 0);
      entry.resolve(this.recordLocally(room, entry.prefix, entry.suffix!, entry.seq ?? room.nextSeq()));
    } else {
      this.deliverLocally(entry.room, entry.line!);
      entry.resolve(0);
    }
  }

  private deliverLocally(roomName: string, line: string): void {
    const members = this.server.rooms.get(roomName)?.members;
    if (!members || members.size === 0) return;
    const bytes = Buffer.from(line + '\n', 'utf8');
    for (const member of [...members]) member.deliver(bytes);
  }

  /** `origin \n token \n kind \n line`: kind r = room record, e = other room event, d = private message. */
  private onMessage(channel: string, message: string): void {
    const first = message.indexOf('\n');
    const second = message.indexOf('\n', first + 1);
    const third = message.indexOf('\n', second + 1);
    if (first < 0 || second < 0 || third < 0) return;
    const origin = message.slice(0, first);
    const token = message.slice(first + 1, second);
    const kind = message.slice(second + 1, third);
    const line = message.slice(third + 1);
    if (channel.startsWith(NODE_CHANNEL)) {
      if (kind !== 'd') return;
      const event = JSON.parse(line) as { to?: string };
      this.server.nicks.owner(event.to ?? '')?.deliver(Buffer.from(line + '\n', 'utf8'));
      return;
    }
    if (!channel.startsWith(ROOM_CHANNEL)) return;
    const roomName = channel.slice(ROOM_CHANNEL.length);
    const room = this.server.rooms.get(roomName);
    let seq = 0;
    if (kind === 'r') {
      const record = JSON.parse(line) as RoomRecord;
      seq = record.seq;
      if (room) {
        room.history.remember(record);
        if (seq > room.lastSeq) room.lastSeq = seq;
      }
    }
    this.deliverLocally(roomName, line);
    if (origin === this.nodeId && token !== '') {
      const entry = this.pending.get(token);
      if (entry) {
        this.pending.delete(token);
        entry.resolve(seq);
      }
    }
  }

  /** A session is going away: its nick and memberships leave Redis. */
  forget(session: Session): void {
    for (const room of session.rooms) this.removeMember(room, session.nick);
    if (session.nick !== '' && this.server.nicks.owner(session.nick) === session) this.releaseNick(session.nick);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.up) await this.command.zrem(key.nodes, this.nodeId).catch(() => {});
    this.closed = true;
    this.up = false;
    if (!this.command) return;
    await Promise.all([this.command.quit().catch(() => {}), this.subscriber.quit().catch(() => {})]);
    this.command.disconnect();
    this.subscriber.disconnect();
  }
}
