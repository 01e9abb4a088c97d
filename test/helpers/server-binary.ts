// The real `chat-server` binary (dist/, built by `npm test`) as a child process on a free port.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SERVER_BIN = fileURLToPath(new URL('../../bin/chat-server.js', import.meta.url));

/** The port from the server's JSON `listening` log line; rejects if it exits first. */
export function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve(entry.port);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`chat-server exited with ${code}`)));
  });
}

/** Start `chat-server --port 0 --log-format json --rate-limit 0 ARGS`, killed at the end of the test. */
export function startServerBinary(
  t: { teardown(fn: () => unknown): void },
  args: string[],
): { child: ChildProcess; port: Promise<number> } {
  const child = spawn(process.execPath, [SERVER_BIN, '--port', '0', '--log-format', 'json', '--rate-limit', '0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return { child, port: listeningPort(child) };
}
