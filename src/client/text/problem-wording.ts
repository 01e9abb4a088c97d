// What is wrong with a nick, a room name or a password, as the protocol's rules say it (protocol/names.ts,
// passwords.ts: English, shared with the server), said in the interface's language. A problem this client does
// not know is shown as the protocol words it.

import { t } from './i18n/index.js';

export function problemWords(problem: string): string {
  let m: RegExpExecArray | null;
  if (problem === 'a nick cannot be empty') return t('problem.nickEmpty');
  if ((m = /^a nick has at most (\d+) characters$/.exec(problem))) return t('problem.nickTooLong', { max: m[1]! });
  if ((m = /^a nick cannot have invisible characters, such as the (U\+[0-9A-F]+) in it$/.exec(problem))) return t('problem.nickInvisible', { char: m[1]! });
  if (problem.startsWith('a nick is letters, digits and ')) return t('problem.nickCharacters');
  if ((m = /^nicks that start with (\S+) are given by the server to those who ask for no nick; choose another$/.exec(problem))) return t('problem.nickGuest', { prefix: m[1]! });
  if (problem === 'a room name cannot be empty') return t('problem.roomEmpty');
  if ((m = /^a room name has at most (\d+) characters$/.exec(problem))) return t('problem.roomTooLong', { max: m[1]! });
  if (problem === 'a room name is letters, digits and _ - . only, without spaces') return t('problem.roomCharacters');
  if ((m = /^a password has at least (\d+) characters$/.exec(problem))) return t('problem.passwordShort', { min: m[1]! });
  if ((m = /^a password has at most (\d+) characters$/.exec(problem))) return t('problem.passwordLong', { max: m[1]! });
  return problem;
}
