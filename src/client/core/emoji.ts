// Emoji shortcodes (:smile:, :thumbsup:) turned into emoji when a message is sent.

import { createRequire } from 'node:module';
import { EMOJI_ALIASES } from '../../protocol/emoji-aliases.js';

type EmojiTable = typeof import('node-emoji');
let table: EmojiTable | null = null;

/** node-emoji's table is loaded on the first shortcode: loading it took as long as blessed, at every start. */
function emojiTable(): EmojiTable {
  return (table ??= createRequire(import.meta.url)('node-emoji') as EmojiTable);
}

const ALIASES = EMOJI_ALIASES;

const SHORTCODE = /:([a-z0-9_+-]+):/gi;

/** Replace every known `:name:` with its emoji; unknown ones (and times like 12:30:45) stay as typed. */
export function emojify(text: string): string {
  if (!text.includes(':')) return text;
  return text.replace(SHORTCODE, (whole, name: string) => {
    const key = name.toLowerCase();
    return emojiTable().get(ALIASES[key] ?? key) ?? whole;
  });
}

