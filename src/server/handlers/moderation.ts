// Running a room (docs/protocol.md "Running a room"): topic, operators, kick, ban, mute, invitations, modes,
// away. Who may do what is state/room-rules.ts; the rules are kept by ctx.backend.moderation, and every change
// reaches every node following the room (Backend.roomControl) before the room hears of it. The checks on join and
// on msg are `admit` and `mayNotSpeak`, called from chat.ts.

import {
  encode,
  ErrorCode,
  nickKey,
  nickProblem,
  type MembersEvent,
  type ModerationAction,
  type ModerationEvent,
  type RequestId,
} from '../../protocol/index.js';
import type { Session } from '../session.js';
import type { Member } from '../state/rooms.js';
import {
  accountOfPrincipal,
  admission,
  invitationKey,
  mayActOn,
  modeString,
  Rank,
  rankOf,
  readRefusal,
  speakRefusal,
  targetOf,
  withMode,
  type Refusal,
  type RoomRules,
  type Sanction,
  type Who,
} from '../state/room-rules.js';
import { accountPrincipal, isAccountPrincipal } from '../state/principals.js';
import type { Handler, ServerContext } from './context.js';
import { actingUser, ensureNick } from './identity.js';
import { awayAmong, awayMessageOf } from './away.js';
import { actsIn } from './tokens.js';
import { inRoom, now } from './replies.js';

/** Whether each account is a server admin, as last asked (on join and on each moderation request). */
const adminSeen = new WeakMap<object, { account: string; admin: boolean }>();

/** Who the session is for the rules, as far as is known without asking the store (the hot path). */
function whoNow(session: Session): Who {
  const user = actingUser(session);
  const account = user.account?.id ?? null;
  const seen = adminSeen.get(user);
  return { nick: user.nick, principal: user.principal, account, address: session.address.key, admin: account !== null && seen?.account === account && seen.admin };
}

/** Who the session is, its admin flag asked of the account store. */
async function whoIs(ctx: ServerContext, session: Session): Promise<Who> {
  const user = actingUser(session);
  const account = user.account?.id ?? null;
  if (account !== null) {
    // Without an answer (a cluster's Redis away), what was known.
    const admin = await ctx.backend.accounts.isAdmin(account).catch(() => adminSeen.get(user)?.admin ?? false);
    adminSeen.set(user, { account, admin });
  }
  return whoNow(session);
}

// ---- the checks on join and msg (chat.ts) ----

/**
 * May the session join the room (not yet in it)? Banned, invite-only, key, limit; an invitation is used up. False
 * after the error reply.
 */
export async function admit(ctx: ServerContext, session: Session, room: string, key: string | undefined, id: RequestId | undefined): Promise<boolean> {
  const who = await whoIs(ctx, session);
  if (who.account === null) ctx.backend.moderation.rememberGuest(who.principal, who.address);
  const rules = await ctx.backend.moderation.load(room);
  if (!rules) return true;
  const members = rules.limit === undefined ? 0 : (await ctx.backend.members(room, 1)).count;
  const verdict = admission(rules, who, room, key, members);
  if ('refusal' in verdict) {
    session.error(verdict.refusal.code, verdict.refusal.message, id);
    return false;
  }
  if (verdict.invitation) await change(ctx, room, (r) => ({ ...r, invited: r.invited.filter((i) => i !== verdict.invitation) }));
  return true;
}

/**
 * After a join: the first account in a room nobody ever ran owns it; the room's topic goes to the joiner (before the
 * banner); and the members list says who runs the room and who is away.
 */
export async function joined(ctx: ServerContext, session: Session, room: string, members: MembersEvent): Promise<MembersEvent> {
  const who = whoNow(session);
  let rules = ctx.backend.moderation.cached(room) ?? null;
  if (!rules && who.account !== null && members.nicks.length === 1 && (members.count ?? 1) === 1) {
    const owner = who.account;
    // Not being able to record it (a cluster's Redis away) does not stop the join: the room stays unowned.
    rules = await change(ctx, room, (r) => (r.owner ? null : { ...r, owner, ops: { ...r.ops, [owner]: who.nick } })).catch(() => null);
  }
  if (rules?.topic) session.send({ type: 'topic', room, topic: rules.topic.text, by: rules.topic.by, ts: rules.topic.ts });
  return marked(ctx, room, members, rules);
}

/** The members list with the room's operators and those away among its nicks. */
export async function marked(ctx: ServerContext, room: string, members: MembersEvent, rules = ctx.backend.moderation.cached(room) ?? null): Promise<MembersEvent> {
  const opKeys = new Set(Object.values(rules?.ops ?? {}).map(nickKey));
  const ops = opKeys.size === 0 ? [] : members.nicks.filter((nick) => opKeys.has(nickKey(nick)));
  const away = await awayAmong(ctx, members.nicks);
  return { ...members, ...(ops.length > 0 && { ops }), ...(away.length > 0 && { away }) };
}

/** The hot path: true (after a `muted` reply) when the sender may not speak in the room now. */
export function mayNotSpeak(ctx: ServerContext, session: Session, room: string, id: RequestId | undefined): boolean {
  const rules = ctx.backend.moderation.cached(room);
  // Most rooms: no rules, or none about speaking. One map lookup and two reads.
  if (!rules || (!rules.moderated && rules.mutes.length === 0)) return false;
  const refusal = speakRefusal(rules, whoNow(session), room);
  if (!refusal) return false;
  session.error(refusal.code, refusal.message, id);
  return true;
}

/** Whether the session is an operator (or owner, or server admin) of the room: they may delete any message there. */
export async function operatesRoom(ctx: ServerContext, session: Session, room: string): Promise<boolean> {
  const who = await whoIs(ctx, session);
  return rankOf(await ctx.backend.moderation.load(room), who) >= Rank.operator;
}

/**
 * Whether the session may reach the room from outside it: read its history, find it in a search, `post` to it
 * (state/room-rules.ts `readRefusal`); a member always may. Null when it may, else the refusal.
 */
export async function readRefused(ctx: ServerContext, session: Session, room: string): Promise<Refusal | null> {
  if (await actsIn(ctx, session, room)) return null;
  const rules = await ctx.backend.moderation.load(room);
  if (!rules) return null;
  return readRefusal(rules, await whoIs(ctx, session), room);
}

/** A private message went to `to` (held by `principal`): when they are away, the sender hears so, once. */
export async function tellAway(ctx: ServerContext, session: Session, to: string, principal: string): Promise<void> {
  const message = await ctx.backend.moderation.awayNews(to, principal, actingUser(session).principal);
  if (message !== null) session.send({ type: 'away', nick: to, away: true, message, ts: now() });
}

// ---- what travels between nodes ----

interface Control {
  rules?: RoomRules;
  /** A principal whose connections leave the room (kicked, banned), and why. */
  remove?: string;
  reason?: string;
}

/** Another node (or this one) changed the room's rules or removed someone from it. */
export function roomControlled(ctx: ServerContext, room: string, payload: string): void {
  let control: Control;
  try {
    control = JSON.parse(payload) as Control;
  } catch {
    ctx.log.warn({ room }, 'unreadable room control message ignored');
    return;
  }
  if (control.rules) ctx.backend.moderation.adopt(room, control.rules);
  if (control.remove === undefined) return;
  const leaving: Member[] = [];
  for (const member of ctx.backend.localMembers(room)) if (member.principal === control.remove) leaving.push(member);
  const ts = now();
  for (const member of leaving) {
    ctx.backend.removeMember(room, member);
    member.deliver(encode({ type: 'leave', room, nick: member.nick, ts, ...(control.reason && { reason: control.reason }) }));
  }
}

/** Change the room's rules, and tell every node. */
async function change(ctx: ServerContext, room: string, edit: (rules: RoomRules) => RoomRules | null): Promise<RoomRules | null> {
  const before = ctx.backend.moderation.cached(room);
  const rules = await ctx.backend.moderation.update(room, edit);
  if (rules && rules !== before) ctx.backend.roomControl(room, JSON.stringify({ rules } satisfies Control));
  return rules;
}

/** Tell the room what an operator did. */
function tell(ctx: ServerContext, room: string, action: ModerationAction, by: string, text: string, extra: Partial<ModerationEvent> = {}) {
  return ctx.backend.announce(room, { type: 'moderation', room, action, by, ...extra, text, ts: now() });
}

// ---- who is asking, and about whom ----

interface Acting {
  who: Who;
  rules: RoomRules | null;
  rank: Rank;
}

/** The asker, the room's rules and the asker's rank there; null (after an error reply) when not in the room (admins may be). */
async function asker(ctx: ServerContext, session: Session, room: string, id: RequestId | undefined): Promise<Acting | null> {
  await ensureNick(ctx, session);
  const who = await whoIs(ctx, session);
  if (!who.admin && !actingUser(session).rooms.has(room) && !inRoom(session, room, id)) return null;
  const rules = await ctx.backend.moderation.load(room);
  return { who, rules, rank: rankOf(rules, who) };
}

/** The asker as an operator of the room; null after a not_operator reply. */
async function operator(ctx: ServerContext, session: Session, room: string, id: RequestId | undefined, what: string): Promise<Acting | null> {
  const acting = await asker(ctx, session, room, id);
  if (!acting) return null;
  if (acting.rank < Rank.operator) {
    session.error(ErrorCode.not_operator, `only the operators of ${room} may ${what}`, id);
    return null;
  }
  return acting;
}

/** Whom a request names: a member online (its principal), else an account by that name; null: nobody. */
interface Target {
  nick: string;
  principal: string | null;
  account: string | null;
  address: string | null;
  admin: boolean;
}

async function target(ctx: ServerContext, name: string): Promise<Target | null> {
  const holder = await ctx.backend.lookup(name);
  if (holder) {
    const account = accountOfPrincipal(holder.principal);
    const address = account === null ? await ctx.backend.moderation.guestAddress(holder.principal) : null;
    const admin = account !== null && (await ctx.backend.accounts.isAdmin(account));
    return { nick: holder.nick, principal: holder.principal, account, address, admin };
  }
  const record = ctx.config.accounts === 'off' ? null : await ctx.backend.accounts.find(name);
  if (!record) return null;
  return { nick: record.nick, principal: null, account: record.id, address: null, admin: await ctx.backend.accounts.isAdmin(record.id) };
}

function rankOfTarget(rules: RoomRules | null, t: Target): Rank {
  return rankOf(rules, { nick: t.nick, principal: t.principal ?? '', account: t.account, address: t.address ?? '', admin: t.admin });
}

/** The target named, that the operator may act on; null after an error reply. */
async function actOn(ctx: ServerContext, session: Session, acting: Acting, room: string, name: string, id: RequestId | undefined): Promise<Target | null> {
  const found = await target(ctx, name);
  if (!found) {
    session.error(ErrorCode.no_such_user, `nobody is connected as ${JSON.stringify(name)}, and no account has that name`, id);
    return null;
  }
  if (!mayActOn(acting.rank, rankOfTarget(acting.rules, found))) {
    session.error(ErrorCode.not_operator, `${found.nick} ${acting.rules?.owner === found.account ? 'owns' : 'runs'} ${room}: you may not do that to them`, id);
    return null;
  }
  return found;
}

/** Whether the nick is in the room now (anywhere in the cluster), as far as a members list says. */
async function isMember(ctx: ServerContext, room: string, nick: string): Promise<boolean> {
  const members = await ctx.backend.members(room, ctx.config.membersListMax);
  return members.nicks.some((n) => nickKey(n) === nickKey(nick)) || (members.count ?? 0) > members.nicks.length;
}

function ok(session: Session, id: RequestId | undefined): void {
  if (id !== undefined) session.send({ type: 'ok', id });
}

const because = (reason: string | undefined) => (reason ? `: ${reason}` : '');
const forDuration = (seconds: number | undefined) => (seconds === undefined ? '' : ` for ${spell(seconds)}`);

/** 90 -> "1m30s", 7200 -> "2h". */
function spell(seconds: number): string {
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  return parts.join('');
}

// ---- the handlers ----

const topic: Handler<'topic'> = async (ctx, session, { room, topic: text, id }) => {
  const acting = await asker(ctx, session, room, id);
  if (!acting) return;
  if (text === undefined) {
    const current = acting.rules?.topic;
    session.send({ type: 'topic', room, topic: current?.text ?? '', ...(current && { by: current.by, ts: current.ts }), ...(id !== undefined && { id }) });
    return;
  }
  if (acting.rank < Rank.operator && !acting.rules?.openTopic) {
    session.error(ErrorCode.not_operator, `only the operators of ${room} may set its topic (+t)`, id);
    return;
  }
  const ts = now();
  const by = acting.who.nick;
  await change(ctx, room, (r) => {
    const next = { ...r };
    if (text === '') delete next.topic;
    else next.topic = { text, by, ts };
    return next;
  });
  await ctx.backend.announce(room, { type: 'topic', room, topic: text, by, ts });
  ok(session, id);
};

const op: Handler<'op' | 'deop'> = async (ctx, session, { type, room, nick, id }) => {
  const acting = await operator(ctx, session, room, id, `${type} someone`);
  if (!acting) return;
  const found = type === 'op' ? await target(ctx, nick) : await actOn(ctx, session, acting, room, nick, id);
  if (!found) {
    if (type === 'op') session.error(ErrorCode.no_such_user, `nobody is connected as ${JSON.stringify(nick)}, and no account has that name`, id);
    return;
  }
  if (found.account === null) {
    session.error(ErrorCode.bad_request, `${found.nick} is a guest: only accounts can be operators (they must log in or register)`, id);
    return;
  }
  if (type === 'deop' && acting.rules?.owner === found.account && acting.rank < Rank.admin) {
    session.error(ErrorCode.not_operator, `${found.nick} owns ${room}`, id);
    return;
  }
  const account = found.account;
  await change(ctx, room, (r) => {
    const ops = { ...r.ops };
    if (type === 'op') ops[account] = found.nick;
    else delete ops[account];
    return { ...r, ops };
  });
  const by = acting.who.nick;
  const text = type === 'op' ? `${by} made ${found.nick} an operator of ${room}` : `${by} took operator rights in ${room} from ${found.nick}`;
  await tell(ctx, room, type, by, text, { nick: found.nick });
  ok(session, id);
};

const kick: Handler<'kick'> = async (ctx, session, { room, nick, reason, id }) => {
  const acting = await operator(ctx, session, room, id, 'kick');
  if (!acting) return;
  const found = await actOn(ctx, session, acting, room, nick, id);
  if (!found) return;
  if (found.principal === null || !(await isMember(ctx, room, found.nick))) {
    session.error(ErrorCode.not_in_room, `${found.nick} is not in ${room}`, id);
    return;
  }
  const by = acting.who.nick;
  await tell(ctx, room, 'kick', by, `${by} kicked ${found.nick} from ${room}${because(reason)}`, { nick: found.nick, ...(reason && { reason }) });
  ctx.backend.roomControl(room, JSON.stringify({ remove: found.principal, reason: `kicked by ${by}${because(reason)}` } satisfies Control));
  ok(session, id);
};

/** A ban or mute of `found` from now, for `duration` seconds (none: until lifted). */
function sanction(found: Target, by: string, reason: string | undefined, duration: number | undefined): Sanction {
  const ts = Date.now();
  const targetKey = targetOf({ account: found.account, address: found.address ?? '' });
  return { target: targetKey, nick: found.nick, by, ts, ...(reason && { reason }), ...(duration !== undefined && { until: ts + duration * 1000 }) };
}

const ban: Handler<'ban' | 'mute'> = async (ctx, session, { type, room, nick, duration, reason, id }) => {
  const acting = await operator(ctx, session, room, id, type);
  if (!acting) return;
  const found = await actOn(ctx, session, acting, room, nick, id);
  if (!found) return;
  if (found.account === null && found.address === null) {
    session.error(ErrorCode.no_such_user, `${found.nick} is a guest who has not joined a room here: nothing to ${type} them by`, id);
    return;
  }
  const by = acting.who.nick;
  const entry = sanction(found, by, reason, duration);
  const list = type === 'ban' ? 'bans' : 'mutes';
  await change(ctx, room, (r) => ({ ...r, [list]: [...r[list].filter((s) => s.target !== entry.target), entry] }));
  const until = entry.until === undefined ? {} : { until: new Date(entry.until).toISOString() };
  const verb = type === 'ban' ? 'banned' : 'muted';
  const whom = found.account === null ? `${found.nick} (a guest: everyone who is a guest from their address)` : found.nick;
  await tell(ctx, room, type, by, `${by} ${verb} ${whom} in ${room}${forDuration(duration)}${because(reason)}`, { nick: found.nick, ...(reason && { reason }), ...until });
  if (type === 'ban' && found.principal !== null) {
    ctx.backend.roomControl(room, JSON.stringify({ remove: found.principal, reason: `banned by ${by}${because(reason)}` } satisfies Control));
  }
  ok(session, id);
};

const unban: Handler<'unban' | 'unmute'> = async (ctx, session, { type, room, nick, id }) => {
  const acting = await operator(ctx, session, room, id, type);
  if (!acting) return;
  const list = type === 'unban' ? 'bans' : 'mutes';
  const account = ctx.config.accounts === 'off' ? null : await ctx.backend.accounts.find(nick);
  const lifted = (s: Sanction) => nickKey(s.nick) === nickKey(nick) || (account !== null && s.target === accountPrincipal(account.id));
  if (!(acting.rules?.[list] ?? []).some(lifted)) {
    session.error(ErrorCode.no_such_user, `${nick} is not ${type === 'unban' ? 'banned from' : 'muted in'} ${room}`, id);
    return;
  }
  await change(ctx, room, (r) => ({ ...r, [list]: r[list].filter((s) => !lifted(s)) }));
  const by = acting.who.nick;
  await tell(ctx, room, type, by, `${by} ${type === 'unban' ? 'lifted the ban on' : 'unmuted'} ${nick} in ${room}`, { nick });
  ok(session, id);
};

const bans: Handler<'bans'> = async (ctx, session, { room, id }) => {
  const acting = await operator(ctx, session, room, id, 'list its bans');
  if (!acting) return;
  const nowMs = Date.now();
  const entries = (list: Sanction[]) =>
    list
      .filter((s) => s.until === undefined || s.until > nowMs)
      .map((s) => ({
        nick: s.nick,
        kind: isAccountPrincipal(s.target) ? ('account' as const) : ('address' as const),
        by: s.by,
        ...(s.reason && { reason: s.reason }),
        ...(s.until !== undefined && { until: new Date(s.until).toISOString() }),
        ts: new Date(s.ts).toISOString(),
      }));
  session.send({ type: 'bans', room, bans: entries(acting.rules?.bans ?? []), mutes: entries(acting.rules?.mutes ?? []), ...(id !== undefined && { id }) });
};

const invite: Handler<'invite'> = async (ctx, session, { room, nick, id }) => {
  const acting = await operator(ctx, session, room, id, 'invite');
  if (!acting) return;
  const found = await target(ctx, nick);
  const key = invitationKey({ account: found?.account ?? null, nick: found?.nick ?? nick });
  await change(ctx, room, (r) => (r.invited.includes(key) ? null : { ...r, invited: [...r.invited, key] }));
  const by = acting.who.nick;
  const shown = found?.nick ?? nick;
  await tell(ctx, room, 'invite', by, `${by} invited ${shown} to ${room}`, { nick: shown });
  await ctx.backend.sendPrivate(shown, () => ({ type: 'notice', text: `${by} invites you to ${room}: {"type":"join","room":"${room}"}` }));
  ok(session, id);
};

const mode: Handler<'mode'> = async (ctx, session, message) => {
  const { room, change: wanted, arg, id } = message;
  if (wanted === undefined) {
    const acting = await asker(ctx, session, room, id);
    if (!acting) return;
    const rules = acting.rules;
    const key = acting.rank >= Rank.operator && rules?.key !== undefined ? { key: rules.key } : {};
    session.send({ type: 'mode', room, modes: modeString(rules), ...(rules?.limit !== undefined && { limit: rules.limit }), ...key, ...(id !== undefined && { id }) });
    return;
  }
  const acting = await operator(ctx, session, room, id, `change its modes (${wanted})`);
  if (!acting) return;
  const by = acting.who.nick;
  if (wanted === '+v' || wanted === '-v') {
    const problem = nickProblem(arg!);
    if (problem) return session.error(ErrorCode.bad_nick, `bad nick ${JSON.stringify(arg)}: ${problem}`, id);
    const found = await ctx.backend.lookup(arg!);
    if (!found) return session.error(ErrorCode.no_such_user, `nobody is connected as ${JSON.stringify(arg)}`, id);
    await change(ctx, room, (r) => ({ ...r, voiced: wanted === '+v' ? [...r.voiced.filter((p) => p !== found.principal), found.principal] : r.voiced.filter((p) => p !== found.principal) }));
    const text = wanted === '+v' ? `${by} gave ${found.nick} a voice in ${room}` : `${by} took ${found.nick}'s voice in ${room}`;
    await tell(ctx, room, wanted === '+v' ? 'voice' : 'devoice', by, text, { nick: found.nick, mode: wanted });
    return ok(session, id);
  }
  const rules = await change(ctx, room, (r) => withMode(r, wanted, arg));
  const shown = wanted === '+l' ? `+l ${arg}` : wanted;
  const meaning: Record<string, string> = {
    '+i': 'invite-only', '-i': 'open to all', '+m': 'moderated: only operators and voiced members speak', '-m': 'no longer moderated',
    '+t': 'topic set by operators only', '-t': 'topic open to all', '+k': 'protected by a key', '-k': 'no longer protected by a key',
    '+l': `limited to ${arg} members`, '-l': 'no longer limited in members',
  };
  await tell(ctx, room, 'mode', by, `${by} set mode ${shown} on ${room} (${meaning[wanted]}); modes now ${modeString(rules) === '+' ? 'none' : modeString(rules)}`, { mode: shown });
  ok(session, id);
};

const away: Handler<'away' | 'back'> = async (ctx, session, message) => {
  await ensureNick(ctx, session);
  const user = actingUser(session);
  const isAway = message.type === 'away';
  const text = message.type === 'away' ? message.message ?? 'away' : null;
  if (text === null && (await awayMessageOf(ctx, user)) === null) return ok(session, message.id);
  if (text === null) await ctx.backend.moderation.clearAway(user.nick, user.principal);
  else await ctx.backend.moderation.setAway(user.nick, user.principal, text);
  const ts = now();
  const event = { type: 'away' as const, nick: user.nick, away: isAway, ...(text !== null && { message: text }), ts };
  // The mark is the principal's: news in every room of any of its connections, once per room.
  if (user.rooms.size === 0) session.send(event);
  await ctx.backend.announceToRoomsOf(user, event);
  ok(session, message.id);
};

// One rule serves both of each pair (its message says which).
export const moderationHandlers = {
  topic,
  op: op as Handler<'op'>,
  deop: op as Handler<'deop'>,
  kick,
  ban: ban as Handler<'ban'>,
  mute: ban as Handler<'mute'>,
  unban: unban as Handler<'unban'>,
  unmute: unban as Handler<'unmute'>,
  bans,
  invite,
  mode,
  away: away as Handler<'away'>,
  back: away as Handler<'back'>,
};
