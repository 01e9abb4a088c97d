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
  /** `nick` is away with `message`, or back (null). */
  setAway(nick: string, message: string | null): Maybe<void>;
  /** The away message of each nick, or null. */
  awayOf(nicks: string[]): Maybe<(string | null)[]>;
  /** The away message of `nick` the first time `sender` writes to them since they went away; else null. */
  awayNews(nick: string, sender: string): Maybe<string | null>;
  close(): void;
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
