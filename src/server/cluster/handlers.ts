// The handlers that differ on a cluster node (docs/scale-out.md): nicks, members, room messages, private messages
// and history go through Redis, so they are asynchronous. Each holds the session's input while it runs, so a
// connection's requests are still handled one after the other and answered in order (`printf … | nc -N` works).
// Room messages are the exception that keeps throughput: they are pipelined (sent to Redis at once, in order;
// each `ok` follows its echo), and only the end of input waits for those still in flight.

import {
  ErrorCode,
  nickKey,
  type ClientMessage,
  type ClientType,
  type PrivateMsgEvent,
} from '../../protocol/index.js';
import { banner, nickTaken, now, roomToJoin, roomToSendTo, welcome } from '../replies.js';
import type { Session } from '../session.js';
import type { Cluster } from './cluster.js';

type AsyncHandler<T extends ClientType> = (
  session: Session,
  message: Extract<ClientMessage, { type: T }>,
  cluster: Cluster,
) => Promise<void>;

const HISTORY_PAGE_MAX = 200;

/** A guest nick (unique by the node's tag in it), registered cluster-wide so that private messages reach it. */
async function ensureNick(session: Session, cluster: Cluster): Promise<void> {
  if (session.nick !== '') return;
  session.nick = session.server.nicks.claimGuest(session);
  await cluster.claimNick(session.nick);
}

/** Take `nick` on this node and cluster-wide; announce the change to the session's rooms. */
async function takeNick(session: Session, nick: string, id: ClientMessage['id'], cluster: Cluster): Promise<boolean> {
  const { nicks } = session.server;
  const old = session.nick;
  if (old === nick) return true;
  const holder = nicks.owner(nick);
  if (holder !== undefined && holder !== session) return nickTaken(session, nick, id);
  const sameKey = old !== '' && nickKey(old) === nickKey(nick);
  if (!sameKey && !(await cluster.claimNick(nick))) return nickTaken(session, nick, id);
  if (session.closed || !nicks.claim(nick, session, old === '' ? undefined : old)) {
    // Gone meanwhile, or another connection of this node took it while we asked Redis (it keeps the claim).
    if (!sameKey && nicks.owner(nick) === undefined) cluster.releaseNick(nick);
    return session.closed ? false : nickTaken(session, nick, id);
  }
  if (old !== '' && !sameKey) cluster.releaseNick(old);
  session.nick = nick;
  for (const room of session.rooms) {
    cluster.removeMember(room, old);
    cluster.addMember(room, nick);
  }
  if (old === '') return true;
  const ts = now();
  if (session.rooms.size === 0) session.send({ type: 'nick', old, nick, ts });
  await Promise.all([...session.rooms].map((room) => cluster.publish(room, { type: 'nick', room, old, nick, ts })));
  return true;
}

const hello: AsyncHandler<'hello'> = async (session, { nick, id }, cluster) => {
  if (nick !== undefined && !(await takeNick(session, nick, id, cluster))) return;
  await ensureNick(session, cluster);
  session.reply(id, welcome(session, session.nick));
};

const join: AsyncHandler<'join'> = async (session, request, cluster) => {
  const { room: name, nick, since, id } = request;
  if (nick !== undefined && !(await takeNick(session, nick, id, cluster))) return;
  await ensureNick(session, cluster);
  const room = roomToJoin(session, request);
  if (!room) return;
  // Subscribed and loaded before the member is added: nothing said in the room from now on can be missed.
  await cluster.ensureRoom(room);
  if (session.closed) return;
  if (!session.rooms.has(name)) {
    room.members.add(session);
    session.rooms.add(name);
    cluster.addMember(name, session.nick);
    await cluster.publish(name, { type: 'join', room: name, nick: session.nick, ts: now() });
  }
  const nicks = await cluster.members(name);
  if (!nicks.includes(session.nick)) nicks.push(session.nick);
  session.reply(id, { type: 'members', room: name, nicks });
  for (const record of room.history.since(since ?? 0)) session.send({ ...record, history: true });
  session.send(banner(name, nicks.length - 1));
};

const leave: AsyncHandler<'leave'> = async (session, { room, id }, cluster) => {
  if (!session.rooms.has(room)) {
    session.error(ErrorCode.not_in_room, `you are not in ${JSON.stringify(room)}`, id);
    return;
  }
  await cluster.publish(room, { type: 'leave', room, nick: session.nick, ts: now() });
  cluster.removeMember(room, session.nick);
  session.server.removeFromRoom(session, room);
  if (id !== undefined) session.send({ type: 'ok', id });
};

/** Room messages of a session still awaiting their echo; the end of its input waits for them. */
interface InFlight {
  count: number;
  endHold: (() => void) | null;
}
const inFlight = new WeakMap<Session, InFlight>();

function trackInFlight(session: Session): InFlight {
  let state = inFlight.get(session);
  if (!state) {
    const created: InFlight = { count: 0, endHold: null };
    inFlight.set(session, created);
    // Before the session's own 'end' listener: hold its input so that it does not close before the echoes.
    session.stream.prependListener('end', () => {
      if (created.count > 0 && !created.endHold) created.endHold = session.holdInput();
    });
    state = created;
  }
  return state;
}

/** A room message: checked and sent to Redis now; its `ok` goes out when its echo has been delivered here. */
function roomMsg(session: Session, message: Extract<ClientMessage, { type: 'msg'; room: string }>, cluster: Cluster): void {
  const room = roomToSendTo(session, message.room, message.id);
  if (!room) return;
  const state = trackInFlight(session);
  state.count++;
  // Input already ended (the lines were waiting behind an earlier request): answer this one before going on.
  if (session.stream.readableEnded && !state.endHold) state.endHold = session.holdInput();
  const sent = cluster.publishRecord(room, {
    type: 'msg',
    room: room.name,
    from: session.nick,
    text: message.text,
    ts: now(),
    ...(message.me ? { me: true as const } : {}),
  });
  void sent.then((seq) => {
    if (message.id !== undefined) session.send({ type: 'ok', id: message.id, seq });
    if (--state.count === 0 && state.endHold) {
      const release = state.endHold;
      state.endHold = null;
      release();
    }
  });
}

const msg: AsyncHandler<'msg'> = async (session, message, cluster) => {
  const { server } = session;
  const me = message.me ? { me: true as const } : {};
  if ('to' in message) {
    await ensureNick(session, cluster);
    const local = server.nicks.owner(message.to);
    const make = (to: string): PrivateMsgEvent => ({ type: 'msg', to, from: session.nick, text: message.text, ts: now(), ...me });
    let event: PrivateMsgEvent | null;
    if (local) {
      event = make(local.nick);
      local.send(event);
    } else {
      event = (await cluster.sendPrivate(message.to, make)) as PrivateMsgEvent | null;
    }
    if (!event) {
      session.error(ErrorCode.no_such_user, `nobody is connected as ${JSON.stringify(message.to)}`, message.id);
      return;
    }
    if (local !== session) session.send(event);
    if (message.id !== undefined) session.send({ type: 'ok', id: message.id });
    return;
  }
  roomMsg(session, message, cluster);
};

const nick: AsyncHandler<'nick'> = async (session, { nick: wanted, id }, cluster) => {
  if ((await takeNick(session, wanted, id, cluster)) && id !== undefined) session.send({ type: 'ok', id });
};

const who: AsyncHandler<'who'> = async (session, { room, id }, cluster) => {
  session.reply(id, { type: 'members', room, nicks: await cluster.members(room) });
};

const rooms: AsyncHandler<'rooms'> = async (session, { id }, cluster) => {
  session.reply(id, { type: 'rooms', rooms: await cluster.rooms() });
};

const history: AsyncHandler<'history'> = async (session, { room: name, before, limit, id }, cluster) => {
  const room = session.server.rooms.get(name) ?? session.server.rooms.open(name);
  const pageSize = Math.min(limit ?? 50, HISTORY_PAGE_MAX);
  let older: Awaited<ReturnType<Cluster['before']>> = [];
  if (room) {
    await cluster.ensureRoom(room);
    older = await cluster.before(room, before ?? room.lastSeq + 1, pageSize + 1);
  }
  const more = older.length > pageSize;
  const messages = more ? older.slice(1) : older;
  session.reply(id, { type: 'history', room: name, messages, more });
};

const asyncHandlers: { [T in ClientType]?: AsyncHandler<T> } = { hello, join, leave, msg, nick, who, rooms, history };

/**
 * Handle `message` the cluster way when it is one of the types above; false for the others (ping, quit, files),
 * which the single-node handlers serve unchanged.
 */
export function dispatchClustered(session: Session, message: ClientMessage, cluster: Cluster): boolean {
  const handler = asyncHandlers[message.type] as AsyncHandler<typeof message.type> | undefined;
  if (!handler) return false;
  if (message.type === 'msg' && 'room' in message && session.nick !== '') {
    roomMsg(session, message, cluster);
    return true;
  }
  const release = session.holdInput();
  handler(session, message as never, cluster)
    .catch((error: Error) => session.server.log.error({ conn: session.id, err: error.message }, 'cluster handler failed'))
    .finally(release);
  return true;
}
