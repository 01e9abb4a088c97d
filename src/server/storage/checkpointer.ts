// WAL checkpoints on a thread of their own. A checkpoint copies the WAL into the database file and fsyncs both;
// on the event loop that fsync stalled every room for ~10 ms every few hundred commits (on a slow disk, far longer).
// Here a worker with its own connection checkpoints (PASSIVE: it never blocks the writer) about a second after
// the main thread wrote. The main connection keeps a large autocheckpoint as a backstop, in case this thread
// cannot keep up or is gone.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** After a write, wait this long before checkpointing, so that one checkpoint (one fsync) covers many commits. */
const CHECKPOINT_DELAY_MS = 1000;

// Runs in the worker (CommonJS, evaluated): one connection, a checkpoint after each burst of writes, close on 'close'.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqliteModule);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let timer = null;
const checkpoint = () => {
  timer = null;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
};
parentPort.on('message', (message) => {
  if (message === 'wrote') timer ??= setTimeout(checkpoint, workerData.delayMs);
  if (message === 'close') {
    if (timer) clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
`;

/** Started at the first write: a server that stores nothing costs no thread. */
export class Checkpointer {
  private worker: Worker | null = null;
  private closed = false;
  private lastNotified = -Infinity;
  /** Resolves when the thread has closed its connection and ended (at once when none was started). */
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly onError: (error: Error) => void,
  ) {}

  /** The main connection committed: checkpoint soon. One message per delay: that checkpoint covers the rest. */
  wrote(): void {
    const now = performance.now();
    if (this.closed || now - this.lastNotified < CHECKPOINT_DELAY_MS) return;
    this.lastNotified = now;
    (this.worker ??= this.start()).postMessage('wrote');
  }

  /** Resolves once the thread is gone: until then its connection may still write the WAL files. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      // Held until it has ended: a process that waits for it must not end first.
      this.worker?.ref();
      this.worker?.postMessage('close');
    }
    return this.exited;
  }

  private start(): Worker {
    const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: this.path, sqliteModule, delayMs: CHECKPOINT_DELAY_MS } });
    worker.unref();
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: { error?: string }) => {
      if (message.error) this.onError(new Error(`checkpoint: ${message.error}`));
    });
    // Without the thread the writer's own autocheckpoint (the backstop) keeps the WAL bounded.
    worker.on('error', (error) => {
      this.closed = true;
      this.onError(error);
    });
    return worker;
  }
}
