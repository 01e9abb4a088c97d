// Rows of cells laid out in columns by display width (a Chinese name is twice as wide as its length), for
// `chat rooms` and /files.

import { padToWidth, stringWidth } from './width.js';

export type Align = 'left' | 'right';

/** Each row's cells padded to their column's widest, two spaces apart; the last column is not padded on the right. */
export function columns(rows: readonly (readonly string[])[], align: readonly Align[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, stringWidth(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const gap = ' '.repeat(Math.max(0, widths[i]! - stringWidth(cell)));
        if (align[i] === 'right') return gap + cell;
        return i === row.length - 1 ? cell : padToWidth(cell, widths[i]!);
      })
      .join('  '),
  );
}
