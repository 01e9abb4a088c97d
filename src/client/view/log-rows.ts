// The log as screen rows, laid out once per entry and width (entryRows) and kept with the entry itself, so that
// entries dropped from the scrollback take their rows with them. A log that follows the newest messages is laid
// out from the bottom up, only as far as the screen shows: a redraw in a busy room costs a screenful, not the
// whole scrollback (issue 18).

import type { ChalkInstance } from 'chalk';
import type { Entry } from '../core/state.js';
import type { Row } from '../core/scrollback.js';
import { day as dayOf } from '../text/time.js';
import { entryRows } from './format.js';

interface Laid {
  width: number;
  rows: string[];
  day: string;
}

export class LogLayout {
  private readonly laid = new WeakMap<Entry, Laid>();

  constructor(private readonly chalk: ChalkInstance) {}

  private layOut(entry: Entry, width: number): Laid {
    let laid = this.laid.get(entry);
    if (!laid || laid.width !== width) {
      laid = { width, rows: entryRows(entry, width, this.chalk), day: laid?.day ?? dayOf(entry.ts) };
      this.laid.set(entry, laid);
    }
    return laid;
  }

  private dayLine(entry: Entry, day: string): Row {
    return { entryId: entry.id, part: -1, text: this.chalk.ansi256(245)(`-- ${day} --`) };
  }

  /**
   * Every row of the log, with a "day changed" line where the local date changes (and above the first entry when
   * it is not from today: history can be days old). For scrolling.
   */
  all(entries: readonly Entry[], width: number, now: number = Date.now()): Row[] {
    const rows: Row[] = [];
    let day = dayOf(now);
    for (const entry of entries) {
      const laid = this.layOut(entry, width);
      if (laid.day !== day) rows.push(this.dayLine(entry, laid.day));
      day = laid.day;
      laid.rows.forEach((text, part) => rows.push({ entryId: entry.id, part, text }));
    }
    return rows;
  }

  /** The last `count` rows of `all`, laid out from the newest entry up. */
  tail(entries: readonly Entry[], width: number, count: number, now: number = Date.now()): Row[] {
    const reversed: Row[] = [];
    for (let i = entries.length - 1; i >= 0 && reversed.length < count; i--) {
      const entry = entries[i]!;
      const laid = this.layOut(entry, width);
      for (let part = laid.rows.length - 1; part >= 0; part--) reversed.push({ entryId: entry.id, part, text: laid.rows[part]! });
      const dayBefore = i > 0 ? this.layOut(entries[i - 1]!, width).day : dayOf(now);
      if (laid.day !== dayBefore) reversed.push(this.dayLine(entry, laid.day));
    }
    return reversed.slice(0, count).reverse();
  }
}
