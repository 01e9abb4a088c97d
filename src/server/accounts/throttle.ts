// Failed logins, counted per nick and per address (docs/protocol.md "Accounts"): a few are free, then each
// further failure locks that nick, or that address, for twice as long as the one before, up to a cap. A nick is
// counted whether or not an account owns it, so being throttled says nothing about which nicks are registered. A
// success clears the nick's count, not the address's: one's own account cannot buy guesses at another. One node
// counts in memory (here); a cluster counts in Redis (cluster/throttle.ts), so that spreading guesses over its
// nodes does not multiply them.

/** Failures a nick may have before it is locked (people mistype). */
export const FREE_NICK_FAILURES = 5;
/** Failures an address may have before it is locked: more, for a classroom behind one NAT. */
export const FREE_ADDRESS_FAILURES = 20;
export const FIRST_LOCK_MS = 1000;
export const MAX_LOCK_MS = 15 * 60_000;
/** A key without a failure for this long is forgotten. */
export const FORGET_AFTER_MS = 60 * 60_000;

/** Failed logins per key (a nick, an address): what the account handlers ask and tell. */
export interface LoginThrottle {
  /** Milliseconds until any of the keys may try again; 0 when all may now. */
  wait(keys: string[]): Promise<number>;
  /** A failed attempt: each key counts one more, and past its free ones is locked. */
  failed(keys: string[]): Promise<void>;
  /** A successful login: the key (a nick) starts afresh. */
  succeeded(key: string): Promise<void>;
}

/** Failures a key may have before it is locked. */
export const freeFailures = (key: string) => (key.startsWith('address:') ? FREE_ADDRESS_FAILURES : FREE_NICK_FAILURES);

interface Failures {
  count: number;
  lockedUntil: number;
  last: number;
}

/** One node's count, in memory. */
export class MemoryLoginThrottle implements LoginThrottle {
  private readonly failures = new Map<string, Failures>();

  async wait(keys: string[], now = Date.now()): Promise<number> {
    let wait = 0;
    for (const key of keys) wait = Math.max(wait, (this.failures.get(key)?.lockedUntil ?? 0) - now);
    return wait;
  }

  async failed(keys: string[], now = Date.now()): Promise<void> {
    this.forgetStale(now);
    for (const key of keys) {
      const entry = this.failures.get(key) ?? { count: 0, lockedUntil: 0, last: now };
      entry.count++;
      entry.last = now;
      const beyond = entry.count - freeFailures(key);
      if (beyond >= 0) entry.lockedUntil = now + Math.min(FIRST_LOCK_MS * 2 ** Math.min(beyond, 20), MAX_LOCK_MS);
      this.failures.set(key, entry);
    }
  }

  async succeeded(key: string): Promise<void> {
    this.failures.delete(key);
  }

  private forgetStale(now: number): void {
    if (this.failures.size < 1000) return;
    for (const [key, entry] of this.failures) if (now - entry.last > FORGET_AFTER_MS && entry.lockedUntil < now) this.failures.delete(key);
  }
}

export const nickThrottleKey = (key: string) => `nick:${key}`;
export const addressThrottleKey = (key: string) => `address:${key}`;
