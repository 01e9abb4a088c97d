// How `chat` starts (src/client/cli/launch.cts): the one-file bundle `npm run build` makes, compiled through a V8 code
// cache that is written by one start and used by the next; a missing, stale, corrupt or unwritable cache costs only
// the compile; no bundle, or one older than the modules beside it, and the modules are run instead. Each load runs
// in a process of its own: within one process V8 keeps what it compiled, and would not read the cache again.

import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import launch from '../src/client/cli/launch.cjs';
import startFlags from '../src/client/cli/start-flags.cjs';

// launch.cts is CommonJS (as bin/chat.js is): its exports are the default import's properties here.
const { bundleHash, codeCacheDir, codeCacheFile, MODULE_WRAPPER } = launch;
const { relaxableFlags } = startFlags;
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const LAUNCH = pathToFileURL(join(ROOT, 'dist/src/client/cli/launch.cjs')).href;
const CHAT_BIN = join(ROOT, 'bin/chat.js');
const START_FLAGS = join(ROOT, 'dist/src/client/cli/start-flags.cjs');

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-launch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A bundle as scripts/bundle-client.mjs writes one: its hash on the first line, then CommonJS. */
function writeBundle(dir: string, body: string, hash: string | null = 'ab'.repeat(32)): string {
  const path = join(dir, 'chat.bundle.cjs');
  writeFileSync(path, `${hash === null ? '' : `// chat client bundle ${hash}\n`}${body}`);
  return path;
}

const BODY = `let calls = 0; exports.run = (argv) => { calls++; console.log('ran ' + argv.join(' ') + ' ' + require('node:path').basename(__filename)); };\n` +
  // Enough functions for a cache worth the name, compiled by running them.
  Array.from({ length: 50 }, (_, i) => `exports.f${i} = (x) => x * ${i} + calls; exports.f${i}(1);`).join('\n');

/** Load `bundle` with the cache in `cacheDir` in a new node process: what became of the cache, what the bundle said. */
async function load(bundle: string, cacheDir: string, newerThan: string | null = null): Promise<{ cache: string; said: string }> {
  const script = `
    const { loadBundle } = await import(${JSON.stringify(LAUNCH)});
    const loaded = loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cacheDir)}, ${JSON.stringify(newerThan)});
    console.log(loaded === null ? 'none' : loaded.cache);
    loaded?.entry.run(['a', 'b']);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  const [cache = '', said = ''] = stdout.trim().split('\n');
  return { cache, said };
}

t.test('a start writes the code cache, the next start uses it', async (t) => {
  const dir = scratch(t);
  const bundle = writeBundle(dir, BODY);
  const cacheDir = join(dir, 'cache');
  t.same(await load(bundle, cacheDir), { cache: 'missing', said: 'ran a b chat.bundle.cjs' }, 'the first start compiles and runs it');
  const files = readdirSync(cacheDir);
  t.equal(files.length, 1, 'and leaves a cache behind (at exit)');
  t.equal(statSync(cacheDir).mode & 0o777, 0o700, 'where only the user can write');
  t.match(files[0], new RegExp(`^${process.version}-${process.arch}-${'ab'.repeat(8)}-[0-9a-f]{8}\\.v8cache$`));
  t.same(await load(bundle, cacheDir), { cache: 'accepted', said: 'ran a b chat.bundle.cjs' }, 'the second start uses it');
});

t.test('a bundle written as a CommonJS module\'s function (as scripts/bundle-client.mjs writes it) runs as read, with its cache', async (t) => {
  const dir = scratch(t);
  const bundle = writeBundle(dir, `${MODULE_WRAPPER}${BODY}\n})`);
  const cacheDir = join(dir, 'cache');
  t.same(await load(bundle, cacheDir), { cache: 'missing', said: 'ran a b chat.bundle.cjs' });
  t.same(await load(bundle, cacheDir), { cache: 'accepted', said: 'ran a b chat.bundle.cjs' });
  t.ok(readFileSync(join(ROOT, 'dist/src/client/cli/chat.bundle.cjs'), 'latin1').split('\n')[1]!.startsWith(MODULE_WRAPPER), 'the built one is');
});

t.test('a corrupt or stale cache is rejected, the bundle still runs, and the cache is written again', async (t) => {
  const dir = scratch(t);
  const bundle = writeBundle(dir, BODY);
  const cacheDir = join(dir, 'cache');
  await load(bundle, cacheDir);
  const [file] = readdirSync(cacheDir);
  const cache = join(cacheDir, file!);
  writeFileSync(cache, Buffer.from('not a code cache at all, just bytes'));
  t.same(await load(bundle, cacheDir), { cache: 'rejected', said: 'ran a b chat.bundle.cjs' }, 'garbage: rejected');
  t.same(await load(bundle, cacheDir), { cache: 'accepted', said: 'ran a b chat.bundle.cjs' }, 'and replaced by a good one');

  // Another build: V8 checks little more than the source's length, so the cache is named by the bundle's hash.
  writeBundle(dir, BODY.replace("'ran '", "'RAN '"), 'cd'.repeat(32));
  t.same(await load(bundle, cacheDir), { cache: 'missing', said: 'RAN a b chat.bundle.cjs' }, 'a new bundle: its own cache, its own code');
  t.equal(readdirSync(cacheDir).length, 2, 'kept beside the other');
});

t.test('the cache is named by the bundle, node and its flags', async (t) => {
  const source = `// chat client bundle ${'c'.repeat(64)}\nexports.run = () => {};`;
  t.equal(bundleHash(source), 'c'.repeat(64));
  t.equal(bundleHash('exports.run = () => {};'), null, 'no hash line: no cache');
  const a = codeCacheFile('/x', 'c'.repeat(64), ['--max-semi-space-size=1']);
  t.not(a, codeCacheFile('/x', 'd'.repeat(64), ['--max-semi-space-size=1']), 'another bundle');
  t.not(a, codeCacheFile('/x', 'c'.repeat(64), []), 'other flags');
  t.equal(codeCacheDir({ XDG_CACHE_HOME: '/c', HOME: '/h' }), '/c/chat/code');
  t.equal(codeCacheDir({ HOME: '/h' }), '/h/.cache/chat/code');
});

t.test('an unwritable cache or a bundle without a hash costs the cache, not the start', async (t) => {
  const dir = scratch(t);
  const bundle = writeBundle(dir, BODY);
  const notADir = join(dir, 'file');
  writeFileSync(notADir, '');
  t.same(await load(bundle, join(notADir, 'cache')), { cache: 'missing', said: 'ran a b chat.bundle.cjs' }, 'a cache dir that cannot be made');
  t.same(await load(bundle, join(notADir, 'cache')), { cache: 'missing', said: 'ran a b chat.bundle.cjs' }, 'again');

  const plain = writeBundle(mkdtempSync(join(dir, 'plain-')), BODY, null);
  const cacheDir = join(dir, 'cache');
  t.same(await load(plain, cacheDir), { cache: 'missing', said: 'ran a b chat.bundle.cjs' });
  t.same(await load(plain, cacheDir), { cache: 'missing', said: 'ran a b chat.bundle.cjs' }, 'nothing to name a cache by: none kept');
});

t.test('no bundle, or one older than the modules beside it: the modules run', async (t) => {
  const dir = scratch(t);
  const cacheDir = join(dir, 'cache');
  t.equal((await load(join(dir, 'none.cjs'), cacheDir)).cache, 'none', 'no bundle');
  const bundle = writeBundle(dir, BODY);
  const cli = join(dir, 'cli.js');
  writeFileSync(cli, '');
  utimesSync(bundle, new Date(1_000_000), new Date(1_000_000));
  t.equal((await load(bundle, cacheDir, cli)).cache, 'none', 'tsc ran after the bundle was made');
  utimesSync(cli, new Date(1_000_000), new Date(1_000_000));
  t.equal((await load(bundle, cacheDir, cli)).cache, 'missing', 'as new as the modules (npm pack gives every file one time)');
});

t.test('bin/chat.js runs the built bundle and keeps its cache', async (t) => {
  const dir = scratch(t);
  const env = { ...process.env, XDG_CACHE_HOME: dir };
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const first = await run(process.execPath, [CHAT_BIN, '--version'], { env });
  t.equal(first.stdout, `chat ${version}\n`);
  const files = readdirSync(join(dir, 'chat/code'));
  t.equal(files.length, 1, 'a code cache for the bundle');
  const hash = bundleHash(readFileSync(join(ROOT, 'dist/src/client/cli/chat.bundle.cjs'), 'latin1'));
  t.ok(hash && files[0]!.includes(hash.slice(0, 16)), 'named by the built bundle');
  const second = await run(process.execPath, [CHAT_BIN, '--version'], { env });
  t.equal(second.stdout, `chat ${version}\n`, 'and the next start with it');
});

t.test('bin/chat.js starts under V8\'s default flags: node\'s own modules from its code cache, and the bundle\'s too', async (t) => {
  const dir = scratch(t);
  const shebang = /^#!\/usr\/bin\/env -S node (.*)$/.exec(readFileSync(CHAT_BIN, 'utf8').split('\n')[0]!)![1]!.split(' ');
  t.ok(relaxableFlags(shebang).length > 0, `the #! line has V8 flags (${shebang.join(' ')})`);
  // NODE_DEBUG_NATIVE=CODE_CACHE: node says, on stderr, whether V8 took the code cache of each module it loads.
  const env = { ...process.env, XDG_CACHE_HOME: dir, NODE_DEBUG_NATIVE: 'CODE_CACHE' };
  const cacheOf = (stderr: string, module: string) => new RegExp(`Code cache of ${module} \\S+ is (\\w+)`).exec(stderr)?.[1];
  const loads = async (relax: boolean) => {
    const script = `const flags = ${relax} ? require(${JSON.stringify(START_FLAGS)}).relaxForStart() : null;
      require('node:dgram'); flags?.restore(); require('node:zlib');`;
    // Without NODE_OPTIONS: tap adds its process-info loader to child processes through it, and with that loader V8
    // rejected node's cache here whatever the flags.
    const { stderr } = await run('env', ['-u', 'NODE_OPTIONS', process.execPath, ...shebang, '-e', script], { env });
    return { before: cacheOf(stderr, 'dgram'), after: cacheOf(stderr, 'zlib') };
  };
  t.same(await loads(false), { before: 'rejected', after: 'rejected' }, 'under the #! line\'s flags, V8 rejects node\'s cache');
  t.same(await loads(true), { before: 'accepted', after: 'rejected' }, 'relaxed: taken; restored: the flags are the #! line\'s again');

  await run(process.execPath, [...shebang, CHAT_BIN, '--version'], { env });
  const [file] = readdirSync(join(dir, 'chat/code'));
  const cache = join(dir, 'chat/code', file!);
  const written = statSync(cache).ino;
  await run(process.execPath, [...shebang, CHAT_BIN, '--version'], { env });
  // A cache V8 rejects is written again (a new file, renamed over the old one).
  t.equal(statSync(cache).ino, written, 'the bundle\'s cache, made under the same flags as the start, is taken');
});

t.test('the #! flags that have a default to go back to', async (t) => {
  t.same(relaxableFlags(['--max-semi-space-size=1', '--no-opt', '--cpu-prof', '-r', 'x.cjs']), [
    { given: '--max-semi-space-size=1', defaultValue: '--max-semi-space-size=0' },
    { given: '--no-opt', defaultValue: '--opt' },
  ]);
  t.same(relaxableFlags([]), []);
});
