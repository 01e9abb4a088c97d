// The chat client's end-to-end helper: the real `node bin/chat.js` in a tmux pane on a tmux server of its own
// (-S socket in a temp dir), driven with send-keys and read with capture-pane, polled with a deadline.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { stringWidth } from '../../src/client/text/width.js';

const run = promisify(execFile);
const CHAT_BIN = resolve(import.meta.dirname, '../../bin/chat.js');

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** One tmux server (own socket) per test; each pane is a terminal running `chat`. */
export class Tmux {
  /**
   * The terminal's XDG_CONFIG_HOME, XDG_RUNTIME_DIR, XDG_STATE_HOME (the logs are in chat/logs under it) and
   * XDG_CACHE_HOME (the client's code cache: the first pane writes it, later ones start with it).
   */
  readonly dir: string;
  private readonly socket: string;

  constructor(t: Test) {
    this.dir = mkdtempSync(join(tmpdir(), 'chat-client-tmux-'));
    this.socket = join(this.dir, 'tmux.sock');
    t.teardown(async () => {
      await run('tmux', ['-S', this.socket, 'kill-server']).catch(() => {});
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-S', this.socket, '-f', '/dev/null', ...args]);
    return stdout;
  }

  /** Start `chat ARGS...` in a new session named `name`, in a terminal of the given size (`extraEnv` set for it). */
  async chat(name: string, args: string[], size = { columns: 100, rows: 24 }, extraEnv: Record<string, string> = {}): Promise<Pane> {
    const env = [
      `XDG_CONFIG_HOME=${shellQuote(this.dir)}`,
      `XDG_RUNTIME_DIR=${shellQuote(this.dir)}`,
      `XDG_STATE_HOME=${shellQuote(this.dir)}`,
      `XDG_CACHE_HOME=${shellQuote(this.dir)}`,
      'NCURSES_NO_UTF8_ACS=1',
      'LANG=C.UTF-8',
      'TERM=screen',
      ...Object.entries(extraEnv).map(([name, value]) => `${name}=${shellQuote(value)}`),
    ];
    const command = `env -u NO_COLOR ${env.join(' ')} ${shellQuote(process.execPath)} ${shellQuote(CHAT_BIN)} ${args
      .map(shellQuote)
      .join(' ')}; echo "[chat exited $?]"; sleep 600`;
    await this.tmux('new-session', '-d', '-s', name, '-x', String(size.columns), '-y', String(size.rows), command);
    return new Pane(this, name);
  }
}

export class Pane {
  constructor(
    private readonly tmux: Tmux,
    readonly name: string,
  ) {}

  /** Keys by tmux name (Enter, Left, PageUp, M-2, C-n) or literal text with `literal`. */
  async keys(...keys: string[]): Promise<void> {
    await this.tmux.tmux('send-keys', '-t', this.name, ...keys);
  }

  async type(text: string): Promise<void> {
    await this.tmux.tmux('send-keys', '-t', this.name, '-l', text);
  }

  /** Paste as a terminal does (bracketed, when the application asked for it). */
  async paste(text: string): Promise<void> {
    await this.tmux.tmux('set-buffer', '-b', 'paste', text);
    await this.tmux.tmux('paste-buffer', '-p', '-d', '-b', 'paste', '-t', this.name);
  }

  /** From now on, append every byte the program in the pane writes (escapes included, as sent) to `file`. */
  async recordOutput(file: string): Promise<void> {
    await this.tmux.tmux('pipe-pane', '-O', '-t', this.name, `cat >> ${shellQuote(file)}`);
  }

  /** Bytes to the program in the pane, as a terminal would send them (`1b 5b 4f` is focus out). */
  async sendBytes(...hex: string[]): Promise<void> {
    await this.tmux.tmux('send-keys', '-t', this.name, '-H', ...hex);
  }

  async lines(): Promise<string[]> {
    return (await this.tmux.tmux('capture-pane', '-p', '-t', this.name)).replace(/\n$/, '').split('\n');
  }

  async text(): Promise<string> {
    return (await this.lines()).join('\n');
  }

  /** The screen with colours and attributes as SGR sequences. */
  async styled(): Promise<string> {
    return this.tmux.tmux('capture-pane', '-p', '-e', '-t', this.name);
  }

  async format(spec: string): Promise<string> {
    return (await this.tmux.tmux('display-message', '-p', '-t', this.name, spec)).trim();
  }

  async cursor(): Promise<{ x: number; y: number }> {
    const [x, y] = (await this.format('#{cursor_x} #{cursor_y}')).split(' ').map(Number);
    return { x: x!, y: y! };
  }

  /**
   * The cursor once it is in column `x`: keys are taken and the screen redrawn a moment after send-keys returns, so
   * a position read at once may be the one before. After `ms` without it, where it is then (the test then fails).
   */
  async cursorAt(x: number, ms = 15000): Promise<{ x: number; y: number }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const position = await this.cursor();
      if (position.x === x || Date.now() > deadline) return position;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux.tmux('resize-window', '-t', this.name, '-x', String(columns), '-y', String(rows));
  }

  /** Poll the screen until `check` accepts it; fails with the last screen after `ms`. */
  async waitFor(check: string | RegExp | ((lines: string[]) => boolean), ms = 15000): Promise<string[]> {
    const test =
      typeof check === 'function'
        ? check
        : (lines: string[]) => (typeof check === 'string' ? lines.join('\n').includes(check) : check.test(lines.join('\n')));
    const deadline = Date.now() + ms;
    let lines: string[] = [];
    for (;;) {
      lines = await this.lines();
      if (test(lines)) return lines;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${String(check)} on ${this.name}; the screen was:\n${lines.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  }
}

/** The display column of `needle` in a captured line (wide characters count two). */
export function columnOf(line: string, needle: string): number {
  const index = line.indexOf(needle);
  return index === -1 ? -1 : stringWidth(line.slice(0, index));
}

/** How many screen lines contain `needle`. */
export function count(lines: string[], needle: string): number {
  return lines.filter((line) => line.includes(needle)).length;
}
