// Output batching: what a connection is owed within one turn of the event loop leaves in one write,
// so a burst of N messages costs each member one system call, not N.

export interface Flushable {
  flush(): void;
}

export class FlushScheduler {
  /** Runs after each pass's writes: work that must not delay them (committing history to disk). */
  afterPass: (() => void) | null = null;
  private dirty: Flushable[] = [];
  private scheduled = false;
  // The last join() of this pass: the members of a room are owed the very same Buffers in the same order,
  // so the first member's joined Buffer serves the rest (a fan-out copies each event once, not once per member).
  private lastParts: Buffer[] | null = null;
  private lastJoined: Buffer | null = null;

  mark(target: Flushable): void {
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }

  /** `parts` as one Buffer (never changed afterwards), shared with the previous caller that had the same parts. */
  join(parts: Buffer[], totalBytes: number): Buffer {
    const last = this.lastParts;
    if (last !== null && last.length === parts.length) {
      let same = true;
      for (let i = 0; i < parts.length; i++) {
        if (parts[i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastJoined!;
    }
    const joined = Buffer.concat(parts, totalBytes);
    this.lastParts = parts;
    this.lastJoined = joined;
    return joined;
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    const targets = this.dirty;
    this.dirty = [];
    for (const target of targets) target.flush();
    this.lastParts = null;
    this.lastJoined = null;
    this.afterPass?.();
  };
}
