// The walls between the parts of src/, read from the imports themselves (docs/architecture.md):
// - src/protocol is pure: it imports nothing of the server, the client or Node's I/O;
// - the server and the client never import each other;
// - the client's core knows nothing of how it is shown or run: no view, no CLI, no blessed, chalk or commander;
// - nothing imports a CLI (it is the outermost layer) or bin/;
// - there is no import circle anywhere in src/ (type-only imports count: they tie modules together too).

import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** module (path from the repository root) -> what it imports (paths for our modules, bare names for packages). */
type ImportGraph = Map<string, string[]>;

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(c?ts|js)$/.test(entry) && !entry.endsWith('.d.ts') ? [path] : [];
  });
}

/** The import graph of the given files: relative specifiers resolved to repository paths (.js -> .ts). */
export function importGraph(files: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (!specifier.startsWith('.')) {
        targets.push(specifier);
        continue;
      }
      const target = relative(ROOT, resolve(dirname(file), specifier)).replace(/^dist\//, '');
      targets.push(target.startsWith('bin/') ? target : target.replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts'));
    }
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

interface Wall {
  rule: string;
  /** Does an import from `from` to `to` break the wall? */
  broken(from: string, to: string): boolean;
}

const under = (folder: string) => (path: string) => path.startsWith(folder);
const isPackage = (name: string) => !name.includes('/') || name.startsWith('@') || name.startsWith('node:');
const packageIs = (...names: string[]) => (to: string) => names.some((name) => to === name || to.startsWith(`${name}/`));
const NODE_IO = ['node:fs', 'node:fs/promises', 'node:net', 'node:tls', 'node:http', 'node:https', 'node:child_process', 'node:dgram', 'node:worker_threads', 'node:cluster', 'node:process'];

export const WALLS: Wall[] = [
  {
    rule: 'src/protocol imports only src/protocol, and no Node I/O',
    broken: (from, to) => under('src/protocol/')(from) && (isPackage(to) ? packageIs(...NODE_IO)(to) : !under('src/protocol/')(to)),
  },
  {
    rule: 'the server does not import the client',
    broken: (from, to) => under('src/server/')(from) && under('src/client/')(to),
  },
  {
    rule: 'the client does not import the server',
    broken: (from, to) => under('src/client/')(from) && under('src/server/')(to),
  },
  {
    rule: 'the client core imports no view, no CLI, no blessed, chalk, commander or cli-progress',
    broken: (from, to) =>
      under('src/client/core/')(from) &&
      (under('src/client/view/')(to) || under('src/client/cli/')(to) || packageIs('blessed', 'chalk', 'commander', 'cli-progress')(to)),
  },
  {
    rule: 'only the client CLI imports the client CLI',
    broken: (from, to) => under('src/client/cli/')(to) && !under('src/client/cli/')(from),
  },
  {
    rule: 'nothing imports the server CLI',
    broken: (_from, to) => to === 'src/server/cli.ts',
  },
  {
    rule: 'nothing in src/ imports bin/',
    broken: (_from, to) => under('bin/')(to),
  },
];

export function wallsBroken(graph: ImportGraph): string[] {
  const broken: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      for (const wall of WALLS) if (wall.broken(from, to)) broken.push(`${from} -> ${to}: ${wall.rule}`);
    }
  }
  return broken;
}

/** Every import circle among our modules, each as the path that closes it (a -> b -> a). */
export function circles(graph: ImportGraph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

t.test('the checks catch what they are meant to catch', async (t) => {
  const bad: ImportGraph = new Map([
    ['src/protocol/a.ts', ['src/server/b.ts', 'node:net']],
    ['src/server/b.ts', ['src/client/c.ts', 'src/server/cli.ts']],
    ['src/client/core/c.ts', ['blessed', 'src/client/view/d.ts', 'src/client/cli/e.ts']],
    ['src/client/view/d.ts', ['src/client/core/c.ts']],
    ['src/client/cli/e.ts', ['src/client/view/d.ts', 'src/client/core/c.ts']],
    ['src/server/cli.ts', ['src/protocol/a.ts']],
  ]);
  const broken = wallsBroken(bad);
  t.equal(broken.length, 8, broken.join('\n'));
  t.same(circles(bad), [
    ['src/protocol/a.ts', 'src/server/b.ts', 'src/server/cli.ts', 'src/protocol/a.ts'],
    ['src/client/core/c.ts', 'src/client/view/d.ts', 'src/client/core/c.ts'],
    ['src/client/core/c.ts', 'src/client/cli/e.ts', 'src/client/core/c.ts'],
  ]);
  t.same(circles(new Map([['a', ['b']], ['b', ['c']], ['c', []]])), [], 'no circle in a chain');
});

t.test('src/ keeps its walls and has no import circle', async (t) => {
  const graph = importGraph([...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'bin'))]);
  t.ok(graph.size > 40, `read ${graph.size} modules`);
  t.ok(graph.get('bin/chat.js')?.some((to) => to.startsWith('src/client/')), 'bin/ is read (it may import the CLI)');
  t.same(wallsBroken(new Map([...graph].filter(([from]) => from.startsWith('src/')))), [], 'no wall is broken');
  t.same(circles(graph), [], 'no import circle');
});

t.test('no wire type is forced into another (`as unknown as RoomRecord`): a rule for both takes both', async (t) => {
  const forced = /as unknown as (RoomRecord|PrivateRecord|ServerMessage|ClientMessage|\w+Event)\b/;
  const found = sourceFiles(join(ROOT, 'src')).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (forced.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
  );
  t.same(found, []);
});
