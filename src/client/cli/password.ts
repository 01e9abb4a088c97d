// Passwords from the person or the script: asked without echo on a terminal, else read as lines of stdin (one per
// password: `chat passwd` reads the old and the new one as two lines). Never printed, never kept.

import { t } from '../text/i18n/index.js';
import type { Readable } from 'node:stream';
import { ClientError } from '../core/errors.js';
import type { Io } from './io.js';

type RawInput = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/** `count` lines of a stream that is not a terminal (fewer at its end is an error). */
function readLines(stdin: Readable, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', finish);
      stdin.off('error', reject);
      stdin.pause();
      const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
      if (text.endsWith('\n')) lines.pop();
      if (lines.length < count) reject(new ClientError('bad_config', t('cli.passwordsOnStdin', { count })));
      else resolve(lines.slice(0, count));
    };
    const onData = (chunk: Buffer | string) => {
      text += String(chunk);
      if (text.split('\n').length > count) finish();
    };
    stdin.on('data', onData);
    stdin.once('end', finish);
    stdin.once('error', reject);
    stdin.resume();
  });
}

/** One line typed on the terminal without echo; Ctrl+C gives up. */
function askHidden(stdin: RawInput, stderr: Io['stderr'], prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(prompt);
    stdin.setRawMode?.(true);
    let typed = '';
    const finish = (error?: ClientError) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of String(chunk)) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new ClientError('bad_config', t('cli.cancelled')));
        if (char === '\u0004' && typed === '') return finish();
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** The passwords asked for by `prompts`: each asked without echo on a terminal, else one line of stdin each. */
export async function readPasswords(io: Io, prompts: string[]): Promise<string[]> {
  const stdin = io.stdin as RawInput;
  if (!stdin.isTTY) return readLines(stdin, prompts.length);
  const answers: string[] = [];
  for (const prompt of prompts) answers.push(await askHidden(stdin, io.stderr, prompt));
  return answers;
}

/** A new password: on a terminal typed twice, which must agree. */
export async function readNewPassword(io: Io, prompt: string): Promise<string> {
  if (!io.stdin.isTTY) return (await readPasswords(io, [prompt]))[0]!;
  const [first, again] = await readPasswords(io, [prompt, 'Again: ']);
  if (first !== again) throw new ClientError('bad_config', t('cli.passwordsDiffer'));
  return first!;
}
