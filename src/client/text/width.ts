// Text in terminal columns, the way terminals draw it. Pure: the blessed width fix (view/blessed-width.ts) and the
// log layout both use these functions, so they agree.

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f\ufeff]$/u;
const EMOJI_WIDE = /^\p{Emoji_Presentation}$/u;

// East Asian Wide and Fullwidth blocks (UAX #11), as terminals' wcwidth draws them.
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x2e80, 0x303e], [0x3041, 0x33ff],
  [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3],
  [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6],
  [0x1f200, 0x1f2ff], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];

const widthCache = new Map<number, 0 | 1 | 2>();

/** Columns one code point takes in a terminal: 0 (controls, combining marks), 1, or 2 (CJK, emoji). */
export function charWidth(codePoint: number): 0 | 1 | 2 {
  if (codePoint >= 0x20 && codePoint < 0x7f) return 1;
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) return 0;
  if (codePoint < 0x300) return 1;
  let width = widthCache.get(codePoint);
  if (width === undefined) {
    width = measure(codePoint);
    widthCache.set(codePoint, width);
  }
  return width;
}

function measure(codePoint: number): 0 | 1 | 2 {
  const char = String.fromCodePoint(codePoint);
  if (ZERO_WIDTH.test(char)) return 0;
  if (EMOJI_WIDE.test(char)) return 2;
  for (const [low, high] of WIDE_RANGES) {
    if (codePoint < low) break;
    if (codePoint <= high) return 2;
  }
  return 1;
}

/** Columns a string takes (tabs count as one: callers expand them first). */
export function stringWidth(text: string): number {
  let width = 0;
  for (const char of text) width += char === '\t' ? 1 : charWidth(char.codePointAt(0)!);
  return width;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** User-perceived characters: an emoji with a skin tone or a letter with its accent moves as one. */
export function graphemes(text: string): string[] {
  const out: string[] = [];
  for (const { segment } of segmenter.segment(text)) out.push(segment);
  return out;
}

/**
 * Break one line of text into pieces at most `width` columns wide, preferring breaks after spaces.
 * CJK text has no spaces and breaks anywhere; a wide character never straddles the edge.
 */
export function wrapText(text: string, width: number): string[] {
  if (width < 2) width = 2;
  const rows: string[] = [];
  let row = '';
  let rowWidth = 0;
  let lastSpace = -1; // index in `row` just after the last space
  for (const g of graphemes(text)) {
    const w = stringWidth(g);
    if (rowWidth + w > width) {
      if (lastSpace > 0 && lastSpace < row.length) {
        rows.push(row.slice(0, lastSpace).trimEnd());
        row = row.slice(lastSpace);
      } else {
        rows.push(row.trimEnd());
        row = '';
      }
      rowWidth = stringWidth(row);
      lastSpace = -1;
      if (g === ' ' && row === '') continue;
    }
    row += g;
    rowWidth += w;
    if (g === ' ') lastSpace = row.length;
  }
  rows.push(row);
  return rows;
}

/** The longest prefix of `text` that fits in `width` columns. */
export function truncateToWidth(text: string, width: number): string {
  let out = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const w = stringWidth(g);
    if (used + w > width) break;
    out += g;
    used += w;
  }
  return out;
}

/** `text` cut or padded with spaces to exactly `width` columns. */
export function fitToWidth(text: string, width: number): string {
  const cut = truncateToWidth(text, width);
  return cut + ' '.repeat(Math.max(0, width - stringWidth(cut)));
}
