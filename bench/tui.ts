// The full-screen client in a busy room (issue 18): the real `chat join` in a tmux pane (a pseudo-terminal, as a
// user has), fed by a sender at a fixed rate. Read from outside the client: its CPU and memory from /proc/<pid>,
// its writes to the terminal (/proc/<pid>/io, one write per redraw), and the screen itself with capture-pane:
// how long after the start the room's banner is on screen, and how long after a message was sent it is.

import { execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, watch } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cpuSeconds, memory, type Target } from './targets.js';

const run = promisify(execFile);

export interface TuiSpec {
  /** The `chat` entry point to run (this build's bin/chat.js, or another build's for a comparison). */
  client: string;
  /** Messages per second into the room, and for how long. */
  rate: number;
  seconds: number;
  columns: number;
  rows: number;
  /** How many times the start-up is measured (the median is reported). */
  starts: number;
  /** Directory for `node --cpu-prof` output of the client under load, or undefined. */
  cpuProfDir?: string | undefined;
  cpuProfName?: string | undefined;
}

export interface TuiResult {
  /** From launching `chat join` until it has written the room's banner to the terminal, ms: median over `starts` launches. */
  startMs: number;
  startMsAll: number[];
  /**
   * CPU time the client used until the room was on screen, ms (median): what the start costs, which a busy machine
   * does not stretch as it stretches the wall time.
   */
  startCpuMs: number;
  /** The first of the launches, with nothing in the client's cache yet (its code cache is written by this one). */
  startColdMs: number;
  startColdCpuMs: number;
  /** The same into the room after the load (a full history replay). */
  startBusyMs: number;
  /** CPU of the client process while the messages arrived, in % of one core. */
  cpuPercent: number;
  /** Redraws per second while the messages arrived, counted in what the client wrote to its terminal. */
  framesPerSecond: number;
  /** CPU time per 1000 messages shown: what the work costs, however little CPU a busy machine gave. */
  cpuMsPer1000: number;
  /** Resident memory of the client: once the room is shown (before the load), at its peak, and at the end, MiB. */
  idleRssMiB: number;
  peakRssMiB: number;
  rssMiB: number;
  /** Of the final RSS, what is not file-backed (node's own binary pages are): the heap and the rest, MiB. */
  anonRssMiB: number;
  /** Send to on-screen, ms, sampled by polling the screen every `POLL_MS` (an upper bound, polling included). */
  lagMs: { p50: number; p95: number; max: number };
  /** Send of the last message to its appearance on screen, ms. */
  lastLagMs: number;
  messages: number;
}

const POLL_MS = 20;
const ROOM = 'busy';

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Frames the client has drawn so far: blessed writes each redraw that changes the screen between a save and a
 * restore of the cursor (sc, ESC 7); a redraw that changes nothing writes nothing.
 */
function frames(outputFile: string): number {
  return readFileSync(outputFile, 'latin1').split('\x1b7').length - 1;
}

class Pane {
  readonly dir = mkdtempSync(join(tmpdir(), 'chat-bench-tui-'));
  private readonly socket = join(this.dir, 'tmux.sock');

  constructor(private readonly spec: TuiSpec) {}

  tmux(...args: string[]): Promise<string> {
    return run('tmux', ['-S', this.socket, '-f', '/dev/null', ...args]).then((r) => r.stdout);
  }

  /** The gate of a launch: a named pipe the pane's shell reads a line from before it starts the client. */
  private gate(name: string): string {
    return join(this.dir, `${name}.gate`);
  }

  /**
   * Launch `chat join ROOM`; resolves with its pid. `gated`: the pane waits (reading a line from a named pipe) until
   * go(NAME), so that what the client writes can be followed from its first byte.
   */
  async launch(port: number, name: string, profile: boolean, gated = false): Promise<number> {
    const prof = profile && this.spec.cpuProfDir
      ? `--cpu-prof --cpu-prof-dir=${shellQuote(this.spec.cpuProfDir)} --cpu-prof-name=${shellQuote(`${this.spec.cpuProfName ?? 'chat-tui'}.cpuprofile`)} `
      : '';
    // Experiments only: flags for the client's node (CHAT_BENCH_CLIENT_NODE_ARGS="--max-semi-space-size=1").
    const nodeArgs = (process.env.CHAT_BENCH_CLIENT_NODE_ARGS ?? '').split(' ').filter(Boolean).map(shellQuote).map((a) => `${a} `).join('');
    // The client runs with the node flags of its #! line, as the installed `chat` does.
    const shebang = /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(this.spec.client, 'utf8').split('\n')[0]!)?.[1] ?? '';
    const clientArgs = shebang.split(' ').filter(Boolean).map((a) => `${shellQuote(a)} `).join('');
    // A cache of its own (the client's V8 code cache, src/client/cli/launch.ts): the first start is a first start.
    const env = `XDG_CONFIG_HOME=${shellQuote(this.dir)} XDG_RUNTIME_DIR=${shellQuote(this.dir)} XDG_CACHE_HOME=${shellQuote(join(this.dir, 'cache'))} XDG_STATE_HOME=${shellQuote(join(this.dir, 'state'))} LANG=C.UTF-8 TERM=screen-256color`;
    // As in a user's terminal: not this machine's NODE_EXTRA_CA_CERTS (set for its HTTPS proxy), which has every
    // node process read ~140 certificates before its first line (~40 ms of CPU). Experiments only:
    // CHAT_BENCH_CLIENT_ENV="NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" puts it (or anything) back.
    const extraEnv = (process.env.CHAT_BENCH_CLIENT_ENV ?? '').split(' ').filter(Boolean).map(shellQuote).join(' ');
    if (gated) execFileSync('mkfifo', [this.gate(name)]);
    const gate = gated ? `read go < ${shellQuote(this.gate(name))} && ` : '';
    const command = `${gate}exec env -u NO_COLOR -u NODE_EXTRA_CA_CERTS ${env} ${extraEnv} ${shellQuote(process.execPath)} ${clientArgs}${nodeArgs}${prof}${shellQuote(this.spec.client)} join ${ROOM} --host 127.0.0.1 --port ${port} --nick ${name}`;
    await this.tmux('new-session', '-d', '-s', name, '-x', String(this.spec.columns), '-y', String(this.spec.rows), command);
    return Number((await this.tmux('display-message', '-p', '-t', name, '#{pane_pid}')).trim());
  }

  /** Copy what the pane's program writes into `file` (tmux pipe-pane), from now on. */
  async follow(name: string, file: string): Promise<void> {
    await this.tmux('pipe-pane', '-O', '-t', name, `cat > ${shellQuote(file)}`);
  }

  /**
   * Let a gated launch run. A line into its pipe wakes the shell at once; `tmux wait-for -S` (the gate before) started
   * a tmux client, whose round trip to the server and the waiting client's exit came before the client's start, on
   * the core the client runs on, and was counted in its start-up.
   */
  async go(name: string): Promise<void> {
    await writeFile(this.gate(name), 'go\n');
  }

  screen(name: string): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', name);
  }

  /** Poll the screen until `check` holds; the time it first did. */
  async until(name: string, check: (screen: string) => boolean, pollMs: number, timeoutMs = 30_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (check(await this.screen(name))) return performance.now();
      if (performance.now() > deadline) throw new Error(`bench tui: timed out; the screen was:\n${await this.screen(name)}`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** Quit the client as a user does (Ctrl+C), so that a --cpu-prof profile is written; wait until it is gone. */
  async quit(name: string, pid: number): Promise<void> {
    await this.tmux('send-keys', '-t', name, 'C-c').catch(() => {});
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.tmux('kill-session', '-t', name).catch(() => {});
  }

  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A sender that posts to the room (no join, so it reads nothing back) and keeps each message's send time. */
async function openSender(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('data', () => {});
  socket.write('{"type":"hello","nick":"sender"}\n');
  return socket;
}

const banner = (screen: string) => screen.includes(`Welcome to ${ROOM}`);
/**
 * Whether bytes the client wrote may have completed the banner: they hold the start of it or the room's name. A
 * write that holds neither (the terminal probe, modes, a frame without the banner) cannot have put it on screen.
 */
const mayShowBanner = (written: string) => written.includes('Welcome') || written.includes(ROOM);

/**
 * The time the room's banner is first on the pane's screen, taken at the client's write that put it there: each
 * write is seen in `file` (the pane's output copied by pipe-pane, woken by the file system, with a fine poll
 * besides), and only then is the screen looked at (capture-pane: a process, started once per write, not every few ms,
 * which took CPU from the client it timed on a 2-core machine). The written bytes alone cannot tell: blessed writes
 * only the cells that changed, so a banner drawn where the frame already had "Welcome to " is written in part.
 */
async function untilShown(pane: Pane, name: string, file: string, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(file)) {
    if (performance.now() > deadline) throw new Error('bench tui: the pane\'s output never started');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const fd = openSync(file, 'r');
  let wake: (() => void) | null = null;
  const watcher = watch(file, () => wake?.());
  try {
    let offset = 0;
    const chunk = Buffer.alloc(64 * 1024);
    // The bytes seen since the screen was last looked at (a write may be split across reads).
    let unseen = '';
    for (;;) {
      let wrote = false;
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, offset)) > 0; offset += n) {
        wrote = true;
        unseen += chunk.toString('latin1', 0, n);
      }
      // Only a write that may have completed the banner is looked for on the screen (capture-pane starts a
      // process, on the core the client runs on: one per write took CPU from the start it timed).
      if (wrote && mayShowBanner(unseen)) {
        const at = performance.now();
        unseen = '';
        if (banner(await pane.screen(name))) return at;
      }
      if (performance.now() > deadline) throw new Error('bench tui: the banner was never shown');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    watcher.close();
    closeSync(fd);
  }
}

/**
 * Wall time from launch to the banner written to the terminal, and the CPU time the client used meanwhile (ms).
 * The client is gated until its output is followed, so the time counts from its start to its own write.
 */
async function timeStart(pane: Pane, port: number, name: string): Promise<{ wallMs: number; cpuMs: number }> {
  const pid = await pane.launch(port, name, false, true);
  const output = join(pane.dir, `${name}.out`);
  await pane.follow(name, output);
  const shown = untilShown(pane, name, output);
  const started = performance.now();
  await pane.go(name);
  const shownAt = await shown.catch(async (error: Error) => {
    throw new Error(`${error.message}; the screen was:\n${await pane.screen(name)}`);
  });
  const cpuMs = cpuSeconds(pid) * 1000;
  await pane.quit(name, pid);
  return { wallMs: shownAt - started, cpuMs };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function tuiWorkload(target: Target, spec: TuiSpec): Promise<TuiResult> {
  const pane = new Pane(spec);
  try {
    const starts: { wallMs: number; cpuMs: number }[] = [];
    for (let i = 0; i < spec.starts; i++) starts.push(await timeStart(pane, target.port, `start${i}`));
    const startMsAll = starts.map((start) => start.wallMs);

    const pid = await pane.launch(target.port, 'watcher', true);
    await pane.until('watcher', banner, 10);
    const idleRssMiB = memory(pid).rssKiB / 1024;
    const output = join(pane.dir, 'output');
    await pane.tmux('pipe-pane', '-O', '-t', 'watcher', `cat > ${shellQuote(output)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sender = await openSender(target.port);
    const sentAt: number[] = [];
    const total = spec.rate * spec.seconds;
    const padding = 'x'.repeat(40);
    const cpuBefore = cpuSeconds(pid);
    const framesBefore = frames(output);
    const began = performance.now();
    // 100 ticks a second, each sending what is due by then (so a late timer catches up instead of slowing down).
    const sending = new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.ceil(((performance.now() - began) / 1000) * spec.rate));
        let batch = '';
        while (sentAt.length < due) {
          const seq = sentAt.length;
          batch += `{"type":"post","room":"${ROOM}","text":"~${seq}~ ${padding}"}\n`;
          sentAt.push(0);
        }
        const now = performance.now();
        for (let seq = sentAt.length - 1; seq >= 0 && sentAt[seq] === 0; seq--) sentAt[seq] = now;
        if (batch) sender.write(batch);
        if (sentAt.length >= total) resolve();
        else setTimeout(tick, 1000 / 100);
      };
      tick();
    });
    // Meanwhile: which is the newest message on screen, and since when.
    const lags: number[] = [];
    let newest = -1;
    const newestOn = (screen: string) => {
      let max = -1;
      for (const match of screen.matchAll(/~(\d+)~/g)) max = Math.max(max, Number(match[1]));
      return max;
    };
    let sendingDone = false;
    void sending.then(() => (sendingDone = true));
    while (!sendingDone || newest < total - 1) {
      const screen = await pane.screen('watcher');
      const now = performance.now();
      const seen = newestOn(screen);
      if (seen > newest) {
        newest = seen;
        lags.push(now - sentAt[seen]!);
      }
      if (sendingDone && now - sentAt[total - 1]! > 30_000) throw new Error('bench tui: the last message never showed');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const lastLagMs = lags.at(-1)!;
    const elapsed = (performance.now() - began) / 1000;
    const cpuUsed = cpuSeconds(pid) - cpuBefore;
    const cpuPercent = (cpuUsed / elapsed) * 100;
    const framesPerSecond = (frames(output) - framesBefore) / elapsed;
    const { rssKiB, peakKiB } = memory(pid);
    const anonKiB = Number(/^RssAnon:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    sender.destroy();
    await pane.quit('watcher', pid);
    const startBusyMs = (await timeStart(pane, target.port, 'late')).wallMs;
    const sorted = [...lags].sort((a, b) => a - b);
    return {
      startMs: median(startMsAll),
      startMsAll,
      startCpuMs: median(starts.map((start) => start.cpuMs)),
      startColdMs: starts[0]!.wallMs,
      startColdCpuMs: starts[0]!.cpuMs,
      startBusyMs,
      cpuPercent,
      cpuMsPer1000: (cpuUsed * 1000 * 1000) / total,
      framesPerSecond,
      idleRssMiB,
      peakRssMiB: peakKiB / 1024,
      rssMiB: rssKiB / 1024,
      anonRssMiB: anonKiB / 1024,
      lagMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1)! },
      lastLagMs,
      messages: total,
    };
  } finally {
    await pane.close();
  }
}

/** `tmux` is needed for this workload (apt-get install -y tmux). */
export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
