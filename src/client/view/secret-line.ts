// The input line while the core asks for a secret (a password): each grapheme typed shows as •, the line has an
// input history of its own that is never used, and Enter hands the answer to the question, never to submit().

import type { SecretQuestion } from '../core/secret-prompt.js';
import { stringWidth, truncateToWidth } from '../text/width.js';
import { InputLine } from './input-line.js';
import { EDITING_KEYS } from './keys.js';

export const SECRET_MASK = '\u2022';

/** Keys that would bring another line into the secret one. */
const HISTORY_KEYS = new Set(['up', 'down']);

export class SecretLine {
  private readonly input = new InputLine();

  constructor(readonly question: SecretQuestion) {}

  /** A key while asking; true when the question is over (answered or cancelled). */
  key(ch: string | undefined, name: string, plain: boolean): boolean {
    // blessed reports one Enter as 'enter' then 'return'. Only 'enter' answers: the 'return' after the Enter that
    // submitted /register would otherwise answer the question it just asked, with an empty password.
    if (name === 'enter') {
      this.question.answer(this.input.value);
      return true;
    }
    if (name === 'return') return false;
    if (name === 'escape') {
      this.question.cancel();
      return true;
    }
    const edit = HISTORY_KEYS.has(name) ? undefined : EDITING_KEYS.get(name);
    if (edit) edit(this.input);
    else if (ch && plain && !/[\x00-\x1f\x7f]/.test(ch)) this.input.insert(ch);
    return false;
  }

  paste(text: string): void {
    this.input.insert(text);
  }

  /** The prompt and the masked line in `width` columns, and the cursor column. */
  view(width: number): { text: string; cursorColumn: number } {
    const prompt = truncateToWidth(`${this.question.prompt} `, Math.floor(width / 2));
    const promptWidth = stringWidth(prompt);
    const line = this.input.view(Math.max(1, width - promptWidth), SECRET_MASK);
    return { text: prompt + line.text, cursorColumn: promptWidth + line.cursorColumn };
  }
}
