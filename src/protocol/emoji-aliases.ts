// GitHub/Slack shortcode names that node-emoji's table (emojilib) spells differently: the terminal client and the
// browser page (through the server's emoji table) take both spellings alike.

export const EMOJI_ALIASES: Readonly<Record<string, string>> = {
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
