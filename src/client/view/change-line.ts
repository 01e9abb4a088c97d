// Line mode's line for a later change to a message (core/conversation-state.ts MessageChange), in the style of
// plainLine: `[12:01:33] * alice edited #12: new text`. Pure.

import type { ChalkInstance } from 'chalk';
import type { MessageChange } from '../core/conversation-state.js';
import { reactionLine } from '../core/conversation-state.js';
import type { ChatBuffer } from '../core/state.js';
import { t } from '../text/i18n/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import { clock } from '../text/time.js';

/** What the change did, in words. */
export function changeWords(change: MessageChange): string {
  const seq = change.seq;
  const who = change.author !== undefined ? sanitizeLine(change.author) : undefined;
  switch (change.kind) {
    case 'edit': {
      const text = change.text.replace(/\s*\n\s*/g, ' ');
      return who !== undefined ? t('change.edited', { who, seq, text }) : t('change.editedBySomeone', { seq, text });
    }
    case 'delete':
      return who !== undefined ? t('change.deleted', { who, seq }) : t('change.deletedBySomeone', { seq });
    case 'react': {
      const tally = reactionLine(change.reactions);
      if (change.by) {
        const { nick, emoji, on } = change.by;
        return on ? t('change.reacted', { nick, emoji, seq, tally }) : t('change.unreacted', { nick, emoji, seq });
      }
      return tally !== '' ? t('change.reactions', { seq, tally }) : t('change.noReactions', { seq });
    }
  }
}

export function changeLine(change: MessageChange, buffer: ChatBuffer, showBuffer: boolean, chalk: ChalkInstance): string {
  const where = showBuffer ? `[${buffer.name}] ` : '';
  return `${chalk.ansi256(245)(`[${clock(change.ts)}]`)} ${where}* ${changeWords(change)}`;
}
