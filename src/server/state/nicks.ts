// The nick registry: each nick belongs to at most one connection. Nicks are compared by nickKey, their skeleton:
// case-insensitively, and nicks that look alike (Cyrillic аlice, fullwidth ａｌｉｃｅ) are one nick.

import { GUEST_PREFIX, nickKey } from '../../protocol/index.js';

export class NickRegistry<T> {
  private readonly owners = new Map<string, T>();
  private guestCounter = 0;
  /**
   * Guest nicks are `${guestPrefix}N`; a cluster node puts its own tag in it so that guests never collide. Clients
   * cannot ask for such a nick (chosenNickProblem): only claimGuest takes them.
   */
  guestPrefix = GUEST_PREFIX;

  owner(nick: string): T | undefined {
    return this.owners.get(nickKey(nick));
  }

  /** Claim `nick` for `owner`, releasing `previous`. False when another owner holds it. */
  claim(nick: string, owner: T, previous?: string): boolean {
    const key = nickKey(nick);
    const holder = this.owners.get(key);
    if (holder !== undefined && holder !== owner) return false;
    if (previous !== undefined && nickKey(previous) !== key) this.owners.delete(nickKey(previous));
    this.owners.set(key, owner);
    return true;
  }

  release(nick: string, owner: T): void {
    const key = nickKey(nick);
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

  /** Every owner, once each. */
  holders(): IterableIterator<T> {
    return this.owners.values();
  }
}
