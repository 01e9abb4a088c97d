// One server per history database. Two servers on one file would each number a room's messages from their own
// counter and silently drop each other's records (same room, same seq), so the second one refuses to start.
// The lock is a file holding the owner's pid, created exclusively; a lock whose process is gone (kill -9) is taken over.

import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';

/** Take the lock at `path`; returns the function that gives it back. Throws, saying who holds it, while another does. */
export function acquireLock(path: string, what: string): () => void {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => release(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = lockOwner(path);
    if ((owner !== null && isAlive(owner)) || attempt > 0) {
      const who = owner === process.pid ? 'another server in this process' : `another chat-server (pid ${owner ?? '?'})`;
      throw new Error(
        `${what} is in use by ${who}; give this one its own --data-dir, or --memory (if no server runs, remove ${path})`,
      );
    }
    unlinkSync(path); // left by a process that is gone
  }
}

function release(path: string): void {
  try {
    if (lockOwner(path) === process.pid) unlinkSync(path);
  } catch {
    // already gone
  }
}

function lockOwner(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
