// The servers under test, each started as its own process on a free loopback port and pinned to one core,
// so that its CPU time and memory can be read from /proc/<pid> and it does not share a core with the load.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServerKind = 'ours' | 'floor' | 'redis';

/** How a member joins and a publisher sends, in the dialect of each server. */
export interface Dialect {
  join(room: string, nick: string): string;
  publish(room: string, text: string): string;
  /** Redis: a subscribed connection cannot PUBLISH, so a publisher has a second connection for sending. */
  separatePublisher: boolean;
}

const jsonLines: Dialect = {
  join: (room, nick) => `{"type":"join","room":"${room}","nick":"${nick}"}\n`,
  publish: (room, text) => `{"type":"msg","room":"${room}","text":"${text}"}\n`,
  separatePublisher: false,
};

function bulk(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

const resp: Dialect = {
  join: (room) => `*2\r\n$9\r\nSUBSCRIBE\r\n${bulk(room)}`,
  publish: (room, text) => `*3\r\n$7\r\nPUBLISH\r\n${bulk(room)}${bulk(text)}`,
  separatePublisher: true,
};

export interface Target {
  kind: ServerKind;
  pid: number;
  port: number;
  /** Several nodes of one cluster: members are spread over their ports, CPU is summed over their pids. */
  nodes?: { pid: number; port: number }[];
  dialect: Dialect;
  /** Every process whose CPU is the server's (--workers: the primary, its workers and Redis); default: pid, or nodes. */
  cpuPids?: () => number[];
  stop(): Promise<void>;
  /** Ours only: stop cleanly and start again on the same data dir (a new pid and port; resume workload). */
  restart?(): Promise<void>;
}

/** Where the server runs; the load generator pins itself to the other core. */
export const SERVER_CPU = '0';
export const LOAD_CPU = '1';

/** The package root: this file runs as bench/targets.ts (tests) or dist/bench/targets.js (npm run bench). */
const root = fileURLToPath(new URL(existsSync(new URL('../package.json', import.meta.url)) ? '../' : '../../', import.meta.url));

export interface StartOptions {
  /** More flags for our server (e.g. --redis). */
  extraArgs?: string[];
  /** Directory for `node --cpu-prof` output of our server, or undefined for no profile. */
  cpuProfDir?: string | undefined;
  /** File name (without .cpuprofile) of that profile. */
  cpuProfName?: string | undefined;
  /** The cores the server may run on (taskset -c); default SERVER_CPU. */
  cpus?: string;
}

export async function startTarget(kind: ServerKind, options: StartOptions = {}): Promise<Target> {
  if (kind === 'redis') return startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  let launches = 0;
  const launch = async (): Promise<{ child: ChildProcess; port: number }> => {
    const errPath = join(dir, `stderr${launches++ || ''}`);
    const errFd = openSync(errPath, 'w');
    const nodeArgs =
      options.cpuProfDir && kind === 'ours'
        ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=${options.cpuProfName ?? 'chat-server'}.cpuprofile`]
        : [];
    // For experiments only (GC flags; CHAT_BENCH_SERVER=another build's bin/chat-server.js for A/B runs).
    if (process.env.CHAT_BENCH_NODE_ARGS) nodeArgs.push(...process.env.CHAT_BENCH_NODE_ARGS.split(' ').filter(Boolean));
    const script =
      kind === 'ours'
        ? [
            process.env.CHAT_BENCH_SERVER ?? join(root, 'bin/chat-server.js'), '--port', '0', '--rate-limit', '0', '--max-per-address', '0', '--max-rooms-per-address', '0', '--connect-rate', '0', '--log-format', 'json', ...(options.extraArgs ?? []),
            // History is persisted as shipped, into a fresh directory that goes with the run (not the user's).
            '--data-dir', join(dir, 'data'),
            // Experiments only, e.g. CHAT_BENCH_SERVER_ARGS=--memory (history not persisted).
            ...(process.env.CHAT_BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean),
          ]
        : [join(root, 'dist/bench/floor-server.js'), '--port', '0'];
    const child = spawn('taskset', ['-c', options.cpus ?? SERVER_CPU, process.execPath, ...nodeArgs, ...script], {
      stdio: ['ignore', 'pipe', errFd],
    });
    closeSync(errFd);
    let stdout = '';
    // Experiments only: what V8 prints on stdout (CHAT_BENCH_NODE_ARGS=--trace-gc-nvp) kept in a file.
    const stdoutCopy = process.env.CHAT_BENCH_SERVER_STDOUT;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdoutCopy) appendFileSync(stdoutCopy, chunk);
    });
    const port = await waitFor(() => {
      const text = kind === 'ours' ? readFileSync(errPath, 'utf8') : stdout;
      const match = /"port":(\d+)/.exec(text);
      return match ? Number(match[1]) : undefined;
    }, `${kind} server to listen (stderr in ${errPath})`);
    return { child, port };
  };
  let { child, port } = await launch();
  const target: Target = {
    kind,
    pid: child.pid!,
    port,
    dialect: jsonLines,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (kind === 'ours') {
    target.restart = async () => {
      await stopChild(child);
      ({ child, port } = await launch());
      target.pid = child.pid!;
      target.port = port;
    };
  }
  return target;
}

/** Redis and `nodes` of our servers joined through it (issue 6: deliveries with 1 node vs 2). */
export async function startCluster(nodes: number): Promise<Target> {
  const redis = await startRedis();
  const started: Target[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      started.push(await startTarget('ours', { extraArgs: ['--redis', `redis://127.0.0.1:${redis.port}`] }));
    }
  } catch (error) {
    await Promise.all([...started.map((node) => node.stop()), redis.stop()]);
    throw error;
  }
  return {
    ...started[0]!,
    nodes: started.map(({ pid, port }) => ({ pid, port })),
    stop: async () => {
      await Promise.all(started.map((node) => node.stop()));
      await redis.stop();
    },
  };
}

/**
 * Our server as `--workers N` on one Redis (both sharing `cpus`): one port, the primary hands connections to its
 * workers; the CPU is the primary's, the workers' and Redis's.
 */
export async function startWorkers(workers: number, cpus: string): Promise<Target> {
  const redis = await startRedis(cpus);
  let server: Target;
  try {
    server = await startTarget('ours', { extraArgs: ['--workers', String(workers), '--redis', `redis://127.0.0.1:${redis.port}`], cpus });
  } catch (error) {
    await redis.stop();
    throw error;
  }
  // Every worker must be listening before the first client (the primary's port is the workers' port).
  await waitFor(() => (childPids(server.pid).length >= workers ? true : undefined), `${workers} workers to start`);
  await sleep(1000);
  return {
    ...server,
    cpuPids: () => [server.pid, ...childPids(server.pid), redis.pid],
    stop: async () => {
      await server.stop();
      await redis.stop();
    },
  };
}

/** The direct children of a process (the workers of a --workers primary). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function startRedis(cpus = SERVER_CPU): Promise<Target> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  }
  const port = await freePort();
  const child = spawn(
    'taskset',
    [
      '-c', cpus, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--maxclients', '15000', '--loglevel', 'warning',
    ],
    { stdio: 'ignore' },
  );
  await waitForAsync(() => redisAnswersPing(port), 'redis-server to answer PING');
  return { kind: 'redis', pid: child.pid!, port, dialect: resp, stop: () => stopChild(child) };
}

/** One PING to a Redis on loopback; true on +PONG, false on no answer within a second. */
export function redisAnswersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  return waitForAsync(async () => probe(), what, timeoutMs) as Promise<T>;
}

async function waitForAsync<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- /proc readings of a process ----

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds of the process's main thread alone: its event loop (not the GC's helpers, nor other threads). */
export function eventLoopCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuSeconds(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3 (index 0 here); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident set size now and at its peak (VmHWM), in KiB. */
export function memory(pid: number): { rssKiB: number; peakKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

/** Open file descriptors (sockets, pipes, files) of the process. */
export function openHandles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
