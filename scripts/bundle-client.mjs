// `npm run build`, after tsc: the `chat` client as one CommonJS file, dist/src/client/cli/chat.bundle.cjs, which
// bin/chat.js runs through a V8 code cache (src/client/cli/launch.cts). Loading ~130 modules one by one took about
// half of the client's start-up (issue 18: the room on screen <= 200 ms after start).
//
// - esbuild only bundles what tsc compiled (dist/); tsc stays the compiler.
// - The bundle stands next to cli.js, so the import.meta.url of every module in it (package.json's version, the
//   packages the client requires lazily) means what it meant for cli.js.
// - blessed's screen and box are in it (see blessedInternals).
// - The first line names the bundle's SHA-256: the code cache is kept under it. The code follows as a CommonJS
//   module's function.
// - ASCII only, without comments (see minifyWhitespace).

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';
// What the launcher recognises as the bundle already wrapped (compiled by tsc before this script runs).
import launcher from '../dist/src/client/cli/launch.cjs';

const entry = 'dist/src/client/cli/cli.js';
const outfile = 'dist/src/client/cli/chat.bundle.cjs';

/**
 * tput.js compiles every string capability of the terminal (about 250 for xterm-256color) into a function with
 * `new Function`, of which a screen uses a few dozen: ~8 ms before the first frame. Each is compiled at its first
 * use instead, by the same _compile, into the same function.
 */
const eagerCapability = 'info.methods[key] = self._compile(info, key, info.all[key]);';
const lazyCapability = `info.methods[key] = type !== 'strings' ? self._compile(info, key, info.all[key]) : (function (str) {
  var compiled;
  return function () {
    compiled = compiled || self._compile(info, key, str);
    return compiled.apply(this, arguments);
  };
})(info.all[key]);`;

/**
 * Where blessed reaches outside the modules the client loads, and where it does more than the client needs:
 * - tput.js reads its own terminfo files from `__dirname + '/../usr/'`: where blessed is installed, at run time;
 * - unicode.js measures a tab by the screen's tab size, through blessed's index (`require('../')`), which loads every
 *   widget (and wants term.js and pty.js): the screen module alone, which is what the index gives as `screen`;
 * - tput.js compiles every capability at the start (see lazyCapability).
 */
const blessedInternals = {
  name: 'blessed-internals',
  setup(build) {
    const edit = (file, change) =>
      build.onLoad({ filter: new RegExp(`[\\\\/]blessed[\\\\/]lib[\\\\/]${file.replace('.', '\\.')}$`) }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (file === 'tput.js' && !source.includes(eagerCapability)) throw new Error('bundle-client: tput.js is not as expected (blessed changed?)');
        const contents = change(source);
        if (contents === source) throw new Error(`bundle-client: ${file} is not as expected (blessed changed?)`);
        return { contents, loader: 'js' };
      });
    edit('tput.js', (source) => source
      .replaceAll('__dirname', "require('node:path').dirname(require.resolve('blessed/lib/tput.js'))")
      .replace(eagerCapability, () => lazyCapability));
    edit('unicode.js', (source) => source.replaceAll("require('../')", "{ screen: require('./widgets/screen') }"));
  },
};

const result = await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  write: false,
  outfile,
  // No comments and no non-ASCII byte (esbuild escapes them in strings): half the size to read and parse, and the
  // launcher reads it as Latin-1, which is a copy, not a UTF-8 decode.
  minifyWhitespace: true,
  charset: 'ascii',
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: {
    js: "var importMetaUrl = require('node:url').pathToFileURL(__filename).href;" +
      // See lazyChildProcess and lightAssert below.
      "var lazyChildProcess = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });" +
      "var lightAssert = (() => { const fail = (what) => { throw Object.assign(new Error(`assertion failed: ${what}`), { code: 'ERR_ASSERTION' }); };" +
      " const assert = (value, message) => { if (!value) fail(message ?? String(value)); }; assert.ok = assert;" +
      " assert.equal = (actual, expected, message) => { if (actual != expected) fail(message ?? `${actual} == ${expected}`); };" +
      " return assert; })();",
  },
  plugins: [blessedInternals],
  // tput.js's require.resolve is meant for run time: blessed stays installed beside the bundle.
  logOverride: { 'require-resolve-not-external': 'silent' },
  logLevel: 'warning',
});

/**
 * node:child_process is loaded when a child is first started (a notification, voice, an editor), not at the start:
 * commander, blessed's program, tput and screen and four of the client's modules require it at their top, and it
 * loads dgram and the IPC machinery (2-3 ms before the first frame). Each use is a property read (`cp.spawn`,
 * `(0, import_node_child_process.spawn)(...)`), which the proxy answers from the real module.
 */
function lazyChildProcess(code) {
  const requires = /\brequire\("(?:node:)?child_process"\)/g;
  if ((code.match(requires) ?? []).length < 5) throw new Error('bundle-client: fewer requires of child_process than expected');
  return code.replace(requires, 'lazyChildProcess');
}

/**
 * Not node:assert: blessed's tput and element require it at their top (with node's assertion errors, ~5 modules) for a
 * few checks of the terminfo file and a position: assert(x), assert.ok(x) and assert.equal(a, b), which lightAssert
 * makes the same way, throwing an Error. One fails at every start: tput reads the system's xterm-256color, which
 * ncurses 6.1 and later write in a format blessed does not know (numbers of 32 bits), and takes its own copy when the
 * read throws; with node:assert, that was node's assertion error, made (and its message formatted) for nobody.
 */
function lightAssert(code) {
  const requires = /\brequire\("assert"\)/g;
  if ((code.match(requires) ?? []).length !== 2) throw new Error('bundle-client: not the requires of assert expected (blessed changed?)');
  if (/\bassert\.(?!ok\b|equal\b)\w+/.test(code)) throw new Error('bundle-client: an assertion lightAssert does not make');
  return code.replace(requires, 'lightAssert');
}

// What esbuild leaves unescaped is in regular expression literals (`/[。！？]$/`), where \uXXXX means the same, by
// UTF-16 unit (a surrogate pair escaped is one code point under the `u` flag too).
const code = lightAssert(lazyChildProcess(result.outputFiles[0].text)).replace(/[^\x00-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
// The code as a CommonJS module's function, as the launcher recognises it, so that it compiles the file as read.
const wrapped = `${launcher.MODULE_WRAPPER}${code}\n})`;
const hash = createHash('sha256').update(wrapped).digest('hex');
writeFileSync(outfile, `// chat client bundle ${hash}\n${wrapped}`);
