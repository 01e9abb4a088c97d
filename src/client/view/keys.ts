// The key map of the input line: blessed key names to editing actions (Emacs keys beside the arrows).

import type { InputLine } from './input-line.js';

export const EDITING_KEYS: ReadonlyMap<string, (input: InputLine) => void> = new Map(Object.entries({
  left: (input: InputLine) => input.left(),
  'C-b': (input: InputLine) => input.left(),
  right: (input: InputLine) => input.right(),
  'C-f': (input: InputLine) => input.right(),
  home: (input: InputLine) => input.home(),
  'C-a': (input: InputLine) => input.home(),
  end: (input: InputLine) => input.end(),
  'C-e': (input: InputLine) => input.end(),
  'C-u': (input: InputLine) => input.killToStart(),
  'C-w': (input: InputLine) => input.killWordBack(),
  'M-backspace': (input: InputLine) => input.killWordBack(),
  backspace: (input: InputLine) => input.backspace(),
  delete: (input: InputLine) => input.deleteForward(),
  'C-d': (input: InputLine) => input.deleteForward(),
  up: (input: InputLine) => input.historyUp(),
  down: (input: InputLine) => input.historyDown(),
}));

/** Ctrl+N / Ctrl+P: the next or previous buffer. */
export const CYCLE_KEYS: ReadonlyMap<string, 1 | -1> = new Map([['C-n', 1], ['C-p', -1]]);
