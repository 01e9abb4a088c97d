// Scrolling a buffer's log: which rows are on screen. The position is kept as the top row's entry and part, so
// new messages arriving below do not move what the user is reading, and a resize (rewrapping) keeps the place.

export interface Row {
  entryId: number;
  /** Which of the entry's wrapped rows this is. */
  part: number;
  text: string;
}

/** The top row of a scrolled-back view; null means "following the newest messages". */
export interface Anchor {
  entryId: number;
  part: number;
}

function anchorIndex(rows: readonly Row[], anchor: Anchor): number {
  // By identity first: older history is prepended with newer ids, so ids are not in row order.
  let last = -1;
  let firstOfEntry = -1;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.entryId !== anchor.entryId) continue;
    if (row.part === anchor.part) return i;
    if (firstOfEntry === -1) firstOfEntry = i;
    if (row.part < anchor.part) last = i; // the entry wraps to fewer rows since a resize
  }
  if (last !== -1) return last;
  if (firstOfEntry !== -1) return firstOfEntry; // its date line went away
  // The entry was trimmed off the top of the log.
  const index = rows.findIndex((r) => r.entryId > anchor.entryId);
  return index === -1 ? rows.length : index;
}

function topOf(rows: readonly Row[], anchor: Anchor | null, height: number): number {
  const bottomTop = Math.max(0, rows.length - height);
  return anchor === null ? bottomTop : Math.min(anchorIndex(rows, anchor), bottomTop);
}

/** The rows to draw in `height` lines, and whether the newest row is among them. */
export function visibleRows(
  rows: readonly Row[],
  anchor: Anchor | null,
  height: number,
): { rows: Row[]; atBottom: boolean; atTop: boolean } {
  const top = topOf(rows, anchor, height);
  return { rows: rows.slice(top, top + height), atBottom: top + height >= rows.length, atTop: top === 0 };
}

/** Scroll by `delta` rows (negative: back in time). Returns the new anchor, null when back at the bottom. */
export function scrollBy(rows: readonly Row[], anchor: Anchor | null, height: number, delta: number): Anchor | null {
  const bottomTop = Math.max(0, rows.length - height);
  const top = Math.max(0, Math.min(bottomTop, topOf(rows, anchor, height) + delta));
  if (top >= bottomTop) return null;
  const row = rows[top]!;
  return { entryId: row.entryId, part: row.part };
}
