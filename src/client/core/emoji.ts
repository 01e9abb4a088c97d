// Emoji shortcodes (:smile:, :thumbsup:) turned into emoji when a message is sent.

import { createRequire } from 'node:module';

type EmojiTable = typeof import('node-emoji');
let table: EmojiTable | null = null;

/** node-emoji's table is loaded on the first shortcode: loading it took as long as blessed, at every start. */
function emojiTable(): EmojiTable {
  return (table ??= createRequire(import.meta.url)('node-emoji') as EmojiTable);
}

// GitHub/Slack names that node-emoji's table (emojilib) spells differently.
const ALIASES: Record<string, string> = {
  thumbsup: '+1',
  thumbs_up: '+1',
  thumbsdown: '-1',
  thumbs_down: '-1',
  lol: 'joy',
  party: 'tada',
  partying_face: 'tada',
  smiling: 'slightly_smiling_face',
  sad: 'slightly_frowning_face',
  ok: 'ok_hand',
};

const SHORTCODE = /:([a-z0-9_+-]+):/gi;

/** Replace every known `:name:` with its emoji; unknown ones (and times like 12:30:45) stay as typed. */
export function emojify(text: string): string {
  if (!text.includes(':')) return text;
  return text.replace(SHORTCODE, (whole, name: string) => {
    const key = name.toLowerCase();
    return emojiTable().get(ALIASES[key] ?? key) ?? whole;
  });
}

