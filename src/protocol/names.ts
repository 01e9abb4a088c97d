// Nick and room name rules (docs/protocol.md, "Names"). Both compare case-insensitively; nicks also compare by
// what they look like (skeleton.ts).

import { skeleton } from './skeleton.js';

export const NICK_MAX_CHARS = 32;
export const ROOM_MAX_CHARS = 64;

// Letters and digits of any script (Chinese nicks are common), combining marks, and a few IRC-style symbols.
// No spaces, controls, format characters, or the characters the client's commands use (`/`, `:`, `,`, `@`, `#`).
const NICK_PATTERN = /^[\p{L}\p{N}\p{M}_\-.[\]{}|^`]+$/u;
const ROOM_PATTERN = /^[\p{L}\p{N}\p{M}_\-.]+$/u;
// Characters that draw nothing, which NICK_PATTERN would let through as marks or letters: variation selectors
// (U+FE0F), the combining grapheme joiner (U+034F), Khmer inherent vowels (U+17B4), Hangul fillers (U+115F, U+1160,
// U+3164, U+FFA0)... all of Unicode's Default_Ignorable_Code_Point, and the blank Braille pattern (U+2800).
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800]/u;

/** Guest nicks (guest-7, on a cluster guest-1a2b-7) are the server's to hand out: no one may ask for one by name. */
export const GUEST_PREFIX = 'guest-';

/** `U+034F`: how a character is named in an error message (the character itself would show nothing). */
function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Why `nick` is not a valid nick, or null when it is. */
export function nickProblem(nick: string): string | null {
  if (nick.length === 0) return 'a nick cannot be empty';
  if (charCount(nick) > NICK_MAX_CHARS) return `a nick has at most ${NICK_MAX_CHARS} characters`;
  const invisible = INVISIBLE.exec(nick);
  if (invisible) return `a nick cannot have invisible characters, such as the ${codePoint(invisible[0])} in it`;
  if (!NICK_PATTERN.test(nick)) {
    return 'a nick is letters, digits and _ - . [ ] { } | ^ ` only: no spaces, control characters or / : , @ #';
  }
  return null;
}

/** Why `nick` cannot be asked for (hello, join, nick), or null when it can: a bad nick, or a guest nick. */
export function chosenNickProblem(nick: string): string | null {
  const problem = nickProblem(nick);
  if (problem) return problem;
  if (nickKey(nick).startsWith(GUEST_PREFIX)) {
    return `nicks that start with ${GUEST_PREFIX} are given by the server to those who ask for no nick; choose another`;
  }
  return null;
}

/** Why `room` is not a valid room name, or null when it is. */
export function roomProblem(room: string): string | null {
  if (room.length === 0) return 'a room name cannot be empty';
  if (charCount(room) > ROOM_MAX_CHARS) return `a room name has at most ${ROOM_MAX_CHARS} characters`;
  if (!ROOM_PATTERN.test(room)) return 'a room name is letters, digits and _ - . only, without spaces';
  return null;
}

/**
 * The key under which a nick is unique: its skeleton, the same for nicks that differ only in case or look alike
 * (`Alice`, Cyrillic `аlice`, fullwidth `ａｌｉｃｅ`). The nick itself is kept and shown as it was typed.
 */
export function nickKey(nick: string): string {
  return skeleton(nick);
}

/** Room names are case-insensitive; the server always uses this canonical form on the wire. */
export function canonicalRoom(room: string): string {
  return room.normalize('NFC').toLowerCase();
}
