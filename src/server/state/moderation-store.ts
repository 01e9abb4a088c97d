// Where a room's rules (state/room-rules.ts) and who is away are kept: SQLite in the data dir on one node
// (storage/moderation-sqlite.ts, or memory without one), Redis on a cluster (cluster/moderation.ts). Each node
// caches every room's rules it has loaded, so that the `msg` hot path reads them at once; a change travels to
// the other nodes with the new rules in it (Backend.roomControl), so no message costs a round-trip to Redis.

/** An answer now (one node) or later (a cluster), as backend.ts's Maybe (backend.ts imports this file). */
type Maybe<T> = T | Promise<T>;
import type { RoomRules } from './room-rules.js';

export interface ModerationStore {
  /** The room's rules as this node has them now: null when it has none, undefined when not loaded here yet. */
  cached(room: string): RoomRules | null | undefined;
  /** The room's rules from the store, cached. */
  load(room: string): Maybe<RoomRules | null>;
  /**
   * Change the room's rules at once for everyone: `change` gets the present rules (empty ones when there are none)
   * and returns the new rules, or null to leave them as they are. The rules now in force.
   */
  update(room: string, change: (rules: RoomRules) => RoomRules | null): Promise<RoomRules | null>;
  /** Rules another node changed: kept when newer than those cached. */
  adopt(room: string, rules: RoomRules): void;
  /** Where a guest connection comes from (its principal's address key), for a ban that must hold against it. */
  rememberGuest(principal: string, address: string): void;
  guestAddress(principal: string): Maybe<string | null>;
  /**
   * `principal` (an account, or one guest connection) is away with `message`, marked under the nick it holds: a
   * new mark, that nobody has been told yet.
   */
  setAway(nick: string, principal: string, message: string): Maybe<void>;
  /** The mark under `nick` ends when it is `principal`'s (one set since by another stays). */
  clearAway(nick: string, principal: string): Maybe<void>;
  /**
   * The mark under each nick, or null. It is the holder's only while its principal still holds the nick: the
   * caller checks (handlers/away.ts), so that a mark left behind never passes to whoever takes the nick next.
   */
  awayOf(nicks: string[]): Maybe<(AwayMark | null)[]>;
  /** The message of `principal`'s mark under `nick` the first time `sender` writes to them since it was set; else null. */
  awayNews(nick: string, principal: string, sender: string): Maybe<string | null>;
  close(): void;
}

/** Who is away under a nick, and what they said. */
export interface AwayMark {
  principal: string;
  message: string;
}

/** Guest connections whose address a node remembers (the oldest are forgotten first). */
export const GUESTS_REMEMBERED = 100_000;

/**
 * The cache every store keeps in front of its storage: the newest version of each room's rules. Rooms without rules
 * are not kept (any number of room names can be joined): for the checks, unknown is the same as none.
 */
export class RulesCache {
  private readonly rules = new Map<string, RoomRules>();

  get(room: string): RoomRules | undefined {
    return this.rules.get(room);
  }

  set(room: string, rules: RoomRules | null): void {
    if (rules) this.rules.set(room, rules);
    else this.rules.delete(room);
  }

  /** Keep `rules` unless the cache already has these or newer ones. */
  adopt(room: string, rules: RoomRules): void {
    const known = this.rules.get(room);
    if (!known || known.version < rules.version) this.rules.set(room, rules);
  }
}
