// A real redis-server for a test: on a free loopback port, no persistence, stopped by its pid in teardown.
// restart() stops it and starts a fresh one on the same port (what a node sees when Redis restarts).

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, redisAnswersPing as ping } from '../../bench/targets.js';

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(command, args, (error, _stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve())),
  );
}

/** Poll until `probe` holds: redis-server daemonizes, so there is no event to wait for. */
async function until(probe: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export async function startRedis(t: { teardown(fn: () => unknown): void }): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'chat-redis-'));
  const pidfile = join(dir, 'redis.pid');
  let pid = 0;

  const start = async () => {
    await run('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
      '--pidfile', pidfile, '--dir', dir, '--logfile', join(dir, 'redis.log'),
    ]);
    await until(() => ping(port), `redis-server on port ${port}`);
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  };
  const stop = async () => {
    if (pid === 0) return;
    const stopping = pid;
    pid = 0;
    try {
      process.kill(stopping, 'SIGKILL');
    } catch {
      return;
    }
    // A killed daemon may linger as a zombie until init reaps it; what matters is that its port is closed.
    await until(async () => !alive(stopping) || !(await ping(port)), `redis-server ${stopping} to exit`);
  };

  await start();
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
}
