// Text in terminal columns, the way terminals draw it, measured by grapheme cluster (what a terminal puts in its
// cells). Pure: the blessed width fix (view/blessed-width.ts), the log layout, the member pane, the status line and
// the input line all use these functions, so they agree.

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f\ufeff]$/u;
const EMOJI_WIDE = /^\p{Emoji_Presentation}$/u;
// Regional indicators are East Asian Neutral: one alone is drawn in one column; a pair (a flag) in two.
const REGIONAL_INDICATOR = /^\p{Regional_Indicator}$/u;

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
  if (REGIONAL_INDICATOR.test(char)) return 1;
  if (EMOJI_WIDE.test(char)) return 2;
  for (const [low, high] of WIDE_RANGES) {
    if (codePoint < low) break;
    if (codePoint <= high) return 2;
  }
  return 1;
}

let segmenter: Intl.Segmenter | null = null;

/** The segmenter is made on first need: making one loads ICU's break rules (20 ms at every start). */
function segments(text: string): Intl.Segments {
  return (segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(text);
}
const ZWJ = '\u200d';
const VS16 = '\ufe0f';
const SKIN_TONE = /[\u{1f3fb}-\u{1f3ff}]/gu;
const SKIN_TONE_AFTER = /.[\u{1f3fb}-\u{1f3ff}]/u;
const FLAG = /^\p{Regional_Indicator}{2}$/u;
const PICTOGRAPHIC = /^\p{Extended_Pictographic}/u;
const SGR = /\x1b\[[0-9;:]*m/g;

/**
 * How the terminal draws the clusters terminals disagree on (view/terminal-probe.ts asks it at start): `true` when
 * it draws them in 2 columns as one character.
 */
export interface TerminalWidths {
  /** A flag, two regional indicators (🇨🇳). */
  flags: boolean;
  /** An emoji ZWJ sequence (👨‍👩‍👧). */
  zwj: boolean;
  /** An emoji with a skin tone (👍🏽). */
  skinTones: boolean;
  /** A narrow symbol made emoji by VS16 (❤️). */
  vs16: boolean;
}

/** tmux 3.3 (and the default until the terminal answers): flags and ZWJ sequences joined, skin tones and VS16 not. */
export const TMUX_WIDTHS: TerminalWidths = { flags: true, zwj: true, skinTones: false, vs16: false };

let terminal: TerminalWidths = TMUX_WIDTHS;
const graphemeCache = new Map<string, number>();

/** Draw and measure clusters as this terminal does. */
export function useTerminalWidths(widths: TerminalWidths): void {
  terminal = widths;
  graphemeCache.clear();
}

/**
 * A grapheme as the client draws it, in a form this terminal draws as one character: a trailing ZWJ is left out
 * always; a skin tone, VS16 after a narrow symbol, or all after the first ZWJ are left out, and a flag becomes its
 * two letters, where the terminal would draw them apart (tmux draws 👍🏽 in 4 columns, ❤️ in 1).
 */
export function drawnGrapheme(grapheme: string): string {
  // A ZWJ with nothing after it in its cluster would join whatever the terminal is sent next into the same cell.
  if (grapheme.endsWith(ZWJ)) grapheme = grapheme.replace(/\u200d+$/, '');
  if (grapheme.length <= 1) return grapheme;
  let drawn = grapheme;
  if (!terminal.skinTones) drawn = drawn.replace(SKIN_TONE, (tone, at: number) => (at === 0 ? tone : ''));
  const narrowBase = !EMOJI_WIDE.test(String.fromCodePoint(drawn.codePointAt(0)!));
  if (!terminal.vs16 && narrowBase && drawn.includes(VS16)) drawn = drawn.replaceAll(VS16, '');
  if (!terminal.zwj && drawn.includes(ZWJ) && PICTOGRAPHIC.test(drawn)) drawn = drawn.slice(0, drawn.indexOf(ZWJ));
  if (!terminal.flags && FLAG.test(drawn)) drawn = [...drawn].map((ri) => String.fromCharCode(ri.codePointAt(0)! - 0x1f1e6 + 65)).join('');
  return drawn;
}

/**
 * Columns one grapheme takes once drawn (drawnGrapheme): an emoji sequence (👨‍👩‍👧, 👍🏽) as wide as its first
 * emoji, or 2 with VS16; a flag 2; other clusters (a letter and its marks, Indic syllables) the sum of their code
 * points.
 */
export function graphemeWidth(grapheme: string): number {
  const first = grapheme.codePointAt(0);
  if (first === undefined) return 0;
  if (grapheme.length === 1 || (grapheme.length === 2 && first > 0xffff)) return grapheme === '\t' ? 1 : charWidth(first);
  let width = graphemeCache.get(grapheme);
  if (width === undefined) {
    const drawn = drawnGrapheme(grapheme);
    const emoji = drawn.length > 1 && PICTOGRAPHIC.test(drawn);
    if (emoji && drawn.includes(VS16)) width = 2;
    else if (emoji && (drawn.includes(ZWJ) || SKIN_TONE_AFTER.test(drawn))) width = charWidth(drawn.codePointAt(0)!);
    else {
      width = 0;
      for (const char of drawn) width += charWidth(char.codePointAt(0)!);
    }
    if (graphemeCache.size > 10_000) graphemeCache.clear();
    graphemeCache.set(grapheme, width);
  }
  return width;
}

/**
 * Printable ASCII alone: one column and one grapheme per character. Most chat is this, and a busy room measures
 * every line (issue 18): such text skips the segmenter.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/**
 * Text in which every UTF-16 unit is a grapheme of its own: controls but CR (a CR LF is one cluster), Latin, box
 * drawing, arrows, punctuation, kana and CJK ideographs, fullwidth forms; none of them a mark, a joiner, a
 * selector, a surrogate or a Hangul jamo, the things clusters are made of. Such text skips the segmenter too.
 */
const SIMPLE = /^[\x00-\x0c\x0e-\u02ff\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2500-\u257f\u3000-\u3029\u3030-\u303f\u3041-\u3096\u30a0-\u30ff\u4e00-\u9fff\uff01-\uff9d\uffa0-\uffef]*$/;

/** Columns a string takes (tabs count as one: callers expand them first). Colour codes (SGR) take none. */
export function stringWidth(text: string): number {
  let width = 0;
  const plain = text.includes('\x1b') ? text.replace(SGR, '') : text;
  if (PRINTABLE_ASCII.test(plain)) return plain.length;
  if (SIMPLE.test(plain)) {
    for (let i = 0; i < plain.length; i++) width += plain[i] === '\t' ? 1 : charWidth(plain.charCodeAt(i));
    return width;
  }
  for (const { segment } of segments(plain)) width += graphemeWidth(segment);
  return width;
}

/** User-perceived characters: an emoji with a skin tone or a letter with its accent moves as one. */
export function graphemes(text: string): string[] {
  if (SIMPLE.test(text)) return text.split('');
  const out: string[] = [];
  for (const { segment } of segments(text)) out.push(segment);
  return out;
}

/**
 * Break one line of text into pieces at most `width` columns wide, preferring breaks after spaces.
 * CJK text has no spaces and breaks anywhere; a wide character never straddles the edge.
 */
/** Punctuation a line must not start with (a line break goes before the character in front of it). */
const CLOSING_PUNCTUATION = /^[，。、；：！？）」』》〉】〕…,.;:!?)\]}]$/u;

export function wrapText(text: string, width: number): string[] {
  if (width < 2) width = 2;
  if (text.length <= width && PRINTABLE_ASCII.test(text)) return [text];
  const rows: string[] = [];
  let row = '';
  let rowWidth = 0;
  let lastBreak = -1; // index in `row` where it may be broken: after a space, or beside a wide character
  let previousWide = false;
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
    // CJK text has no spaces: a line may break before or after any wide character, but not before closing punctuation.
    const breakBefore = g !== ' ' && (w === 2 || previousWide) && !CLOSING_PUNCTUATION.test(g);
    if (rowWidth + w > width) {
      if (breakBefore && row !== '') {
        rows.push(row.trimEnd());
        row = '';
      } else if (lastBreak > 0 && lastBreak < row.length) {
        rows.push(row.slice(0, lastBreak).trimEnd());
        row = row.slice(lastBreak);
      } else {
        rows.push(row.trimEnd());
        row = '';
      }
      rowWidth = stringWidth(row);
      lastBreak = -1;
      if (g === ' ' && row === '') continue;
    } else if (breakBefore && row !== '') {
      lastBreak = row.length;
    }
    row += g;
    rowWidth += w;
    previousWide = w === 2;
    if (g === ' ') lastBreak = row.length;
  }
  rows.push(row);
  return rows;
}

/** The longest prefix of `text` that fits in `width` columns. */
export function truncateToWidth(text: string, width: number): string {
  let out = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
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

/** `text` (which may carry colour codes) padded with spaces to `width` columns. */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}
