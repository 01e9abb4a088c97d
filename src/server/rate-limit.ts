// Flood control: a token bucket per connection (protocol.md "Flood control").

export class TokenBucket {
  private tokens: number;
  private updated: number;

  /** `rate` tokens per second, at most `burst` saved up; rate 0 means unlimited. */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.updated = now();
  }

  /** When a token was last asked for. */
  get lastUsedAt(): number {
    return this.updated;
  }

  take(): boolean {
    if (this.rate <= 0) return true;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.rate);
    this.updated = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
