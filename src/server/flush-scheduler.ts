// Output batching: what a connection is owed within one turn of the event loop leaves in one write,
// so a burst of N messages costs each member one system call, not N.
// Presence news (joins, leaves, nick changes of others) may wait a little longer: at most one pass for it every
// PRESENCE_PASS_MS, and at most a twentieth of the server's time in such passes. On a quiet server it leaves at once;
// in a join storm each member gets one write per pass, not one per joiner (10 000 joins over 100 rooms: ~500 000
// writes of ~10 µs otherwise; with a tenth of the time ~40 000 pass writes, with a twentieth ~30 000). Anything
// else a connection is owed takes the waiting news along, in order.

import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { writeBytes, writeParts } from './socket-write.js';

/** The shortest time between two passes that carry presence news only. */
export const PRESENCE_PASS_MS = 100;
/** A presence pass is followed by at least this many times its own duration without one (a twentieth of the time). */
const PASS_SPACING = 19;
/**
 * Lines read in one turn after which what they owe is written at once, not at the turn's end. Many rooms, each with
 * a publisher of its own, run in lock step: one turn reads every publisher's window (1000 x 16 lines), and a pass
 * at its end kept all 16 000 messages alive through the turn's scavenges (copied, then promoted: ~1 s of GC per 5 s
 * run). A big room never has this many in flight, so its members still get one write per turn. The history commit
 * stays once per turn, after its last writes: a commit after each early pass cost more than the garbage it saved.
 */
export const PASS_LINES_MAX = 512;

export interface Flushable {
  flush(): void;
}

/** A list of parts written in this pass, and its joined copy once one was made. */
interface PassEntry {
  parts: Buffer[];
  joined: Buffer | null;
}

function same(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class FlushScheduler {
  /** Runs after each pass's writes: work that must not delay them (committing history to disk). */
  afterPass: (() => void) | null = null;
  private dirty: Flushable[] = [];
  private scheduled = false;
  /** Owed presence news only, waiting for the next presence pass. */
  private later: Flushable[] = [];
  private laterTimer: NodeJS.Timeout | null = null;
  /** No presence-only pass before this (performance.now() ms). */
  private nextPresencePass = -Infinity;
  // The join()s of this pass by their first part: the members of a room are owed the very same Buffers in the same
  // order, so the first member's joined Buffer serves the rest (a fan-out copies each event once, not once per
  // member). By first part, not only the last join: a presence pass flushes the members of many rooms interleaved.
  private joinedThisPass = new Map<Buffer, PassEntry>();
  private lastEntry: PassEntry | null = null;
  private inPresencePass = false;
  /** Lines read since the last pass (readLines). */
  private linesSinceWrite = 0;

  mark(target: Flushable): void {
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }

  /** `target` is owed presence news: flush it in this turn's pass if no presence pass ran lately, else in the next. */
  markPresence(target: Flushable): void {
    const now = performance.now();
    if (this.laterTimer === null && now >= this.nextPresencePass) {
      this.nextPresencePass = now + PRESENCE_PASS_MS;
      this.mark(target);
      return;
    }
    this.later.push(target);
    this.laterTimer ??= setTimeout(this.flushLater, this.nextPresencePass - now);
  }

  /** A connection's input chunk held `lines` lines: past PASS_LINES_MAX since the last pass, the pass runs now. */
  readLines(lines: number): void {
    this.linesSinceWrite += lines;
    if (this.linesSinceWrite >= PASS_LINES_MAX && this.dirty.length > 0) this.writeOwed(false);
  }

  /**
   * Write what a connection is owed. A list that holds replies of its own (`own`: nobody else is owed it) goes out as
   * it is, in one writev, as does a list a presence pass sees for the first time (the news since each
   * member who joined in the last 100 ms came in is that member's own list). Other lists are joined into one Buffer
   * and shared with every member owed the very same list. In a join storm, joining each joiner's replies and each
   * such news list was ~1.8 KB of Buffer pool per connection living until the next scavenge; those pool slabs,
   * freed between the long-lived sockets made in the same storm, were ~1.2 KiB per connection of malloc'd memory
   * the process kept afterwards (bench/README.md "Idle memory").
   */
  write(stream: Writable, parts: Buffer[], totalBytes: number, own: boolean): boolean {
    if (parts.length === 1) return writeBytes(stream, parts[0]!);
    if (!own) {
      const known = this.sameParts(parts);
      if (known !== undefined) return writeBytes(stream, (known.joined ??= Buffer.concat(parts, totalBytes)));
      if (!this.inPresencePass) {
        const joined = Buffer.concat(parts, totalBytes);
        this.remember({ parts, joined });
        return writeBytes(stream, joined);
      }
      this.remember({ parts, joined: null });
    }
    return writeParts(stream, parts, totalBytes);
  }

  /** `parts` as one Buffer (never changed afterwards), shared with the previous caller that had the same parts. */
  join(parts: Buffer[], totalBytes: number): Buffer {
    const known = this.sameParts(parts);
    if (known?.joined) return known.joined;
    const joined = Buffer.concat(parts, totalBytes);
    this.remember({ parts, joined });
    return joined;
  }

  /** This pass's entry for the very same Buffers in the same order, if any. */
  private sameParts(parts: Buffer[]): PassEntry | undefined {
    // In a fan-out consecutive members are owed the same list: the last one first, the map only when it differs.
    const last = this.lastEntry;
    if (last !== null && last.parts[0] === parts[0] && same(last.parts, parts)) return last;
    const known = this.joinedThisPass.get(parts[0]!);
    if (known === undefined || !same(known.parts, parts)) return undefined;
    this.lastEntry = known;
    return known;
  }

  private remember(entry: PassEntry): void {
    this.joinedThisPass.set(entry.parts[0]!, entry);
    this.lastEntry = entry;
  }

  /**
   * Forget this pass's lists: a new Map, never clear(). The scheduler's Map lives long, so V8 keeps it and its table
   * in the old generation, and clear() only gives it a new table: the old one, dead but not collected until the next
   * full collection, still pointed at every pass's Buffers and lists, and each scavenge kept them (and promoted
   * them) until then. That was ~0.7 MB promoted per scavenge and a mark-compact every few scavenges in a fan-out to
   * 20 (bench/README.md, "Server CPU per message, round 4").
   */
  private endPass(): void {
    if (this.joinedThisPass.size > 0) this.joinedThisPass = new Map();
    this.lastEntry = null;
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    this.writeOwed(true);
  };

  /** The pass: every connection marked is written, then at the turn's end what follows the writes (the history commit). */
  private writeOwed(endOfTurn: boolean): void {
    this.linesSinceWrite = 0;
    const targets = this.dirty;
    this.dirty = [];
    for (const target of targets) target.flush();
    this.endPass();
    if (endOfTurn) this.afterPass?.();
  }

  private readonly flushLater = (): void => {
    this.laterTimer = null;
    const start = performance.now();
    const targets = this.later;
    this.later = [];
    this.inPresencePass = true;
    try {
      for (const target of targets) target.flush();
    } finally {
      this.inPresencePass = false;
    }
    this.endPass();
    const end = performance.now();
    this.nextPresencePass = end + Math.max(PRESENCE_PASS_MS, PASS_SPACING * (end - start));
  };
}
