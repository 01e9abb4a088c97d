// Reconnect delays: quick first retries (a restarted server is back within a second), then doubling to a cap.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** 0..1: each delay is shortened by up to this fraction at random, so clients do not all retry at once. */
  jitter: number;
}

/** Capped at 5 s: after an outage the client is back within 5 s of the server (15 s felt like a hang). */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 5_000, jitter: 0.2 };

export class Backoff {
  attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    const { initialMs, maxMs, jitter } = this.options;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    return Math.round(base * (1 - jitter * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
