// Where `chat` starts (bin/chat.js). CommonJS, as bin/chat.js is: an ES module entry costs node its ES module loader
// before the first line runs. The client is the one-file bundle `npm run build` makes next to this module
// (scripts/bundle-client.mjs), compiled with a V8 code cache: loading ~130 modules one by one and compiling them
// took about half of the start-up (issue 18: the room on screen <= 200 ms after start). Without a bundle, or with
// one older than cli.js (tsc has run since), it is the modules tsc wrote, as before.
//
// The code cache is a file under $XDG_CACHE_HOME/chat/code named by the node version, the node flags and the
// bundle's hash. A missing, unreadable or rejected cache (V8 checks its own version, flags and the source) only
// costs the compile; the cache is then written again, in an idle second after the start or at exit. The start runs
// under V8's default flags (start-flags.cts, set by bin/chat.js), and the cache is made under them too.

import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import type { StartFlags } from './start-flags.cjs';

export interface ClientEntry {
  run(argv: string[]): void;
}

/** What became of the code cache when the bundle was compiled. */
export type CodeCacheUse = 'accepted' | 'rejected' | 'missing';

export interface LoadedBundle {
  entry: ClientEntry;
  cache: CodeCacheUse;
  /** Writes the code cache now when it was not accepted (also done a second after the start, or at exit). */
  keepCache(): void;
}

/** How long after the start the cache is written: the start's functions are compiled by then, and it is quiet. */
const WRITE_CACHE_AFTER_MS = 1000;
/** Cache files kept: a few builds or node versions side by side, without piling up. */
const CACHES_KEPT = 4;

export const BUNDLE_PATH = join(__dirname, 'chat.bundle.cjs');
/** How the bundle's code begins, after its hash line: a CommonJS module's function, as node wraps one. */
export const MODULE_WRAPPER = '(function (exports, require, module, __filename, __dirname) {';
const CLI_PATH = join(__dirname, 'cli.js');

export function codeCacheDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'chat', 'code');
}

/** A short hash of a short string (the node flags), for a file name. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** The bundle's hash from its first line (`// chat client bundle HASH`), or null. */
export function bundleHash(source: string): string | null {
  return /^\/\/ chat client bundle ([0-9a-f]{16,})\n/.exec(source)?.[1] ?? null;
}

export function codeCacheFile(dir: string, hash: string, flags: readonly string[] = process.execArgv): string {
  return join(dir, `${process.version}-${process.arch}-${hash.slice(0, 16)}-${shortHash(flags.join(' '))}.v8cache`);
}

function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** Keep the newest CACHES_KEPT cache files in `dir`. */
function pruneCaches(dir: string): void {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.v8cache'))
    .map((name) => ({ path: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of files.slice(CACHES_KEPT)) unlinkSync(path);
}

function writeCache(script: vm.Script, file: string, flags: StartFlags | null): void {
  try {
    // V8 runs what the cache holds: the user's alone, as ~/.cache is.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}`;
    // Made under the flags the next start compiles under.
    writeFileSync(temporary, flags ? flags.asAtStart(() => script.createCachedData()) : script.createCachedData());
    renameSync(temporary, file);
    pruneCaches(dirname(file));
  } catch {
    // A cache that cannot be written costs the next start its compile, nothing else.
  }
}

/**
 * Compile and run the bundle at `bundlePath` with the code cache in `cacheDir`; null when there is no bundle to use
 * (none, or older than the modules beside it). `flags`: the start's, which the cache is made under.
 */
export function loadBundle(bundlePath: string, cacheDir: string, newerThan: string | null = CLI_PATH, flags: StartFlags | null = null): LoadedBundle | null {
  let source: string;
  try {
    if (newerThan !== null && statSync(bundlePath).mtimeMs < statSync(newerThan).mtimeMs) return null;
    // ASCII (scripts/bundle-client.mjs): Latin-1 reads it without decoding UTF-8.
    source = readFileSync(bundlePath, 'latin1');
  } catch {
    return null;
  }
  const hash = bundleHash(source);
  const cacheFile = hash === null ? null : codeCacheFile(cacheDir, hash);
  const cachedData = cacheFile === null ? null : readOrNull(cacheFile);
  // Wrapped as a CommonJS module by scripts/bundle-client.mjs: compiled as read. Wrapped here, the source was a
  // string of two parts that V8 copied into one before compiling it (~600 KB).
  const wrapped = source.startsWith(MODULE_WRAPPER, source.indexOf('\n') + 1);
  const script = new vm.Script(wrapped ? source : `${MODULE_WRAPPER}${source}\n})`, { filename: bundlePath, ...(cachedData ? { cachedData } : {}) });
  const cache: CodeCacheUse = cachedData === null ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  const module = { exports: {} as ClientEntry };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));

  let kept = cache === 'accepted' || cacheFile === null;
  const keepCache = () => {
    if (kept) return;
    kept = true;
    writeCache(script, cacheFile!, flags);
  };
  if (!kept) {
    setTimeout(keepCache, WRITE_CACHE_AFTER_MS).unref();
    process.once('exit', keepCache);
  }
  return { entry: module.exports, cache, keepCache };
}

/**
 * Run `chat`; `flags`: the start's (relaxForStart()), set again once run() has returned: node's modules that the
 * client needs are loaded by then (the bundle's top level, the terminal's stream), and with TurboFan on, the start's
 * hot loops (blessed filling the screen) were optimized on a thread of its own, which cost CPU and paged TurboFan in.
 */
export async function launch(argv: string[], flags: StartFlags | null = null): Promise<void> {
  const bundle = loadBundle(BUNDLE_PATH, codeCacheDir(process.env), CLI_PATH, flags);
  (bundle?.entry ?? (await import('./cli.js'))).run(argv);
  flags?.restore();
}
