// The real `chat-server` binary (from dist/, built by `npm test`): flags, JSON logs, signals.

import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Peer } from './helpers/wire.js';
import { listeningPort } from './helpers/server-binary.js';

const BIN = fileURLToPath(new URL('../bin/chat-server.js', import.meta.url));

function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

t.test('--version and --help', async (t) => {
  const version = await runBin(['--version']);
  t.match(version.stdout, /^chat-server \d+\.\d+\.\d+/);
  const help = await runBin(['--help']);
  for (const flag of ['--port', '--host', '--max-line', '--history', '--rate-limit', '--sendq', '--log-format', '--accounts', 'chat-server accounts']) {
    t.match(help.stdout, flag);
  }
});

t.test('a bad flag value is refused with a message', async (t) => {
  const result = await runBin(['--port', 'eighty']);
  t.not(result.code, 0);
  t.match(result.stderr, /port/);
});

t.test('a port in use is reported in words', async (t) => {
  const first = spawn('node', [BIN, '--port', '0', '--log-format', 'json', '--memory']);
  t.teardown(() => first.kill('SIGKILL'));
  const port = await listeningPort(first);
  const second = await runBin(['--port', String(port), '--memory']);
  t.equal(second.code, 1);
  t.match(second.stderr, /in use/);
});

t.test('JSON logs, and SIGTERM tells clients, then exits 0', async (t) => {
  const child = spawn('node', [BIN, '--port', '0', '--log-format', 'json', '--memory']);
  t.teardown(() => child.kill('SIGKILL'));
  const logs: Record<string, unknown>[] = [];
  const port = await listeningPort(child);
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(JSON.parse(line)));
  const client = await Peer.connect(port);
  t.teardown(() => client.destroy());
  await client.join('test', 'alice');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.match(await client.next({ type: 'bye' }), { code: 'shutdown' });
  t.equal(await exited, 0);
  t.ok(logs.some((entry) => entry.msg === 'connected' && typeof entry.remote === 'string'), 'connections are logged');
});

t.test('JSON log lines waiting in a batch are written before SIGHUP ends the server', async (t) => {
  // Without the test runner's preloads (NODE_OPTIONS, added to what it spawns): they handle SIGHUP themselves.
  const child = spawn('env', ['-u', 'NODE_OPTIONS', 'node', BIN, '--port', '0', '--log-format', 'json', '--memory']);
  t.teardown(() => child.kill('SIGKILL'));
  const port = await listeningPort(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  // 'close', not 'exit': stderr has been read to its end.
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
  const clients = await Promise.all(Array.from({ length: 20 }, () => Peer.connect(port)));
  t.teardown(() => clients.forEach((client) => client.destroy()));
  await Promise.all(clients.map((client, i) => client.join('test', `n${i}`)));
  child.kill('SIGHUP');
  t.equal(await ended, 'SIGHUP', 'ended by the signal, as without a handler');
  const connected = stderr.split('\n').filter((line) => line.includes('"msg":"connected"'));
  t.equal(connected.length, 20, 'every connection logged');
});
