// How much of a buffer's log the client keeps in memory (issue 18: a busy room grew the client without bound).
// A log that follows the newest messages keeps the last KEPT_ENTRIES; one scrolled back keeps up to
// MAX_ENTRIES, so what the user is reading stays. What is dropped from the top of a room's log is still on the
// server: the buffer's oldest seq moves up to the oldest entry kept, and scrolling above it pages it in again
// (ChatClient.loadOlder, `history` with `before`).

/** What the bound needs of a buffer (state.ts's ChatBuffer; named here, as state.ts imports this module). */
interface Scrollback {
  kind: string;
  entries: { seq?: number }[];
  scroll: object | null;
  oldestSeq: number | null;
  moreHistory: boolean;
}

/** Entries kept while the log follows the newest (a few screens of a tall terminal). */
export const KEPT_ENTRIES = 1000;
/** Entries kept at most, scrolled back and paging in older history. */
export const MAX_ENTRIES = 5000;
/** Trimmed once this many past the bound, so that trimming costs little per message. */
const SLACK = 200;

/** Drop the oldest entries past the buffer's bound; a room remembers where its log now starts. */
export function trimScrollback(buffer: Scrollback): void {
  const bound = buffer.scroll === null ? KEPT_ENTRIES : MAX_ENTRIES;
  if (buffer.entries.length <= bound + SLACK) return;
  buffer.entries.splice(0, buffer.entries.length - bound);
  if (buffer.kind !== 'room') return;
  const first = buffer.entries.find((entry) => entry.seq !== undefined);
  if (first === undefined) return;
  buffer.oldestSeq = first.seq!;
  buffer.moreHistory = first.seq! > 1;
}

/** How many older entries a page of history may add above the log. */
export function roomAbove(buffer: Scrollback): number {
  return Math.max(0, MAX_ENTRIES - buffer.entries.length);
}
