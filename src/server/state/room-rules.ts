// Who may do what in a room (docs/protocol.md "Running a room"): pure policy over a room's rules, no I/O. A room
// that nobody ever ran has no rules (null) and costs nothing to check. Operators, bans and mutes hold against
// accounts (`a:<account id>`, the account's principal), never nicks; a guest's ban or mute holds against its
// address (`addr:<address key>`), since a guest can come back under any nick.

import { ErrorCode, nickKey, type ModeChange } from '../../protocol/index.js';
import { accountPrincipal, isAccountPrincipal } from './principals.js';

/** A ban or mute: on whom (`target`), shown as `nick`, by whom, why, and until when (ms since the epoch; none: no end). */
export interface Sanction {
  target: string;
  nick: string;
  by: string;
  reason?: string;
  until?: number;
  ts: number;
}

export interface RoomRules {
  /** Raised by every change: a node keeps the newest it has seen. */
  version: number;
  /** The account (id) that opened the room. */
  owner?: string;
  /** Operators: account id -> nick. */
  ops: Record<string, string>;
  topic?: { text: string; by: string; ts: string };
  /** -t: anyone in the room may set the topic (+t, operators only, is the default). */
  openTopic?: boolean;
  inviteOnly?: boolean;
  moderated?: boolean;
  key?: string;
  limit?: number;
  /** Principals that may speak in a moderated room. */
  voiced: string[];
  /** Invitations not yet used: `a:<account id>` or `n:<nick key>` (a guest's nick). */
  invited: string[];
  bans: Sanction[];
  mutes: Sanction[];
}

/** At most this many bans, mutes, invitations and voices per room: the rules are read whole. */
export const RULES_LIST_MAX = 500;

export function emptyRules(): RoomRules {
  return { version: 0, ops: {}, voiced: [], invited: [], bans: [], mutes: [] };
}

/** Whoever acts or is acted on: the account it is logged in as (id) or null for a guest, and where it comes from. */
export interface Who {
  nick: string;
  principal: string;
  account: string | null;
  address: string;
  admin: boolean;
}

export const Rank = { member: 0, operator: 1, owner: 2, admin: 3 } as const;
export type Rank = (typeof Rank)[keyof typeof Rank];

export function rankOf(rules: RoomRules | null, who: Who): Rank {
  if (who.admin) return Rank.admin;
  if (!rules || who.account === null) return Rank.member;
  if (rules.owner === who.account) return Rank.owner;
  return who.account in rules.ops ? Rank.operator : Rank.member;
}

/** Whom a ban or mute of `who` holds against: its account, or as a guest its address. */
export function targetOf(who: Pick<Who, 'account' | 'address'>): string {
  return who.account !== null ? accountPrincipal(who.account) : `addr:${who.address}`;
}

/** An account's target from its principal (`a:<id>`), or null for a guest's. */
export function accountOfPrincipal(principal: string): string | null {
  return isAccountPrincipal(principal) ? principal.slice(2) : null;
}

const live = (sanction: Sanction, now: number) => sanction.until === undefined || sanction.until > now;

/** The ban or mute in `list` that holds against `who` now. An address's sanction holds against guests only. */
export function sanctionOn(list: Sanction[], who: Pick<Who, 'account' | 'address'>, now = Date.now()): Sanction | undefined {
  const target = targetOf(who);
  return list.find((sanction) => sanction.target === target && live(sanction, now));
}

export interface Refusal {
  code: ErrorCode;
  message: string;
}

function until(sanction: Sanction): string {
  return sanction.until === undefined ? '' : ` until ${new Date(sanction.until).toISOString()}`;
}

function why(sanction: Sanction): string {
  return sanction.reason ? `: ${sanction.reason}` : '';
}

/**
 * Whether `who` may join: banned, invite-only, key, limit, in that order; operators pass. `members` is asked for
 * only when the room has a limit. `invited` is the invitation that lets `who` in (to be used up), if any.
 */
export function admission(
  rules: RoomRules | null,
  who: Who,
  room: string,
  key: string | undefined,
  members: number,
): { refusal: Refusal } | { invitation?: string } {
  if (!rules || rankOf(rules, who) >= Rank.operator) return {};
  const ban = sanctionOn(rules.bans, who);
  if (ban) return { refusal: { code: ErrorCode.banned, message: `you are banned from ${room}${until(ban)}${why(ban)}` } };
  let invitation: string | undefined;
  if (rules.inviteOnly) {
    invitation = invitationFor(rules, who);
    if (!invitation) return { refusal: { code: ErrorCode.invite_only, message: `${room} is invite-only (+i): ask an operator for an invitation` } };
  }
  if (rules.key !== undefined && key !== rules.key) {
    return { refusal: { code: ErrorCode.bad_password, message: `${room} needs its key (+k): {"type":"join","room":"${room}","key":"…"}` } };
  }
  if (rules.limit !== undefined && members >= rules.limit) {
    return { refusal: { code: ErrorCode.room_full, message: `${room} is full: at most ${rules.limit} members (+l)` } };
  }
  return invitation ? { invitation } : {};
}

/**
 * Whether `who`, not a member, may reach the room from outside (read a `history` page or a search hit, `post` to
 * it): a room is open unless it is invite-only or has a key; a banned user reaches nothing of it. Operators and
 * admins always may.
 */
export function readRefusal(rules: RoomRules | null, who: Who, room: string): Refusal | null {
  if (!rules || rankOf(rules, who) >= Rank.operator) return null;
  if (sanctionOn(rules.bans, who)) return { code: ErrorCode.banned, message: `you are banned from ${room}` };
  if (rules.inviteOnly || rules.key !== undefined) return { code: ErrorCode.not_in_room, message: `${room} is closed (+i or +k): join it first` };
  return null;
}

/** The invitation `who` holds: for its account, or as a guest for its nick. */
export function invitationFor(rules: RoomRules, who: Pick<Who, 'account' | 'nick'>): string | undefined {
  const wanted = invitationKey(who);
  return rules.invited.includes(wanted) ? wanted : undefined;
}

export function invitationKey(who: Pick<Who, 'account' | 'nick'>): string {
  return who.account !== null ? accountPrincipal(who.account) : `n:${nickKey(who.nick)}`;
}

/** Why `who` may not speak in the room now (muted, or a moderated room without voice), or null. The hot path. */
export function speakRefusal(rules: RoomRules | null | undefined, who: Who, room: string): Refusal | null {
  if (!rules || (!rules.moderated && rules.mutes.length === 0)) return null;
  if (rankOf(rules, who) >= Rank.operator) return null;
  const mute = sanctionOn(rules.mutes, who);
  if (mute) return { code: ErrorCode.muted, message: `you are muted in ${room}${until(mute)}${why(mute)}` };
  if (rules.moderated && !rules.voiced.includes(who.principal)) {
    return { code: ErrorCode.muted, message: `${room} is moderated (+m): only operators and members given a voice (+v) speak` };
  }
  return null;
}

/** Whether an actor of `actor` rank may kick, ban, mute or deop someone of `target` rank. */
export function mayActOn(actor: Rank, target: Rank): boolean {
  return actor >= Rank.operator && (target < Rank.owner || actor > target);
}

/** The modes as IRC shows them: `+imt`, `+tkl` ... (the key and limit are given apart). */
export function modeString(rules: RoomRules | null): string {
  let modes = '+';
  if (rules?.inviteOnly) modes += 'i';
  if (rules?.moderated) modes += 'm';
  if (!rules?.openTopic) modes += 't';
  if (rules?.key !== undefined) modes += 'k';
  if (rules?.limit !== undefined) modes += 'l';
  return modes;
}

/** The rules after a flag, key or limit change (+v/-v are changes of `voiced`, made by the caller). */
export function withMode(rules: RoomRules, change: Exclude<ModeChange, '+v' | '-v'>, arg: string | undefined): RoomRules {
  const next = { ...rules };
  switch (change) {
    case '+i': next.inviteOnly = true; break;
    case '-i': delete next.inviteOnly; next.invited = []; break;
    case '+m': next.moderated = true; break;
    case '-m': delete next.moderated; break;
    case '+t': delete next.openTopic; break;
    case '-t': next.openTopic = true; break;
    case '+k': next.key = arg!; break;
    case '-k': delete next.key; break;
    case '+l': next.limit = Number(arg); break;
    case '-l': delete next.limit; break;
  }
  return next;
}

/** Forget sanctions that have ended, and keep each list within RULES_LIST_MAX (the oldest go first). */
export function pruned(rules: RoomRules, now = Date.now()): RoomRules {
  const keep = (list: Sanction[]) => list.filter((sanction) => live(sanction, now)).slice(-RULES_LIST_MAX);
  return {
    ...rules,
    bans: keep(rules.bans),
    mutes: keep(rules.mutes),
    voiced: rules.voiced.slice(-RULES_LIST_MAX),
    invited: rules.invited.slice(-RULES_LIST_MAX),
  };
}
