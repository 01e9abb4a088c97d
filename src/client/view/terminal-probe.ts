// Ask the terminal how wide it draws the clusters terminals disagree on: write each one at the start of the line,
// ask where the cursor is (DSR, `ESC [6n`), read the answer (`ESC [row;colR`). A terminal that does not answer in
// time keeps the defaults (text/width.ts TMUX_WIDTHS).

import type { Readable, Writable } from 'node:stream';
import type { TerminalWidths } from '../text/width.js';

export const PROBES: Readonly<Record<keyof TerminalWidths, string>> = {
  flags: '\u{1f1e8}\u{1f1f3}',
  zwj: '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}',
  skinTones: '\u{1f44d}\u{1f3fd}',
  vs16: '\u2764\ufe0f',
};

const CURSOR_REPORT = /\x1b\[(\d+);(\d+)R/;

export interface ProbeTerminal {
  input: Readable & { setRawMode?(mode: boolean): unknown; isRaw?: boolean };
  output: Writable;
}

/**
 * How the terminal draws each probe (2 columns: as one character), or null when it did not answer in `timeoutMs`.
 * Every probe goes out in one write and the reports come back in order: one round trip to the terminal, not one
 * per probe (the first screen waits for it).
 */
export async function probeTerminal({ input, output }: ProbeTerminal, timeoutMs = 300): Promise<TerminalWidths | null> {
  const wasRaw = input.isRaw ?? false;
  input.setRawMode?.(true);
  let received = '';
  let wake: (() => void) | null = null;
  const onData = (chunk: Buffer | string) => {
    received += chunk.toString();
    wake?.();
  };
  input.on('data', onData);
  const deadline = Date.now() + timeoutMs;
  const probes = Object.entries(PROBES) as [keyof TerminalWidths, string][];
  try {
    output.write(probes.map(([, probe]) => `\r${probe}\x1b[6n`).join(''));
    const widths: Partial<TerminalWidths> = {};
    for (const [name] of probes) {
      const column = await cursorColumn(() => received, (resume) => (wake = resume), deadline);
      received = received.replace(CURSOR_REPORT, '');
      if (column === null) return null;
      widths[name] = column - 1 === 2;
    }
    return widths as TerminalWidths;
  } finally {
    input.off('data', onData);
    input.pause();
    input.setRawMode?.(wasRaw);
    output.write('\r\x1b[2K');
  }
}

/** The column of the next cursor report in what has been received, waiting for it until `deadline`. */
async function cursorColumn(received: () => string, onMore: (resume: () => void) => void, deadline: number): Promise<number | null> {
  for (;;) {
    const report = CURSOR_REPORT.exec(received());
    if (report) return Number(report[2]);
    const left = deadline - Date.now();
    if (left <= 0) return null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      onMore(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
