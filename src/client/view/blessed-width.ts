// blessed measures emoji 1 column wide but terminals draw them 2 wide, so typing `a😀b` ate a column and put the
// cursor off by one. Make blessed measure with our charWidth, the one the log layout uses.

import { createRequire } from 'node:module';
import { charWidth } from '../text/width.js';

interface BlessedUnicode {
  charWidth(str: string | number, i?: number): number;
  codePointAt(str: string, i: number): number;
  combining: Record<number, boolean>;
  chars: { all: RegExp };
}

let patched = false;

export function patchBlessedWidth(): void {
  if (patched) return;
  patched = true;
  const require = createRequire(import.meta.url);
  const unicode = require('blessed/lib/unicode.js') as BlessedUnicode;
  const original = unicode.charWidth;
  unicode.charWidth = (str, i) => {
    const point = typeof str === 'number' ? str : unicode.codePointAt(str, i ?? 0);
    if (point === 0x09) return original(str, i);
    return charWidth(point);
  };
  // Zero-width characters we count as 0 must join the previous cell in blessed too, not take one of their own.
  for (const point of [0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2060, 0xfe0e, 0xfe0f, 0xfeff]) unicode.combining[point] = true;
  // parseContent puts a filler cell after every character `chars.all` matches ('$1\x03'); it must match exactly what
  // charWidth calls wide. A regex cannot say that for emoji without the u flag, which breaks blessed's surrogate
  // ranges, so it becomes an object that String.prototype.replace calls instead.
  unicode.chars.all = {
    [Symbol.replace](text: string, replacement: string): string {
      let out = '';
      for (const char of text) {
        out += charWidth(char.codePointAt(0)!) === 2 ? replacement.replace('$1', char) : char;
      }
      return out;
    },
  } as unknown as RegExp;
}
