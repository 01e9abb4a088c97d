// Recording a voice message: the recorder writes a WAV to the path it gets as its last argument until it is
// stopped with SIGINT (as sox's `rec` is); meanwhile the end of that file gives the level for the meter.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { t } from '../../text/i18n/index.js';
import { ClientError } from '../errors.js';
import type { Env, ToolCommand } from './tools.js';
import { tailLevel } from './wav.js';

/** A recorder that ignores SIGINT this long is killed. */
const STOP_GRACE_MS = 3000;
/** The meter looks at the last 50 ms of 48 kHz 16-bit mono. */
const METER_BYTES = 4800;

export class Recording {
  readonly path: string;
  readonly startedAt: number;
  private readonly dir: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private failure: Error | null = null;

  constructor(
    readonly recorder: ToolCommand,
    env: Env = process.env,
    now = Date.now(),
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'chat-rec-'));
    this.path = join(this.dir, 'recording.wav');
    this.startedAt = now;
    this.child = spawn(recorder.program, [...recorder.args, this.path], { stdio: 'ignore', env: env as NodeJS.ProcessEnv });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.failure = new ClientError('missing_tool', t('voice.cannotRunRecorder', { program: recorder.program, why: (error as NodeJS.ErrnoException).code === 'ENOENT' ? t('voice.notFound') : error.message }));
        resolve(null);
      });
      this.child.once('exit', (code) => resolve(code));
    });
  }

  /** Resolves when the recorder exits, stopped or by itself: its exit code (null for a signal or when it could not run). */
  get ended(): Promise<number | null> {
    return this.exited;
  }

  /** Why the recorder could not run, once it has ended. */
  get error(): Error | null {
    return this.failure;
  }

  /** Whether the recorder is still running. */
  get running(): boolean {
    return this.failure === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The level (0 to 1) of what was recorded last, for the meter; 0 before anything is written. */
  level(): number {
    try {
      const fd = openSync(this.path, 'r');
      try {
        const size = fstatSync(fd).size;
        const length = Math.min(METER_BYTES, Math.max(0, size - 44));
        const bytes = Buffer.alloc(length);
        readSync(fd, bytes, 0, length, size - length);
        return tailLevel(bytes);
      } finally {
        closeSync(fd);
      }
    } catch {
      return 0;
    }
  }

  /** Stop with SIGINT and wait for the recorder to finish its file; returns its path. */
  async stop(): Promise<string> {
    await this.interrupt();
    if (this.failure) {
      this.discard();
      throw this.failure;
    }
    return this.path;
  }

  /** Stop and throw the recording away. */
  async cancel(): Promise<void> {
    await this.interrupt();
    this.discard();
  }

  /** Remove the recorded file (once it is sent). */
  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async interrupt(): Promise<void> {
    if (this.running) this.child.kill('SIGINT');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(killer);
    }
  }
}
