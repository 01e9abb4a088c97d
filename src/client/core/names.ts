// Room names and nicks as the user typed them, checked once before anything is sent: the protocol's rules,
// and a ClientError that quotes the name (made safe to print) and says what is wrong with it.

import { t } from '../text/i18n/index.js';
import { canonicalRoom, nickProblem, roomProblem } from '../../protocol/index.js';
import { problemWords } from '../text/problem-wording.js';
import { sanitizeLine } from '../text/sanitize.js';
import { ClientError } from './errors.js';

/** The canonical name of the room `typed`, or a `bad_room` ClientError. */
export function checkedRoom(typed: string): string {
  const problem = roomProblem(typed);
  if (problem) throw new ClientError('bad_room', t('names.badRoom', { name: JSON.stringify(sanitizeLine(typed)), problem: problemWords(problem) }));
  return canonicalRoom(typed);
}

/** `typed` when it is a valid nick, or a `bad_nick` ClientError that calls it `what` ("nick to send to"). */
export function checkedNick(typed: string, what = 'nick'): string {
  const found = nickProblem(typed);
  const problem = found && problemWords(found);
  const name = JSON.stringify(sanitizeLine(typed));
  if (problem) throw new ClientError('bad_nick', what === 'nick' ? t('names.badNick', { name, problem }) : t('names.badNickTo', { name, problem }));
  return typed;
}
