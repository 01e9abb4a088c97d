// blessed's screen and box without the start-up work this client does not need (the room is shown <= 200 ms after
// start, issue 18):
// - only the screen and box widgets are loaded, not blessed's index, which loads every widget it has;
// - a terminfo capability is compiled into a function when it is first used: blessed compiled all ~400 of
//   xterm-256color's at start, and a chat screen uses a few dozen;
// - under tmux, blessed ran `tmux -V` (a process, waited for) to learn whether tmux is 2 or newer; tmux 3.2 and
//   newer say their version in TERM_PROGRAM_VERSION, and blessed's own answer when it cannot tell is 2.

import type blessed from 'blessed';
import Tput from 'blessed/lib/tput.js';
import ScreenClass from 'blessed/lib/widgets/screen.js';
import BoxClass from 'blessed/lib/widgets/box.js';

type Screen = blessed.Widgets.Screen;
type ScreenOptions = blessed.Widgets.IScreenOptions;
type Box = blessed.Widgets.BoxElement;
type BoxOptions = blessed.Widgets.BoxOptions;

let lazyCompile = false;

/** Capabilities compiled on first use: the same function blessed would have made, made later. */
function compileCapabilitiesLazily(): void {
  if (lazyCompile) return;
  lazyCompile = true;
  const compile = Tput.prototype._compile;
  Tput.prototype._compile = function (this: InstanceType<typeof Tput>, info, key, value) {
    // Booleans, numbers, empty strings and the file-reading capabilities stay as blessed makes them at once.
    if (typeof value !== 'string' || value === '' || key === 'init_file' || key === 'reset_file') return compile.call(this, info, key, value);
    let compiled: ((...args: unknown[]) => unknown) | undefined;
    const tput = this;
    return function (this: unknown, ...args: unknown[]) {
      compiled ??= compile.call(tput, info, key, value) as (...args: unknown[]) => unknown;
      return compiled.apply(this, args);
    };
  };
}

/** tmux's version as tmux tells its programs (3.2 and newer), else 2 as blessed assumes when `tmux -V` fails. */
export function tmuxVersion(env: Record<string, string | undefined>): number {
  const version = env.TERM_PROGRAM === 'tmux' ? Number.parseFloat(env.TERM_PROGRAM_VERSION ?? '') : NaN;
  return Number.isFinite(version) ? version : 2;
}

export function openScreen(options: ScreenOptions): Screen {
  compileCapabilitiesLazily();
  const { title, ...rest } = options;
  const tmux = process.env.TMUX;
  delete process.env.TMUX;
  let screen: Screen;
  try {
    screen = new ScreenClass(rest);
  } finally {
    if (tmux !== undefined) process.env.TMUX = tmux;
  }
  if (tmux) {
    const program = screen.program as unknown as { tmux: boolean; tmuxVersion: number };
    program.tmux = true;
    program.tmuxVersion = tmuxVersion(process.env);
  }
  // Set after the tmux fields: under tmux the title goes out wrapped for tmux to pass on.
  if (title !== undefined) screen.title = title;
  return screen;
}

export function box(options: BoxOptions): Box {
  return new BoxClass(options);
}
