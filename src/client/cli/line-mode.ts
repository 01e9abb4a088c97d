// Line mode, for pipes and scripts: each stdin line is sent (commands work too), each event printed as one line.

import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ChatClient } from '../core/client.js';
import { ExitCode } from '../core/errors.js';
import { changeLine } from '../view/change-line.js';
import { makeChalk, plainLine } from '../view/format.js';
import { t } from '../text/i18n/index.js';
import { sanitizeLine } from '../text/sanitize.js';

export interface LineModeIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  colour: boolean;
  /** Print raw protocol lines instead of plain text (`--json`); set up by the caller through onRawLine. */
  json: boolean;
}

/** Runs until stdin ends (after the last message is echoed) or /quit. Resolves with the exit code. */
export async function runLineMode(client: ChatClient, io: LineModeIo): Promise<number> {
  const chalk = makeChalk(io.colour);
  let failures = 0;
  const primary = client.options.rooms[0] ?? '';
  client.state.onEntry = (buffer, entry) => {
    if (entry.kind === 'error') {
      failures++;
      io.stderr.write(`${t('cli.error', { message: sanitizeLine(entry.text) })}\n`);
      return;
    }
    if (io.json || buffer.kind === 'server') return;
    io.stdout.write(plainLine(entry, buffer, buffer.key !== primary, chalk) + '\n');
  };
  client.state.onChange = (buffer, change) => {
    if (!io.json) io.stdout.write(changeLine(change, buffer, buffer.key !== primary, chalk) + '\n');
  };
  await client.start();

  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      lines.close();
      resolve(failures > 0 ? ExitCode.failed : ExitCode.ok);
    };
    client.onClose(finish);
    let chain = Promise.resolve();
    const lines = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
    lines.on('line', (line) => {
      chain = chain.then(() => client.submit(line));
    });
    lines.on('close', () => {
      void chain.then(() => client.quit()).then(finish);
    });
  });
}
