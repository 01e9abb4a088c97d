// blessed measures and places text one code point per cell, but terminals draw a grapheme cluster in one place: a
// flag (🇨🇳, two code points) or a family (👨‍👩‍👧, five) is 2 columns, and blessed counted 4 and 6, smearing the
// screen. So before blessed lays out any content, each cluster of several code points becomes one stand-in code
// point (cluster-cells.ts) of the cluster's width, and the stand-ins become the clusters again in what is written
// to the terminal. Single code points are measured with our charWidth, the one the log layout uses.

import type blessed from 'blessed';
import unicode from 'blessed/lib/unicode.js';
import { charWidth, drawnGrapheme, graphemes, graphemeWidth } from '../text/width.js';
import { isStandIn, restoreClusters, standInFor, standInWidth } from './cluster-cells.js';

let patched = false;
const ASCII = /^[\x00-\x0c\x0e-\x7f]*$/; // no CR: CR LF is one cluster, dropped below

export function patchBlessedWidth(): void {
  if (patched) return;
  patched = true;
  const original = unicode.charWidth;
  unicode.charWidth = (str, i) => {
    const point = typeof str === 'number' ? str : unicode.codePointAt(str, i ?? 0);
    if (point === 0x09) return original(str, i);
    return isStandIn(point) ? standInWidth(point) : charWidth(point);
  };
  // parseContent puts a filler cell after every character `chars.all` matches ('$1\x03'). It becomes an object
  // that String.prototype.replace calls instead, which sees the whole content: clusters become stand-ins, wide
  // characters get their filler, and a lone zero-width character joins the cell before it.
  unicode.chars.all = {
    [Symbol.replace](text: string, replacement: string): string {
      // ASCII alone (colour codes included) has no cluster, no wide character and no mark: nothing to do.
      if (ASCII.test(text)) return text;
      let out = '';
      for (const grapheme of graphemes(text)) {
        // A stand-in typed by someone is not ours to restore: it is drawn as the replacement character.
        const drawn = isStandIn(grapheme.codePointAt(0)!) ? '\ufffd' : drawnGrapheme(grapheme);
        if (drawn === '') continue;
        const point = drawn.codePointAt(0)!;
        const width = graphemeWidth(drawn);
        const single = drawn.length === 1 || (drawn.length === 2 && point > 0xffff);
        if (single && width === 0 && point >= 0x300) unicode.combining[point] = true;
        const cell = single ? drawn : width === 0 ? '' : standInFor(drawn, width);
        // With every stand-in taken (65 534 different clusters), a cluster is shown as question marks of its width.
        if (cell === null) out += '?'.repeat(width);
        else out += width === 2 ? replacement.replace('$1', cell) : cell;
      }
      return out;
    },
  } as unknown as RegExp;
}

type Cell = [number, string];
interface DrawingScreen {
  program: { _write(text: string): unknown };
  lines: (Cell[] & { dirty?: boolean })[];
  olines: Cell[][];
  draw(start: number, end: number): void;
}

/**
 * What the screen writes to the terminal carries the clusters, not their stand-ins. A row that showed a cluster is
 * written again whole when it changes: terminals keep a flag's two halves apart (tmux left half a flag behind when
 * only some cells of its row were rewritten).
 */
export function writeClusters(screen: blessed.Widgets.Screen): void {
  const drawing = screen as unknown as DrawingScreen;
  const program = drawing.program;
  const write = program._write.bind(program);
  program._write = (text: string) => write(restoreClusters(text));
  const draw = drawing.draw.bind(drawing);
  drawing.draw = (start, end) => {
    for (let y = start; y <= end; y++) {
      const shown = drawing.olines[y];
      if (!drawing.lines[y]?.dirty || !shown?.some((cell) => isStandIn(cell[1].codePointAt(0) ?? 0))) continue;
      for (const cell of shown) cell[1] = '\0';
    }
    draw(start, end);
  };
}
