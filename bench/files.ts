// File transfer figures: move N bytes up to our server and back down, next to the same bytes through a plain TCP
// relay (the physical floor: one socket in, one out, no framing, no disk), and the server's peak memory meanwhile.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_CPU, cpuSeconds, memory } from './targets.js';

const root = fileURLToPath(new URL(existsSync(new URL('../package.json', import.meta.url)) ? '../' : '../../', import.meta.url));
const BLOCK = Buffer.alloc(1024 * 1024, 0x5a).map((_, i) => (i * 131) & 0xff) as Buffer;

export interface FileTransferResult {
  bytes: number;
  uploadSeconds: number;
  downloadSeconds: number;
  relaySeconds: number;
  serverPeakRssMiB: number;
  serverCpuSeconds: number;
}

/** Write `bytes` of the repeating block to `socket`, honouring backpressure. */
async function pump(socket: net.Socket, bytes: number): Promise<void> {
  for (let sent = 0; sent < bytes; ) {
    const chunk = bytes - sent >= BLOCK.length ? BLOCK : BLOCK.subarray(0, bytes - sent);
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
}

function digestOf(bytes: number): string {
  const hash = createHash('sha256');
  for (let done = 0; done < bytes; done += BLOCK.length) hash.update(BLOCK.subarray(0, Math.min(BLOCK.length, bytes - done)));
  return hash.digest('hex');
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Read lines until one matches; the bytes after it stay unread in the returned remainder. */
function readLine(socket: net.Socket, match: (event: Record<string, unknown>) => boolean): Promise<{ event: Record<string, unknown>; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let newline = buffered.indexOf(0x0a); newline !== -1; newline = buffered.indexOf(0x0a)) {
        const event = JSON.parse(buffered.subarray(0, newline).toString());
        buffered = buffered.subarray(newline + 1);
        if (event.type === 'error') return fail(new Error(String(event.message)));
        if (match(event)) {
          socket.off('data', onData);
          socket.pause();
          return resolve({ event, rest: buffered });
        }
      }
    };
    const fail = (error: Error) => {
      socket.off('data', onData);
      reject(error);
    };
    socket.on('data', onData);
  });
}

/** Count `bytes` arriving on `socket` (after `already` of them came with the header). */
function drainBytes(socket: net.Socket, bytes: number, already: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = already;
    if (got >= bytes) return resolve();
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= bytes) resolve();
    });
    socket.once('close', () => got < bytes && reject(new Error(`closed after ${got} of ${bytes} bytes`)));
    socket.resume();
  });
}

async function startOurs(dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    'taskset',
    ['-c', SERVER_CPU, process.execPath, join(root, 'bin/chat-server.js'), '--port', '0', '--rate-limit', '0', '--log-format', 'json', '--data-dir', dataDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const match = /"port":(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`chat-server exited: ${text}`)));
  });
  return { child, port };
}

/** A plain relay in its own process on the server's core: the first connection's bytes are piped to the second. */
const RELAY = `
const net = require('node:net');
let first = null;
const server = net.createServer((socket) => { if (!first) first = socket; else first.pipe(socket); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

function startRelay(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn('taskset', ['-c', SERVER_CPU, process.execPath, '-e', RELAY], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (text: string) => resolve({ child, port: Number(text.trim()) }));
    child.once('exit', () => reject(new Error('the relay exited')));
  });
}

export async function fileTransfer(bytes: number): Promise<FileTransferResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-bench-files-'));
  const { child, port } = await startOurs(dataDir);
  try {
    const sha256 = digestOf(bytes);
    const up = await connect(port);
    up.write('{"type":"join","room":"bench","nick":"uploader"}\n');
    await readLine(up, (e) => e.type === 'notice');
    up.resume();
    const cpuBefore = cpuSeconds(child.pid!);
    let start = process.hrtime.bigint();
    const stored = readLine(up, (e) => e.type === 'ok');
    up.write(JSON.stringify({ type: 'upload', room: 'bench', name: 'bench.bin', size: bytes, sha256 }) + '\n');
    await pump(up, bytes);
    const { event: ok } = await stored;
    const uploadSeconds = Number(process.hrtime.bigint() - start) / 1e9;

    const down = await connect(port);
    start = process.hrtime.bigint();
    const header = readLine(down, (e) => e.type === 'file_data');
    down.write(JSON.stringify({ type: 'download', file: ok.file }) + '\n');
    const { rest } = await header;
    await drainBytes(down, bytes, rest.length);
    const downloadSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    const serverCpuSeconds = cpuSeconds(child.pid!) - cpuBefore;
    const serverPeakRssMiB = memory(child.pid!).peakKiB / 1024;
    up.destroy();
    down.destroy();

    const relay = await startRelay();
    const sender = await connect(relay.port);
    const receiver = await connect(relay.port);
    start = process.hrtime.bigint();
    const received = drainBytes(receiver, bytes, 0);
    await pump(sender, bytes);
    await received;
    const relaySeconds = Number(process.hrtime.bigint() - start) / 1e9;
    sender.destroy();
    receiver.destroy();
    relay.child.kill();
    return { bytes, uploadSeconds, downloadSeconds, relaySeconds, serverPeakRssMiB, serverCpuSeconds };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// `node dist/bench/files.js [MiB]` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mib = Number(process.argv[2] ?? 1024);
  fileTransfer(mib * 1024 * 1024).then((result) => {
    const perSecond = (seconds: number) => Math.round(result.bytes / 1024 / 1024 / seconds);
    console.log(JSON.stringify({ workload: 'files', ...result }));
    console.log(
      `files ${mib} MiB: up ${perSecond(result.uploadSeconds)} MiB/s, down ${perSecond(result.downloadSeconds)} MiB/s, ` +
        `plain relay ${perSecond(result.relaySeconds)} MiB/s; ours/relay: up ${(result.relaySeconds / result.uploadSeconds).toFixed(2)}x, ` +
        `down ${(result.relaySeconds / result.downloadSeconds).toFixed(2)}x; server peak RSS ${Math.round(result.serverPeakRssMiB)} MiB`,
    );
  });
}
