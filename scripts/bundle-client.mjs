// `npm run build`, after tsc: the `chat` client as one CommonJS file, dist/src/client/cli/chat.bundle.cjs, which
// bin/chat.js runs through a V8 code cache (src/client/cli/launch.cts). Loading ~130 modules one by one took about
// half of the client's start-up (issue 18: the room on screen <= 200 ms after start).
//
// - esbuild only bundles what tsc compiled (dist/); tsc stays the compiler.
// - The bundle stands next to cli.js, so the import.meta.url of every module in it (package.json's version, the
//   packages the client requires lazily) means what it meant for cli.js.
// - blessed's screen and box are in it (see blessedInternals).
// - The first line names the bundle's SHA-256: the code cache is kept under it.
// - ASCII only, without comments (see minifyWhitespace).

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

const entry = 'dist/src/client/cli/cli.js';
const outfile = 'dist/src/client/cli/chat.bundle.cjs';

/**
 * Two places where blessed reaches outside the modules the client loads:
 * - tput.js reads its own terminfo files from `__dirname + '/../usr/'`: where blessed is installed, at run time;
 * - unicode.js measures a tab by the screen's tab size, through blessed's index (`require('../')`), which loads every
 *   widget (and wants term.js and pty.js): the screen module alone, which is what the index gives as `screen`.
 */
const blessedInternals = {
  name: 'blessed-internals',
  setup(build) {
    const edit = (file, change) =>
      build.onLoad({ filter: new RegExp(`[\\\\/]blessed[\\\\/]lib[\\\\/]${file.replace('.', '\\.')}$`) }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const contents = change(source);
        if (contents === source) throw new Error(`bundle-client: ${file} is not as expected (blessed changed?)`);
        return { contents, loader: 'js' };
      });
    edit('tput.js', (source) => source.replaceAll('__dirname', "require('node:path').dirname(require.resolve('blessed/lib/tput.js'))"));
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
  banner: { js: "var importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [blessedInternals],
  // tput.js's require.resolve is meant for run time: blessed stays installed beside the bundle.
  logOverride: { 'require-resolve-not-external': 'silent' },
  logLevel: 'warning',
});

// What esbuild leaves unescaped is in regular expression literals (`/[。！？]$/`), where \uXXXX means the same, by
// UTF-16 unit (a surrogate pair escaped is one code point under the `u` flag too).
const code = result.outputFiles[0].text.replace(/[^\x00-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
const hash = createHash('sha256').update(code).digest('hex');
writeFileSync(outfile, `// chat client bundle ${hash}\n${code}`);
