// commander's own words (help titles, the help and version options, its usage errors) in the interface's
// language: commander writes them in English, so its titles go through configureHelp and its errors through
// outputError, translated by pattern.

import type { Command } from 'commander';
import { t } from '../text/i18n/index.js';
import { stringWidth } from '../text/width.js';

function title(heading: string): string {
  switch (heading) {
    case 'Usage:':
      return t('cli.titleUsage');
    case 'Options:':
      return t('cli.titleOptions');
    case 'Commands:':
      return t('cli.titleCommands');
    case 'Arguments:':
      return t('cli.titleArguments');
    case 'Global Options:':
      return t('cli.titleGlobalOptions');
    default:
      return heading;
  }
}

/** One of commander's usage errors in the interface's language (as it was, when it is not one we know). */
export function commanderError(text: string): string {
  const rules: [RegExp, (m: RegExpExecArray) => string][] = [
    [/^error: unknown option '([^']*)'/, (m) => t('cli.unknownOption', { option: m[1]! })],
    [/^error: unknown command '([^']*)'/, (m) => t('cli.unknownCommand', { command: m[1]! })],
    [/^error: missing required argument '([^']*)'/, (m) => t('cli.missingArgument', { argument: m[1]! })],
    [/^error: option '([^']*)' argument missing/, (m) => t('cli.optionArgumentMissing', { option: m[1]! })],
    [/^error: too many arguments/, () => t('cli.tooManyArguments')],
  ];
  for (const [pattern, words] of rules) {
    const m = pattern.exec(text);
    if (m) return `${words(m)}${text.slice(m[0].length).replace(/^[^\n]*/, '')}`;
  }
  return text;
}

/** The help and version options, the help command and the titles of `program` (and commands made after) in words. */
export function inOurWords(program: Command): Command {
  return program
    .helpOption('-h, --help', t('cli.helpOption'))
    .helpCommand('help [command]', t('cli.helpOption'))
    // Help is wrapped by display width: a Chinese character takes two columns.
    .configureHelp({ styleTitle: title, displayWidth: (text) => stringWidth(text.replace(/\x1b\[[0-9;]*m/g, '')) });
}
