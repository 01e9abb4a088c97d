// `chat send-file` and `chat get` on a terminal: a progress bar with speed and ETA on stderr.

import { createRequire } from 'node:module';
import { t } from '../text/i18n/index.js';
import type { Progress } from '../core/transfer/open.js';
import { formatSize } from '../text/size.js';
import type { Io } from './io.js';

/** A progress bar with speed and ETA on stderr when it is a terminal; nothing in pipes. */
export function progressBar(io: Io, label: string): { update(p: Progress): void; stop(): void } {
  const stderr = io.stderr as NodeJS.WriteStream;
  if (!stderr.isTTY) return { update() {}, stop() {} };
  // Loaded here, not at start: `chat join` never draws one, and every module loaded delays the first screen.
  const { SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({
    stream: stderr,
    format: `${label} [{bar}] {percentage}% {done}/{size} {speed}/s ${t('progress.eta', { time: '{eta_formatted}' })}`,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: true,
    etaBuffer: 50,
  });
  const started = Date.now();
  let first: number | null = null;
  let begun = false;
  return {
    update({ done, total }) {
      first ??= done;
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      const payload = { done: formatSize(done), size: formatSize(total), speed: formatSize(Math.round((done - first) / seconds)) };
      if (!begun) {
        bar.start(Math.max(1, total), done, payload);
        begun = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}
