// Redis's side of a cluster (docs/scale-out.md): where each shared thing is kept, and the Lua scripts that change
// several keys at once, so that Redis runs each as one step.

import type { Redis } from 'ioredis';
import { nickKey } from '../../protocol/index.js';
import { NOTE_SENT } from './conversation.js';

export const key = {
  seq: (room: string) => `chat:seq:${room}`,
  history: (room: string) => `chat:hist:${room}`,
  members: (room: string) => `chat:members:${room}`,
  nick: (nick: string) => `chat:nick:${nickKey(nick)}`,
  /** The nodes where connections of the account that holds a nick hold it too. */
  nickNodes: (nick: string) => `chat:nick-nodes:${nickKey(nick)}`,
  /** Every room that has (had) members, by name: a sorted set with score 0, read in pages by ZRANGEBYLEX. */
  rooms: 'chat:roomindex',
  nodes: 'chat:nodes',
  roomChannel: (room: string) => `chat:room:${room}`,
  nodeChannel: (node: string) => `chat:node:${node}`,
  /** The rooms where news of a principal (its away mark) was announced: once per room, by the first node. */
  announced: (id: string) => `chat:announced:${id}`,
  /** Private messages to an account, to every node where it has a connection. */
  accountChannel: (principal: string) => `chat:account-channel:${principal}`,
};
export const ROOM_CHANNEL = 'chat:room:';
export const NODE_CHANNEL = 'chat:node:';
export const ACCOUNT_CHANNEL = 'chat:account-channel:';

/** Lua: Redis's clock in ms, so that liveness does not depend on the nodes' clocks agreeing. */
export const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";
/** Lua: is node `n` alive (a heartbeat within ARGV[deadArg] ms)? */
export const ALIVE = (deadArg: number) =>
  `local function alive(n) local b = redis.call('ZSCORE', KEYS[2], n) return b and tonumber(b) > now - tonumber(ARGV[${deadArg}]) end`;

/** Lua: KEYS seq, history, channel; ARGV node, token, prefix, suffix, floor, maxlen. Numbers, keeps and publishes a record as `seq`. */
const PUBLISH_RECORD = `
      local seq = redis.call('INCR', KEYS[1])
      local floor = tonumber(ARGV[5])
      if seq <= floor then seq = floor + 1 redis.call('SET', KEYS[1], seq) end
      local line = ARGV[3] .. seq .. ARGV[4]
      pcall(redis.call, 'XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], seq .. '-0', 'r', line)
      redis.call('PUBLISH', KEYS[3], ARGV[1] .. '\\n' .. ARGV[2] .. '\\nr\\n' .. line)`;

export const SCRIPTS = {
  /** KEYS seq, history, channel; ARGV node, token, prefix, suffix, floor, maxlen. Returns the seq. */
  publishRecord: {
    numberOfKeys: 3,
    lua: `${PUBLISH_RECORD}
      return seq`,
  },
  /** KEYS seq; ARGV floor. Raise the counter to at least floor (after Redis lost its data). */
  seedSeq: {
    numberOfKeys: 1,
    lua: `if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1`,
  },
  /**
   * KEYS history, channel; ARGV maxlen, node, then seq, line, seq, line... (oldest first). After Redis came back
   * without its data, or when a node missed the last echoes before Redis died: the records a node's ring has beyond
   * the stream's end are appended and published again, so every node ends up with what any node acknowledged.
   */
  mergeHistory: {
    numberOfKeys: 2,
    lua: `local last = 0
      local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
      if #top > 0 then last = tonumber(string.match(top[1][1], '^(%d+)')) end
      local added = 0
      for i = 3, #ARGV, 2 do
        local seq = tonumber(ARGV[i])
        if seq > last then
          redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'r', ARGV[i + 1])
          redis.call('PUBLISH', KEYS[2], ARGV[2] .. '\\n\\nr\\n' .. ARGV[i + 1])
          last = seq
          added = added + 1
        end
      end
      return added`,
  },
  /**
   * KEYS nick, nodes, nick nodes; ARGV node, nick, deadMs, principal. 1 when the nick is now this node's: it was
   * free, its node is dead, or it is ours; or it is held elsewhere by the same account (state/principals.ts), whose
   * connections share it: this node is added to the nick's nodes. The nick's value is "node nick principal".
   */
  claimNick: {
    numberOfKeys: 3,
    lua: `${NOW} ${ALIVE(3)}
      local account = string.sub(ARGV[4], 1, 2) == 'a:'
      local owner = redis.call('GET', KEYS[1])
      if owner then
        local node, principal = string.match(owner, '^(%S+) %S+ ?(%S*)$')
        if node ~= ARGV[1] and alive(node) then
          if not account or principal ~= ARGV[4] then return 0 end
          redis.call('SADD', KEYS[3], ARGV[1])
          return 1
        end
      end
      redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[4])
      redis.call('DEL', KEYS[3])
      if account then redis.call('SADD', KEYS[3], ARGV[1]) end
      return 1`,
  },
  /**
   * KEYS nick, nodes, nick nodes; ARGV node, deadMs. This node no longer holds the nick: another live node of the
   * same account takes the record over, else the nick is free.
   */
  releaseNick: {
    numberOfKeys: 3,
    lua: `${NOW} ${ALIVE(2)}
      redis.call('SREM', KEYS[3], ARGV[1])
      local owner = redis.call('GET', KEYS[1])
      if not owner or string.match(owner, '^(%S+)') ~= ARGV[1] then return 1 end
      local rest = string.match(owner, '^%S+ (.*)$')
      for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do
        if alive(n) then redis.call('SET', KEYS[1], n .. ' ' .. rest) return 1 end
      end
      redis.call('DEL', KEYS[1], KEYS[3])
      return 1`,
  },
  /** KEYS nick, nodes, nick nodes; ARGV deadMs. "node nick principal" of a live holder, or nil. */
  lookupNick: {
    numberOfKeys: 3,
    lua: `${NOW} ${ALIVE(1)}
      local owner = redis.call('GET', KEYS[1])
      if not owner then return false end
      if alive(string.match(owner, '^(%S+)')) then return owner end
      local rest = string.match(owner, '^%S+ (.*)$')
      for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do
        if alive(n) then return n .. ' ' .. rest end
      end
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
  /**
   * KEYS rooms, nodes; ARGV deadMs, members key prefix, after ('' from the start), page size. One page of the index:
   * flat [room, count, ...] of the rooms in it with live members, then the name to continue after ('' at the end).
   * A page, so that no request makes Redis walk every room at once.
   */
  rooms: {
    numberOfKeys: 2,
    lua: `${NOW} ${ALIVE(1)}
      local from = ARGV[3] == '' and '-' or '(' .. ARGV[3]
      local page = tonumber(ARGV[4])
      local names = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, page)
      local out = {}
      for _, room in ipairs(names) do
        local all = redis.call('HGETALL', ARGV[2] .. room) local n = 0
        for i = 1, #all, 2 do if alive(all[i + 1]) then n = n + 1 end end
        if #all == 0 then redis.call('ZREM', KEYS[1], room) end
        if n > 0 then table.insert(out, room) table.insert(out, n) end
      end
      table.insert(out, #names == page and names[#names] or '')
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
      for _, room in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
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
  /**
   * publishRecord for a message an account sent, its author noted with it (cluster/conversation.ts NOTE_SENT): one
   * call per message. KEYS seq, history, channel, authors, read; ARGV publishRecord's, then principal, window, room,
   * maxRooms. Returns the seq.
   */
  publishRecordBy: {
    numberOfKeys: 5,
    lua: `${NOTE_SENT} ${PUBLISH_RECORD}
      noteSent(KEYS[4], KEYS[5], ARGV[9], seq, ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[10]))
      return seq`,
  },
};

export type ScriptName = keyof typeof SCRIPTS;
export type Scripted = Redis & { [K in ScriptName]: (...args: (string | number)[]) => Promise<unknown> };

