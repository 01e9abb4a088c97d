// The one-line input editor: grapheme-aware cursor, editing keys, input history, Tab completion. Pure.

import { graphemeWidth, graphemes } from '../text/width.js';

const HISTORY_MAX = 500;

interface Completion {
  /** Graphemes before the word being completed, and after the cursor. */
  head: string[];
  tail: string[];
  candidates: string[];
  index: number;
  suffix: string;
}

export class InputLine {
  private chars: string[] = [];
  cursor = 0;
  private history: string[] = [];
  /** Position while walking the history with Up/Down; history.length means "the line being typed". */
  private historyIndex = 0;
  private draft: string[] = [];
  private completion: Completion | null = null;

  get value(): string {
    return this.chars.join('');
  }

  get length(): number {
    return this.chars.length;
  }

  set(value: string): void {
    this.chars = graphemes(value);
    this.cursor = this.chars.length;
    this.completion = null;
  }

  insert(text: string): void {
    // Re-segment around the cursor: keys arrive one UTF-16 unit at a time (blessed splits emoji into surrogate
    // halves) and a combining mark or skin tone joins the character before it.
    const before = this.chars.slice(0, this.cursor).join('') + text.replace(/[\r\n]+/g, ' ');
    this.chars = graphemes(before + this.chars.slice(this.cursor).join(''));
    let length = 0;
    let index = 0;
    while (index < this.chars.length && length < before.length) length += this.chars[index++]!.length;
    this.cursor = index;
    this.completion = null;
  }

  backspace(): void {
    if (this.cursor === 0) return;
    this.chars.splice(--this.cursor, 1);
    this.completion = null;
  }

  deleteForward(): void {
    this.chars.splice(this.cursor, 1);
    this.completion = null;
  }

  left(): void {
    this.cursor = Math.max(0, this.cursor - 1);
    this.completion = null;
  }

  right(): void {
    this.cursor = Math.min(this.chars.length, this.cursor + 1);
    this.completion = null;
  }

  home(): void {
    this.cursor = 0;
    this.completion = null;
  }

  end(): void {
    this.cursor = this.chars.length;
    this.completion = null;
  }

  /** Ctrl+U: delete from the start of the line to the cursor. */
  killToStart(): void {
    this.chars.splice(0, this.cursor);
    this.cursor = 0;
    this.completion = null;
  }

  /** Ctrl+W: delete the word before the cursor (and the spaces after it). */
  killWordBack(): void {
    let start = this.cursor;
    while (start > 0 && this.chars[start - 1] === ' ') start--;
    while (start > 0 && this.chars[start - 1] !== ' ') start--;
    this.chars.splice(start, this.cursor - start);
    this.cursor = start;
    this.completion = null;
  }

  /** Enter: the line is returned, remembered in the history, and the input cleared. */
  submit(): string {
    const value = this.value;
    if (value.trim() !== '' && this.history[this.history.length - 1] !== value) {
      this.history.push(value);
      if (this.history.length > HISTORY_MAX) this.history.shift();
    }
    this.historyIndex = this.history.length;
    this.chars = [];
    this.cursor = 0;
    this.completion = null;
    return value;
  }

  historyUp(): void {
    if (this.historyIndex === 0) return;
    if (this.historyIndex === this.history.length) this.draft = this.chars;
    this.historyIndex--;
    this.set(this.history[this.historyIndex]!);
  }

  historyDown(): void {
    if (this.historyIndex >= this.history.length) return;
    this.historyIndex++;
    if (this.historyIndex === this.history.length) {
      this.chars = this.draft;
      this.cursor = this.chars.length;
      this.completion = null;
    } else {
      this.set(this.history[this.historyIndex]!);
    }
  }

  /**
   * Tab: complete the word before the cursor. A first word starting with / completes commands; otherwise nicks,
   * with ": " after a nick at the start of the line; the path after `/send ` or `/get N ` (spaces included) with `paths`.
   * Pressing Tab again cycles through the candidates.
   */
  complete(commands: readonly string[], nicks: readonly string[], paths?: (typed: string) => string[]): void {
    if (this.completion) {
      const c = this.completion;
      c.index = (c.index + 1) % c.candidates.length;
      this.applyCompletion(c);
      return;
    }
    const before = this.chars.slice(0, this.cursor).join('');
    const send = /^\/(?:send|upload)\s+|^\/(?:get|download)\s+\S+\s+/i.exec(before);
    if (send && paths) {
      const start = graphemes(send[0]).length;
      const candidates = paths(before.slice(send[0].length));
      if (candidates.length === 0) return;
      this.completion = { head: this.chars.slice(0, start), tail: this.chars.slice(this.cursor), candidates, index: 0, suffix: '' };
      this.applyCompletion(this.completion);
      return;
    }
    let start = this.cursor;
    while (start > 0 && this.chars[start - 1] !== ' ') start--;
    const word = this.chars.slice(start, this.cursor).join('');
    if (word === '') return;
    const atStart = start === 0;
    let candidates: string[];
    let suffix: string;
    if (atStart && word.startsWith('/')) {
      candidates = commands.map((c) => `/${c}`).filter((c) => c.startsWith(word.toLowerCase()));
      suffix = ' ';
    } else {
      const prefix = word.replace(/^@/, '').toLowerCase();
      candidates = [...new Set(nicks)].filter((n) => n.toLowerCase().startsWith(prefix)).sort();
      suffix = atStart ? ': ' : ' ';
    }
    if (candidates.length === 0) return;
    const tail = this.chars.slice(this.cursor);
    this.completion = { head: this.chars.slice(0, start), tail, candidates, index: 0, suffix };
    this.applyCompletion(this.completion);
  }

  private applyCompletion(c: Completion): void {
    const word = graphemes(c.candidates[c.index]! + c.suffix);
    this.chars = [...c.head, ...word, ...c.tail];
    this.cursor = c.head.length + word.length;
  }

  /**
   * What to draw in `width` columns: a window on the line that keeps the cursor visible, and the cursor column.
   * With `mask` (a password), each grapheme is drawn as the mask instead.
   */
  view(width: number, mask?: string): { text: string; cursorColumn: number } {
    const chars = mask === undefined ? this.chars : this.chars.map(() => mask);
    const widths = chars.map(graphemeWidth);
    const cursorAt = widths.slice(0, this.cursor).reduce((a, b) => a + b, 0);
    const room = Math.max(1, width - 1);
    // Scroll in steps of half the width so that the window does not move on every key.
    const step = Math.max(1, Math.floor(room / 2));
    const offset = cursorAt < room ? 0 : Math.floor((cursorAt - room) / step + 1) * step;
    let text = '';
    let column = 0;
    let start = -1;
    for (let i = 0; i < chars.length; i++) {
      if (column >= offset) {
        if (start < 0) start = column;
        if (column - start + widths[i]! > width) break;
        text += chars[i];
      }
      column += widths[i]!;
    }
    return { text, cursorColumn: cursorAt - (start < 0 ? offset : start) };
  }
}
