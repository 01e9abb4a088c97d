// The nick registry: each nick belongs to at most one connection, or to several that `shareable` allows together
// (the connections of one account). Nicks are compared by nickKey, their skeleton: case-insensitively, and nicks
// that look alike (Cyrillic аlice, fullwidth ａｌｉｃｅ) are one nick.

import { GUEST_PREFIX, nickKey } from '../../protocol/index.js';

export class NickRegistry<T> {
  private readonly owners = new Map<string, T>();
  /** Every holder of a nick held by several (the first of them is its entry in `owners`). */
  private readonly sharers = new Map<string, Set<T>>();
  private guestCounter = 0;
  /**
   * Guest nicks are `${guestPrefix}N`; a cluster node puts its own tag in it so that guests never collide. Clients
   * cannot ask for such a nick (chosenNickProblem): only claimGuest takes them.
   */
  guestPrefix = GUEST_PREFIX;

  constructor(private readonly shareable: (holder: T, claimant: T) => boolean = () => false) {}

  owner(nick: string): T | undefined {
    return this.owners.get(nickKey(nick));
  }

  /** Everyone holding `nick`: none, one, or the connections of one account. */
  holdersOf(nick: string): T[] {
    const key = nickKey(nick);
    const shared = this.sharers.get(key);
    if (shared) return [...shared];
    const owner = this.owners.get(key);
    return owner === undefined ? [] : [owner];
  }

  /** Claim `nick` for `owner`, releasing `previous`. False when another owner holds it (and may not share it). */
  claim(nick: string, owner: T, previous?: string): boolean {
    const key = nickKey(nick);
    const holder = this.owners.get(key);
    if (holder !== undefined && holder !== owner && !this.sharers.get(key)?.has(owner)) {
      if (!this.shareable(holder, owner)) return false;
      const shared = this.sharers.get(key) ?? new Set([holder]);
      this.sharers.set(key, shared.add(owner));
    }
    if (previous !== undefined && nickKey(previous) !== key) this.release(previous, owner);
    if (holder === undefined) this.owners.set(key, owner);
    return true;
  }

  release(nick: string, owner: T): void {
    const key = nickKey(nick);
    const shared = this.sharers.get(key);
    if (shared?.delete(owner)) {
      if (this.owners.get(key) === owner) this.owners.set(key, shared.values().next().value!);
      if (shared.size === 1) this.sharers.delete(key);
      return;
    }
    if (this.owners.get(key) === owner) this.owners.delete(key);
  }

  /** A free guest nick such as guest-7, claimed for `owner`. */
  claimGuest(owner: T): string {
    for (;;) {
      const nick = `${this.guestPrefix}${++this.guestCounter}`;
      if (this.claim(nick, owner)) return nick;
    }
  }

  /** A free nick close to `nick` (alice_, alice2, ...), to suggest when it is taken. */
  suggest(nick: string): string {
    for (let n = 2; ; n++) {
      const candidate = `${[...nick].slice(0, 28).join('')}${n}`;
      if (!this.owners.has(nickKey(candidate))) return candidate;
    }
  }

  /** Every holder of every nick, once each. */
  *holders(): IterableIterator<T> {
    for (const [key, owner] of this.owners) {
      const shared = this.sharers.get(key);
      if (shared) yield* shared;
      else yield owner;
    }
  }
}
