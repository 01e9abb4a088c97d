// `chat-server --workers N --redis URL`: N processes behind one port (node:cluster shares the listening socket;
// the primary hands each new connection to a worker in turn). Each worker is a cluster node like any other,
// joined to the rest through Redis; the primary only forks, replaces a worker that dies, and passes signals on.

import cluster from 'node:cluster';
import type { Logger } from '../log.js';

/** How soon a worker that keeps dying at start-up is forked again. */
const RESTART_DELAY_MS = 500;

export function runPrimary(workers: number, log: Logger): void {
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.warn({ worker: worker.process.pid, code, signal }, 'worker died; its clients reconnect to the others; starting another');
    setTimeout(fork, RESTART_DELAY_MS);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down the workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

export function isPrimaryOf(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}
