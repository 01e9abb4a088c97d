// A reader that goes away (`chat --help | head -1`) ends the command quietly with exit 0, as coreutils do, instead of
// an EPIPE stack trace: Node ignores SIGPIPE, so the closed pipe arrives as an 'error' on stdout.

import type { Writable } from 'node:stream';

const CLOSED_PIPE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

export function exitQuietlyWhenStdoutCloses(stdout: Writable, exit: (code: number) => void): void {
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (!CLOSED_PIPE.has(error.code ?? '')) throw error;
    exit(0);
  });
}
