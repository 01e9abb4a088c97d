// The full-screen interface: blessed draws the client's state and forwards keys; all logic is in the headless
// modules (core/, input-line, keys, format). Content is set with tags off and sanitized text, so
// nothing another user sends can become markup or an escape sequence.

import { t } from '../text/i18n/index.js';
import type blessed from 'blessed';
import { box as blessedBox, openScreen } from './blessed-screen.js';
import type { Readable, Writable } from 'node:stream';
import type { ChatClient } from '../core/client.js';
import { ExitCode } from '../core/errors.js';
import { makeChalk } from './format.js';
import { LogLayout } from './log-rows.js';
import { statusLine } from './status-line.js';
import { InputLine } from './input-line.js';
import { SecretLine } from './secret-line.js';
import { CYCLE_KEYS, EDITING_KEYS } from './keys.js';
import { completePath } from '../core/paths.js';
import { patchBlessedWidth, writeClusters } from './blessed-width.js';
import { normalizePaste, PasteFilter } from './paste.js';
import { padToWidth, stringWidth, truncateToWidth, useTerminalWidths, type TerminalWidths } from '../text/width.js';
import { probeTerminal } from './terminal-probe.js';
import { progressLine } from './progress-line.js';
import { Notifier } from './notifier.js';
import { recordingLine } from './voice-line.js';
import { visibleRows, type Row } from '../core/scrollback.js';
import { memberLabel, topicOf } from '../core/moderation-state.js';

/** Pastes with more lines or characters than this ask before they are sent. */
const LONG_PASTE_LINES = 5;
const LONG_PASTE_CHARS = 1000;
const MEMBERS_MIN_COLUMNS = 70;
/** At most this many progress lines under the log; more transfers are summed up in the last one. */
const MAX_PROGRESS_LINES = 3;
/** How often the progress lines are redrawn while a transfer runs. */
const PROGRESS_REDRAW_MS = 250;
/** How often the recording's clock and level meter are redrawn. */
const RECORDING_REDRAW_MS = 200;
/** The shortest time between two redraws for what arrives (about 30 a second). */
const FRAME_MS = 33;
/**
 * How long the first frame waits for the start (connect, hello, join) once the screen is set up: the room is then
 * drawn once, from the join's reply, instead of an empty frame and then the room.
 */
const FIRST_FRAME_WAIT_MS = 50;

/** A clock in ms for the frame pacing: `performance` would load perf_hooks before the first frame. */
const clockMs = () => Number(process.hrtime.bigint()) / 1e6;

export interface TuiOptions {
  colour: boolean;
  /** For tests: a fake terminal. */
  input?: Readable & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  output?: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  /** For notifications: TMUX, TERM_PROGRAM, PATH (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Also notify with notify-send when it is installed. */
  notifySend?: boolean;
}

export interface Tui {
  screen: blessed.Widgets.Screen;
  input: InputLine;
  /** Resolves with the exit code when the user quits. */
  done: Promise<number>;
  render(): void;
  destroy(): void;
}

type Key = { full?: string; name?: string; ctrl?: boolean; meta?: boolean };

/**
 * The screen for `client`, drawn at once; with `holdFirstFrame`, drawn at the first render() (runTui: once the start
 * has ended), and what arrives meanwhile does not draw it.
 */
export function createTui(client: ChatClient, options: TuiOptions, holdFirstFrame = false): Tui {
  patchBlessedWidth();
  const chalk = makeChalk(options.colour);
  const state = client.state;
  const source = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const input = new InputLine();
  const layout = new LogLayout(chalk);
  let confirm: string | null = null;
  /** While the core asks for a password: the masked line that takes the keys instead of `input`. */
  let secret: SecretLine | null = null;
  let closed = false;

  // blessed reads keys from the filter; raw mode is still the real terminal's.
  const filter = new PasteFilter(
    (text) => onPaste(text),
    (focused) => (notifier.focused = focused),
  ) as PasteFilter & {
    isTTY?: boolean;
    isRaw?: boolean;
    setRawMode?(mode: boolean): void;
  };
  filter.isTTY = true;
  filter.setRawMode = (mode: boolean) => {
    source.setRawMode?.(mode);
    filter.isRaw = mode;
  };
  source.pipe(filter);

  const screen = openScreen({
    input: filter as never,
    output: output as never,
    terminal: 'xterm-256color',
    fullUnicode: true,
    smartCSR: true,
    autoPadding: false,
    dockBorders: false,
    title: 'chat',
  });
  writeClusters(screen);
  const box = (o: blessed.Widgets.BoxOptions) =>
    blessedBox({ parent: screen, tags: false, wrap: false, scrollable: false, ...o });
  const logBox = box({ top: 0, left: 0 });
  const membersBox = box({ top: 0 });
  const progressBox = box({ left: 0, height: 1 });
  const statusBox = box({ left: 0, height: 1, style: { bg: options.colour ? 'blue' : 'default', fg: 'white', inverse: !options.colour } });
  const inputBox = box({ left: 0, height: 1 });
  screen.program.write('\x1b[?2004h'); // bracketed paste on
  screen.program.write('\x1b[?1004h'); // focus events on: notifications while the terminal is in the background
  const notifier = new Notifier(client, {
    write: (data) => screen.program.write(data),
    env: options.env ?? process.env,
    notifySend: options.notifySend ?? false,
  });

  function logRows(width: number): Row[] {
    return layout.all(state.active.entries, width);
  }

  function dimensions() {
    const cols = screen.width as number;
    const rows = screen.height as number;
    const buffer = state.active;
    const longest = Math.max(0, ...buffer.members.map((m) => stringWidth(memberLabel(buffer, m))));
    const membersWidth =
      buffer.kind === 'room' && cols >= MEMBERS_MIN_COLUMNS ? Math.min(24, Math.max(12, longest + 3)) : 0;
    const transferLines = Math.min(client.transfers.list.length, MAX_PROGRESS_LINES, Math.max(0, rows - 4));
    return { cols, rows, membersWidth, logWidth: cols - membersWidth, logHeight: Math.max(1, rows - 2 - transferLines), transferLines };
  }

  /** One line per running transfer (the last one sums up any beyond MAX_PROGRESS_LINES). */
  function progressLines(count: number, width: number): string[] {
    const list = client.transfers.list;
    const lines = list.slice(0, count).map((t) => progressLine(t, client.transfers.figures(t), width));
    if (list.length > count && count > 0) lines[count - 1] = truncateToWidth(t('tui.moreTransfers', { count: list.length - count + 1 }), width);
    return lines;
  }

  let cursor = { x: 0, y: 0 };

  let lastRender = -Infinity;
  let drawn = false;
  function render(): void {
    if (closed) return;
    drawn = true;
    lastRender = clockMs();
    const { cols, rows, membersWidth, logWidth, logHeight, transferLines } = dimensions();
    const buffer = state.active;
    const scrolled = buffer.scroll !== null;
    const height = scrolled ? logHeight - 1 : logHeight;
    // Following the newest messages, only the bottom screenful is laid out.
    const view = scrolled ? visibleRows(logRows(logWidth), buffer.scroll, height) : { rows: layout.tail(buffer.entries, logWidth, height) };
    const lines = view.rows.map((r) => r.text);
    while (lines.length < height) lines.unshift('');
    if (scrolled) {
      const note = buffer.newWhileScrolled > 0 ? t('tui.newBelow', { count: buffer.newWhileScrolled }) : t('tui.moreBelow');
      lines.push(chalk.inverse(t('tui.scrolled', { note })));
    }
    logBox.width = logWidth;
    logBox.height = logHeight;
    logBox.setContent(lines.join('\n'));

    if (membersWidth > 0) {
      membersBox.show();
      membersBox.left = logWidth;
      membersBox.width = membersWidth;
      membersBox.height = logHeight;
      const names = buffer.members.map((m) => `\u2502 ${truncateToWidth(memberLabel(buffer, m), membersWidth - 2)}`);
      const header = `\u2502 ${chalk.bold(truncateToWidth(t('tui.members', { count: buffer.members.length }), membersWidth - 2))}`;
      const topic = topicOf(buffer);
      const topicLine = topic ? [`\u2502 ${chalk.italic(truncateToWidth(topic, membersWidth - 2))}`] : [];
      const list = [header, ...topicLine, ...names].slice(0, logHeight);
      while (list.length < logHeight) list.push('\u2502');
      membersBox.setContent(list.join('\n'));
    } else {
      membersBox.hide();
    }

    if (transferLines > 0) {
      progressBox.show();
      progressBox.top = logHeight;
      progressBox.width = cols;
      progressBox.height = transferLines;
      progressBox.setContent(progressLines(transferLines, cols).join('\n'));
    } else {
      progressBox.hide();
    }

    statusBox.top = rows - 2;
    statusBox.width = cols;
    const recording = client.voice.recording;
    const rec = recording ? `${recordingLine(Date.now() - recording.startedAt, recording.level())} | ` : '';
    const status = statusLine(client, Date.now(), chalk, Math.max(0, cols - stringWidth(rec)));
    statusBox.setContent(padToWidth((rec && chalk.red.bold(rec)) + status, cols));

    inputBox.top = rows - 1;
    inputBox.width = cols;
    if (secret) {
      const view = secret.view(cols);
      inputBox.setContent(view.text);
      cursor = { x: view.cursorColumn, y: rows - 1 };
    } else if (confirm !== null) {
      const lineCount = confirm.split('\n').length;
      const question = t('tui.pasteQuestion', { lines: lineCount, chars: confirm.length });
      inputBox.setContent(truncateToWidth(question, cols));
      cursor = { x: Math.min(cols - 1, stringWidth(question)), y: rows - 1 };
    } else {
      const prompt = buffer.kind === 'private' ? `[@${buffer.name}] ` : `[${buffer.name}] `;
      const promptText = truncateToWidth(prompt, Math.floor(cols / 3));
      const promptWidth = stringWidth(promptText);
      const view = input.view(Math.max(1, cols - promptWidth));
      inputBox.setContent(promptText + view.text);
      cursor = { x: promptWidth + view.cursorColumn, y: rows - 1 };
    }
    screen.render();
    // blessed writes the frame in the next turn of the event loop (setImmediate), behind whatever was queued there
    // before it (the logs' first write opens their files): out now.
    screen.program.flush();
  }

  screen.on('render', () => {
    screen.program.cup(cursor.y, cursor.x);
    screen.program.showCursor();
  });

  // Redraws for what arrives are coalesced: at most one per FRAME_MS (a busy room sends thousands of messages a
  // second); keys redraw at once.
  let scheduled = false;
  function scheduleRender(): void {
    if (scheduled || closed || !drawn) return;
    scheduled = true;
    const run = () => {
      scheduled = false;
      render();
    };
    const wait = lastRender + FRAME_MS - clockMs();
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait);
  }

  function scrollLog(delta: number): void {
    const { logWidth, logHeight } = dimensions();
    const buffer = state.active;
    const rows = logRows(logWidth);
    state.scroll(buffer, rows, logHeight - 1, delta);
    if (delta < 0 && visibleRows(rows, buffer.scroll, logHeight - 1).atTop && buffer.moreHistory) {
      // At the top of what we have: the view stays anchored to the same line while older pages arrive above it.
      void client.loadOlder(buffer).then(scheduleRender);
    }
    render();
  }

  function page(): number {
    return Math.max(1, dimensions().logHeight - 2);
  }

  function send(text: string): void {
    state.scrollToBottom(state.active);
    void client.submit(text).then(scheduleRender);
    render();
  }

  function onPaste(raw: string): void {
    const text = normalizePaste(raw);
    if (secret) {
      secret.paste(text);
      render();
      return;
    }
    if (!text.includes('\n')) {
      input.insert(text);
      render();
      return;
    }
    const whole = input.value + text;
    input.set('');
    if (whole.split('\n').length > LONG_PASTE_LINES || whole.length > LONG_PASTE_CHARS) {
      confirm = whole;
      render();
      return;
    }
    send(whole);
  }

  function onKey(ch: string | undefined, key: Key): void {
    const name = key.full ?? key.name ?? '';
    if (name === 'C-c') {
      void quit();
      return;
    }
    if (secret) {
      if (secret.key(ch, name, !key.ctrl && !key.meta)) secret = null;
      render();
      return;
    }
    if (confirm !== null) {
      if (ch === 'y' || ch === 'Y') {
        const text = confirm;
        confirm = null;
        send(text);
      } else if (ch === 'n' || ch === 'N' || name === 'escape' || name === 'return' || name === 'enter') {
        confirm = null;
        state.info(state.active, t('tui.pasteNotSent'));
        render();
      }
      return;
    }
    if (client.voice.recording && (name === 'return' || name === 'enter' || name === 'escape')) {
      // blessed reports one Enter as 'enter' and 'return': the second half of the Enter that started it is not a stop.
      if (armedRecording !== client.voice.recording) return;
      void (name === 'escape' ? client.voice.cancel() : client.voice.finish())?.then(scheduleRender);
      render();
      return;
    }
    const alt = /^M-([1-9])$/.exec(name);
    if (alt) {
      state.switchToNumber(Number(alt[1]));
      render();
      return;
    }
    if (name === 'M-a') {
      state.switchToActivity();
      render();
      return;
    }
    const edit = EDITING_KEYS.get(name);
    const cycle = CYCLE_KEYS.get(name);
    if (edit) edit(input);
    else if (cycle) state.cycle(cycle);
    else if (name === 'return' || name === 'enter') {
      send(input.submit());
      return;
    } else if (name === 'tab') input.complete(client.commandNames, client.completionNicks(), completePath);
    else if (name === 'pageup' || name === 'pagedown') {
      scrollLog(name === 'pageup' ? -page() : page());
      return;
    } else if (name === 'C-l') screen.realloc();
    else if (ch && !key.ctrl && !key.meta && !/[\x00-\x1f\x7f]/.test(ch)) input.insert(ch);
    else return;
    render();
  }

  screen.on('keypress', onKey);
  screen.program.on('mouse', (data: { action?: string }) => {
    if (data.action === 'wheelup') scrollLog(-3);
    else if (data.action === 'wheeldown') scrollLog(3);
  });
  screen.program.enableMouse();
  screen.on('resize', () => render());
  client.onChange(scheduleRender);
  client.secrets.setAsker((question) => {
    secret = new SecretLine(question);
    scheduleRender();
  });
  client.onBell(() => screen.program.bell());
  const ticker = setInterval(() => {
    if (client.status.phase === 'reconnecting') render();
  }, 1000);
  // Progress, speed and ETA move on their own: redraw a few times a second while anything is being transferred.
  let progressTicker: NodeJS.Timeout | null = null;
  client.transfers.onChange(() => {
    const running = client.transfers.list.length > 0;
    if (running && !progressTicker && !closed) progressTicker = setInterval(render, PROGRESS_REDRAW_MS);
    else if (!running && progressTicker) {
      clearInterval(progressTicker);
      progressTicker = null;
    }
  });

  // The recording's clock and meter move on their own too.
  let recordingTicker: NodeJS.Timeout | null = null;
  /** The recording Enter and Escape act on: from the keys after those that started it. */
  let armedRecording: object | null = null;
  client.onChange(() => {
    const recording = client.voice.recording;
    if (recording && armedRecording !== recording) setImmediate(() => (armedRecording = client.voice.recording));
    if (client.voice.recording && !recordingTicker && !closed) recordingTicker = setInterval(render, RECORDING_REDRAW_MS);
    else if (!client.voice.recording && recordingTicker) {
      clearInterval(recordingTicker);
      recordingTicker = null;
    }
  });

  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  function destroy(): void {
    if (closed) return;
    closed = true;
    clearInterval(ticker);
    if (progressTicker) clearInterval(progressTicker);
    if (recordingTicker) clearInterval(recordingTicker);
    screen.program.write('\x1b[?2004l');
    screen.program.write('\x1b[?1004l');
    screen.destroy();
    source.unpipe(filter);
  }

  async function quit(): Promise<void> {
    await client.quit();
  }

  client.onClose(() => {
    destroy();
    resolveDone(ExitCode.ok);
  });

  if (!holdFirstFrame) render();
  return { screen, input, done, render, destroy };
}

/** Resolves when `promise` settles (either way) or after `ms`, whichever comes first. */
function firstOf(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/** Ask the real terminal how it draws the clusters terminals disagree on (while the client connects). */
export function probeWidths(): Promise<TerminalWidths | null> {
  return probeTerminal({ input: process.stdin, output: process.stdout });
}

/**
 * Run the TUI on the real terminal until the user quits; `probed` is probeWidths() started earlier, `started` the
 * client's start when it is still under way: the screen is drawn meanwhile, and taken down again when it fails.
 */
export async function runTui(
  client: ChatClient,
  options: TuiOptions,
  probed: Promise<TerminalWidths | null> = probeWidths(),
  started: Promise<unknown> = Promise.resolve(),
): Promise<number> {
  let failed = false;
  let settled = false;
  started.then(() => (settled = true), () => (failed = settled = true));
  const widths = await probed;
  if (failed) await started; // failed at once (no server there): no screen to flash
  if (widths) useTerminalWidths(widths);
  // The screen is set up while the join's reply is on its way; its first frame is the room, drawn once.
  const tui = createTui(client, options, !settled);
  if (!settled) {
    await firstOf(started, FIRST_FRAME_WAIT_MS);
    tui.render();
  }
  // A crash must not leave the terminal in raw mode on the alternate screen.
  const crash = (error: unknown) => {
    tui.destroy();
    process.stderr.write(`chat: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  };
  process.once('uncaughtException', crash);
  process.once('unhandledRejection', crash);
  const stop = () => void client.quit();
  try {
    try {
      await started;
    } catch (error) {
      tui.destroy();
      throw error;
    }
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
    return await tui.done;
  } finally {
    process.off('uncaughtException', crash);
    process.off('unhandledRejection', crash);
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
  }
}
