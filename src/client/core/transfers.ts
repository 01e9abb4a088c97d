// File transfers as the user sees them: the running uploads and downloads with their progress, speed and ETA.
// Pure bookkeeping: no sockets, no blessed (view/progress-line.ts draws them).

export type Direction = 'up' | 'down';

export interface Transfer {
  id: number;
  direction: Direction;
  /** The file's name as shown (sanitized by the caller). */
  name: string;
  /** The buffer the transfer was started from: its result is reported there. */
  bufferKey: string;
  done: number;
  total: number;
  startedAt: number;
  /** Recent (time, done) pairs: the speed is measured over the last SPEED_WINDOW_MS. */
  samples: { at: number; done: number }[];
  /** Whether any progress was reported yet. */
  begun: boolean;
  /** Before an upload sends anything: how far reading the file for its sha256 has got. */
  hashing: { done: number; total: number } | null;
}

export interface Figures {
  /** 0..100, whole. */
  percent: number;
  /** Bytes per second over the last few seconds (0 until two samples exist). */
  speed: number;
  /** Seconds left at that speed; null while unknown. */
  eta: number | null;
}

/** Speed over a short window, so that it follows a change of pace but does not jump with every chunk. */
const SPEED_WINDOW_MS = 3000;

export class Transfers {
  private readonly running: Transfer[] = [];
  private nextId = 1;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Called when a transfer starts or ends (not on every progress step: the TUI redraws those on a timer). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  get list(): readonly Transfer[] {
    return this.running;
  }

  start(direction: Direction, name: string, bufferKey: string, total = 0): Transfer {
    const at = this.now();
    const transfer: Transfer = { id: this.nextId++, direction, name, bufferKey, done: 0, total, startedAt: at, samples: [{ at, done: 0 }], begun: false, hashing: null };
    this.running.push(transfer);
    this.changed();
    return transfer;
  }

  /** An upload reading its file for the sha256 (shown instead of the bar until the first byte is sent). */
  hashing(transfer: Transfer, done: number, total: number): void {
    transfer.hashing = { done, total };
  }

  progress(transfer: Transfer, done: number, total: number): void {
    const at = this.now();
    // The first figure is the baseline: a resumed transfer starts above zero, and an upload hashes its file first.
    if (!transfer.begun) {
      transfer.begun = true;
      transfer.done = done;
      transfer.total = total;
      transfer.samples = [{ at, done }];
      return;
    }
    transfer.done = done;
    transfer.total = total;
    const samples = transfer.samples;
    const last = samples[samples.length - 1]!;
    if (last.at === at) last.done = done;
    else samples.push({ at, done });
    while (samples.length > 2 && samples[1]!.at <= at - SPEED_WINDOW_MS) samples.shift();
  }

  finish(transfer: Transfer): void {
    const index = this.running.indexOf(transfer);
    if (index >= 0) this.running.splice(index, 1);
    this.changed();
  }

  figures(transfer: Transfer): Figures {
    const { done, total, samples } = transfer;
    const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const seconds = (last.at - first.at) / 1000;
    const speed = seconds > 0 ? Math.max(0, (last.done - first.done) / seconds) : 0;
    const eta = speed > 0 ? Math.ceil(Math.max(0, total - done) / speed) : null;
    return { percent, speed, eta };
  }
}
