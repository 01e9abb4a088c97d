// The V8 flags of bin/chat.js's `#!` line, set back to V8's defaults while the client's bundle is compiled and run
// (bin/chat.js, before anything else is loaded), and set again once it has set itself up (launch.cts).
//
// V8 takes a code cache only when it was made under the same flags: node's own modules carry one (made under the
// defaults), and with `--no-opt` or `--max-semi-space-size=1` on the command line V8 rejected it for every module
// node loads after its start (net, tty, the streams...), which were compiled from their source before the first
// frame (issue 18: the room on screen <= 200 ms after start). The heap is sized when node starts, so the young
// generation keeps its 1 MiB semi-spaces whatever the flag says later.

/** The flags bin/chat.js may be given and what each is when V8 is left alone. */
const DEFAULTS: Readonly<Record<string, string>> = {
  '--no-opt': '--opt',
  '--max-semi-space-size': '--max-semi-space-size=0',
  '--min-semi-space-size': '--min-semi-space-size=0',
};

type SetFlags = (flags: string) => void;

/**
 * V8's setFlagsFromString without loading node:v8 (which loads the streams, before the flags are set back).
 * process.binding('v8') is deprecated (DEP0111) and warns once; the warning is not the user's business. Null when
 * this node has no such binding.
 */
function v8SetFlags(): SetFlags | null {
  const quiet = process.noDeprecation;
  try {
    process.noDeprecation = true;
    const binding = (process as unknown as { binding(name: string): { setFlagsFromString?: SetFlags } }).binding('v8');
    return typeof binding.setFlagsFromString === 'function' ? binding.setFlagsFromString : null;
  } catch {
    return null;
  } finally {
    process.noDeprecation = quiet;
  }
}

export interface StartFlags {
  /** Set the `#!` line's flags again (once; later calls do nothing). */
  restore(): void;
  /** Run `action` under V8's defaults (writing a code cache that the next start, under them too, takes). */
  asAtStart<T>(action: () => T): T;
}

/** The V8 flags among node's own command line flags that have a default to go back to. */
export function relaxableFlags(execArgv: readonly string[]): { given: string; defaultValue: string }[] {
  return execArgv.flatMap((given) => {
    const defaultValue = DEFAULTS[given] ?? DEFAULTS[given.split('=')[0]!];
    return defaultValue === undefined ? [] : [{ given, defaultValue }];
  });
}

/** Set the flags of `execArgv` back to their defaults for the start. */
export function relaxForStart(execArgv: readonly string[] = process.execArgv): StartFlags {
  const flags = relaxableFlags(execArgv);
  const setFlags = flags.length > 0 ? v8SetFlags() : null;
  if (setFlags === null) return { restore() {}, asAtStart: (action) => action() };
  const relax = () => setFlags(flags.map((f) => f.defaultValue).join(' '));
  const tighten = () => setFlags(flags.map((f) => f.given).join(' '));
  relax();
  let relaxed = true;
  return {
    restore() {
      if (!relaxed) return;
      relaxed = false;
      tighten();
    },
    asAtStart(action) {
      if (relaxed) return action();
      relax();
      try {
        return action();
      } finally {
        tighten();
      }
    },
  };
}
