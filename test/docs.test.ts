// Every shell example in docs/protocol.md runs with nc and jq against a real server and must print
// what the document says it prints ("…" in the document matches any value).

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFor, server } from './helpers/wire.js';
import { selfSignedCert } from './helpers/tls.js';

interface Example {
  line: number;
  script: string;
  kind: string;
  expected: string;
}

function examples(markdown: string): { found: Example[]; untested: number[] } {
  const blocks: { line: number; lang: string; body: string }[] = [];
  const pattern = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let match; (match = pattern.exec(markdown)); ) {
    blocks.push({ line: markdown.slice(0, match.index).split('\n').length, lang: match[1]!, body: match[2]! });
  }
  const found: Example[] = [];
  const untested: number[] = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'sh') return;
    const output = blocks[i + 1];
    if (!output || output.lang === 'sh') untested.push(block.line);
    else found.push({ line: block.line, script: block.body, kind: output.lang, expected: output.body });
  });
  return { found, untested };
}

function like(actual: unknown, expected: unknown): boolean {
  if (expected === '…') return actual !== undefined;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => like(actual[i], e));
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const keys = Object.keys(expected);
    return (
      keys.length === Object.keys(actual).length &&
      keys.every((key) => like((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key]))
    );
  }
  return actual === expected;
}

function run(script: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { timeout: 20000, cwd }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
// The server serves TLS too, on the same port: the plain examples prove that nc still works there, and the
// `openssl s_client` ones talk TLS.
const tls = await selfSignedCert(t);
const { found, untested } = examples(doc);

t.same(untested, [], 'every sh example is followed by its expected output');
t.ok(found.length >= 10, `the document has examples (${found.length})`);

for (const example of found) {
  t.test(`docs/protocol.md line ${example.line}`, async (t) => {
    const { port } = await server(t, { tls });
    // Each nc (or openssl -connect) of an example talks to the next node when the server is a cluster.
    const script = example.script.replace(/localhost( |:)8000/g, (_, separator: string) => `127.0.0.1${separator}${nodeFor(port)}`);
    t.not(script, example.script, 'the example talks to localhost 8000');
    const cwd = mkdtempSync(join(tmpdir(), 'chat-docs-'));
    t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
    const output = await run(script, cwd);
    if (example.kind === 'jsonl') {
      const actual = output.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
      const expected = example.expected.trim().split('\n').map((line) => JSON.parse(line));
      t.ok(like(actual, expected), 'output matches', { actual, expected });
    } else {
      t.equal(output.trim(), example.expected.trim());
    }
  });
}
