// Conversations of a cluster (state/conversation.ts) in Redis, beside the room streams that hold its history:
//
//   chat:authors:<room>      hash seq -> the account (principal) that sent it (the newest `window` messages only)
//   chat:changes:<room>      hash seq -> the message's change (JSON, as StoredChange)
//   chat:read:<principal>    hash room -> the account's read marker
//   chat:changelog:<room>    sorted set seq by the room's newest seq when it was last changed (for `since` resumes)
//   chat:changelog-ts:<room> hash seq -> when it was last changed
//
// where <room> is a room, or a private conversation's key (state/privates.ts: `a:…|g:…`, never a room name).
//
// Each change is one Lua script, so that two nodes changing one message at once (two reactions) both count.

import type { Redis } from 'ioredis';
import { parseChange, RecentAuthors, type ChangeLogEntry, type ChangeOutcome, type ChangeRequest, type ConversationStore, type ReadMarker, type StoredChange } from '../state/conversation.js';

export const conversationKey = {
  authors: (room: string) => `chat:authors:${room}`,
  changes: (room: string) => `chat:changes:${room}`,
  read: (principal: string) => `chat:read:${principal}`,
  changeLog: (conversation: string) => `chat:changelog:${conversation}`,
  changeTimes: (conversation: string) => `chat:changelog-ts:${conversation}`,
};

/** Lua: raise marker `room` of hash `key` to `seq` unless the hash has `maxRooms` other rooms; the marker, or -1. */
const RAISE_MARKER = `
  local function raiseMarker(key, room, seq, maxRooms)
    local now = redis.call('HGET', key, room)
    if not now and redis.call('HLEN', key) >= maxRooms then return -1 end
    if now and tonumber(now) >= seq then return tonumber(now) end
    redis.call('HSET', key, room, seq)
    return seq
  end`;

/** Lua: raise marker ARGV[m] (room) of hash KEYS[k] to ARGV[m+1] unless the hash has ARGV[m+2] other rooms; the marker, or -1. */
const RAISE = (k: number, m: number) => `${RAISE_MARKER}
  local function raise() return raiseMarker(KEYS[${k}], ARGV[${m}], tonumber(ARGV[${m + 1}]), tonumber(ARGV[${m + 2}])) end`;

/**
 * Lua: message `seq` of `room` was sent by the account `principal`: its author is kept in hash `authors` (and the
 * one `window` seqs older forgotten), and its read marker in hash `read` raised. Also run by the script that
 * publishes the message (cluster/scripts.ts publishRecordBy), so that it costs no call of its own.
 */
export const NOTE_SENT = `${RAISE_MARKER}
  local function noteSent(authors, read, room, seq, principal, window, maxRooms)
    redis.call('HSET', authors, seq, principal)
    if seq - window > 0 then redis.call('HDEL', authors, seq - window) end
    raiseMarker(read, room, seq, maxRooms)
  end`;

const SCRIPTS = {
  /** KEYS authors, read; ARGV seq, principal, window, room, seq again, maxRooms. */
  noteSent: `${NOTE_SENT}
    noteSent(KEYS[1], KEYS[2], ARGV[4], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[6]))
    return 1`,
  /** KEYS read; ARGV room, seq, maxRooms. */
  markRead: `${RAISE(1, 1)} return raise()`,
  /**
   * KEYS changes; ARGV seq, op (edit, delete, react), text or emoji, principal, maxEmoji. The new state (JSON), or
   * 'deleted' / 'too_many'. The rule of state/conversation.ts applyChange.
   */
  change: `
    local raw = redis.call('HGET', KEYS[1], ARGV[1])
    local state = raw and cjson.decode(raw) or {}
    if state.d then return 'deleted' end
    if ARGV[2] == 'delete' then
      state = { d = 1 }
    elseif ARGV[2] == 'edit' then
      state.t = ARGV[3]
    else
      local r = state.r or {}
      local found = nil
      for i, entry in ipairs(r) do if entry.e == ARGV[3] then found = i end end
      if found then
        local by = r[found].p
        local at = nil
        for i, p in ipairs(by) do if p == ARGV[4] then at = i end end
        if at then table.remove(by, at) else table.insert(by, ARGV[4]) end
        if #by == 0 then table.remove(r, found) end
      else
        if #r >= tonumber(ARGV[5]) then return 'too_many' end
        table.insert(r, { e = ARGV[3], p = { ARGV[4] } })
      end
      if #r == 0 then state.r = nil else state.r = r end
    end
    local out = cjson.encode(state)
    redis.call('HSET', KEYS[1], ARGV[1], out)
    return out`,
  /** KEYS change log, change times; ARGV seq, at, ts, window. Entries changed before at - window go. */
  logChange: `
    redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
    local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(ARGV[2]) - tonumber(ARGV[4])), 'LIMIT', 0, 1000)
    if #old > 0 then
      redis.call('ZREM', KEYS[1], unpack(old))
      redis.call('HDEL', KEYS[2], unpack(old))
    end
    return 1`,
};

type Scripted = Redis & {
  conversationNoteSent(...args: (string | number)[]): Promise<unknown>;
  conversationMarkRead(...args: (string | number)[]): Promise<unknown>;
  conversationChange(...args: (string | number)[]): Promise<unknown>;
  conversationLogChange(...args: (string | number)[]): Promise<unknown>;
};

const defined = new WeakSet<Redis>();

export class RedisConversationStore implements ConversationStore {
  /** Authors of messages sent from this node: a guest's never go to Redis (only its own connection may change them). */
  private readonly recent = new RecentAuthors();

  /** `redis` is asked for the connection each time: a node makes it in start(). */
  constructor(
    private readonly redis: () => Redis,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  private get command(): Scripted {
    const redis = this.redis();
    if (!defined.has(redis)) {
      redis.defineCommand('conversationNoteSent', { numberOfKeys: 2, lua: SCRIPTS.noteSent });
      redis.defineCommand('conversationMarkRead', { numberOfKeys: 1, lua: SCRIPTS.markRead });
      redis.defineCommand('conversationChange', { numberOfKeys: 1, lua: SCRIPTS.change });
      redis.defineCommand('conversationLogChange', { numberOfKeys: 2, lua: SCRIPTS.logChange });
      defined.add(redis);
    }
    return redis as Scripted;
  }

  noteSent(room: string, seq: number, principal: string, window: number, account: { maxRooms: number } | null): void {
    this.recent.add(room, seq, principal, window);
    if (!account) return;
    this.command
      .conversationNoteSent(conversationKey.authors(room), conversationKey.read(principal), seq, principal, window, room, seq, account.maxRooms)
      .catch(this.onError);
  }

  async author(room: string, seq: number): Promise<string | null> {
    return this.recent.get(room, seq) ?? (await this.command.hget(conversationKey.authors(room), String(seq)));
  }

  async changes(room: string, seqs: number[]): Promise<Map<number, StoredChange>> {
    const found = new Map<number, StoredChange>();
    if (seqs.length === 0) return found;
    const values = await this.command.hmget(conversationKey.changes(room), ...seqs.map(String));
    values.forEach((value, i) => {
      if (value !== null) found.set(seqs[i]!, parseChange(value));
    });
    return found;
  }

  async change(room: string, seq: number, request: ChangeRequest): Promise<ChangeOutcome> {
    const argument = request.op === 'edit' ? request.text : request.op === 'react' ? request.emoji : '';
    const principal = request.op === 'react' ? request.principal : '';
    const maxEmoji = request.op === 'react' ? request.maxEmoji : 0;
    const out = String(await this.command.conversationChange(conversationKey.changes(room), seq, request.op, argument, principal, maxEmoji));
    return out === 'deleted' || out === 'too_many' ? out : parseChange(out);
  }

  async markRead(principal: string, room: string, seq: number, maxRooms: number): Promise<number> {
    return Number(await this.command.conversationMarkRead(conversationKey.read(principal), room, seq, maxRooms));
  }

  async marker(principal: string, room: string): Promise<number | null> {
    const value = await this.command.hget(conversationKey.read(principal), room);
    return value === null ? null : Number(value);
  }

  async markers(principal: string): Promise<ReadMarker[]> {
    const all = await this.command.hgetall(conversationKey.read(principal));
    return Object.entries(all)
      .map(([room, seq]) => ({ room, seq: Number(seq) }))
      .sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
  }

  async logChange(conversation: string, seq: number, at: number, ts: string, window: number): Promise<void> {
    await this.command.conversationLogChange(conversationKey.changeLog(conversation), conversationKey.changeTimes(conversation), seq, at, ts, window);
  }

  async changedSince(conversation: string, since: number): Promise<ChangeLogEntry[]> {
    const scored = await this.command.zrangebyscore(conversationKey.changeLog(conversation), since, '+inf', 'WITHSCORES');
    const logged: { seq: number; at: number }[] = [];
    for (let i = 0; i < scored.length; i += 2) if (Number(scored[i]) <= since) logged.push({ seq: Number(scored[i]), at: Number(scored[i + 1]) });
    if (logged.length === 0) return [];
    const times = await this.command.hmget(conversationKey.changeTimes(conversation), ...logged.map(({ seq }) => String(seq)));
    const entries = logged.map(({ seq, at }, i) => ({ seq, at, ts: times[i] ?? '' }));
    // Oldest change first, as one node orders them: by the newest seq then, the time, the seq.
    entries.sort((a, b) => a.at - b.at || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.seq - b.seq));
    return entries.map(({ seq, ts }) => ({ seq, ts }));
  }

  async forget(conversation: string, parties: readonly string[]): Promise<void> {
    const batch = this.command
      .multi()
      .del(conversationKey.authors(conversation), conversationKey.changes(conversation), conversationKey.changeLog(conversation), conversationKey.changeTimes(conversation));
    for (const party of parties) batch.hdel(conversationKey.read(party), conversation);
    await batch.exec();
  }

  close(): void {}
}
