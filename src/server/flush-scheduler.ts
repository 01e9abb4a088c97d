// Output batching: what a connection is owed within one turn of the event loop leaves in one write,
// so a burst of N messages costs each member one system call, not N.

export interface Flushable {
  flush(): void;
}

export class FlushScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;

  mark(target: Flushable): void {
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    const targets = this.dirty;
    this.dirty = [];
    for (const target of targets) target.flush();
  };
}
