// The client's file transfers against a real server: safe names, resume both ways, verification.

import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { availablePath, safeFileName } from '../src/client/core/transfer/safe-name.js';
import { downloadFile } from '../src/client/core/transfer/download.js';
import { uploadFile } from '../src/client/core/transfer/upload.js';
import type { FileDataEvent } from '../src/protocol/index.js';
import { BytesPeer } from './helpers/bytes-peer.js';
import { peer, server } from './helpers/wire.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-transfer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('names from the network never escape the download directory', async (t) => {
  const cases: [string, string][] = [
    ['photo.jpg', 'photo.jpg'],
    ['../../etc/passwd', 'passwd'],
    ['/etc/shadow', 'shadow'],
    ['..\\..\\windows\\system.ini', 'system.ini'],
    ['..', 'file'],
    ['', 'file'],
    ['evil\u001b[31mred\u0007.txt', 'evil[31mred.txt'],
    ['right\u202eexe.txt', 'rightexe.txt'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['a:b*c?.txt', 'a_b_c_.txt'],
    ['  .hidden  ', 'hidden'],
    ['照片 2024.jpg', '照片 2024.jpg'],
  ];
  for (const [name, expected] of cases) t.equal(safeFileName(name), expected, JSON.stringify(name));
  t.ok(Buffer.byteLength(safeFileName('长'.repeat(300) + '.txt')) <= 200, 'long names are cut, keeping the extension');
  t.match(safeFileName('长'.repeat(300) + '.txt'), /\.txt$/);
  const taken = new Set(['/d/a.txt', '/d/a (1).txt']);
  t.equal(availablePath('/d', 'a.txt', (p) => taken.has(p)), '/d/a (2).txt');
  t.equal(availablePath('/d', 'b', (p) => taken.has(p)), '/d/b');
});

t.test('upload and download round trip; an existing file is never overwritten', async (t) => {
  const { port } = await server(t);
  const endpoint = { host: '127.0.0.1', port };
  const dir = tempDir(t);
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(join(dir, 'data.bin'), bytes);
  const watcher = await peer(t, port);
  await watcher.join('test', 'watcher');
  const progress: number[] = [];
  const up = await uploadFile({
    endpoint,
    identity: { nick: 'alice', join: 'test' },
    path: join(dir, 'data.bin'),
    name: 'data.bin',
    room: 'test',
    onProgress: ({ done }) => progress.push(done),
  });
  t.match(up, { size: bytes.length, sha256: sha256(bytes), resumedFrom: 0 });
  t.equal(progress.at(-1), bytes.length, 'progress reaches the size');
  t.match(await watcher.next({ type: 'file' }), { from: 'alice', file: up.file, name: 'data.bin' });

  const saveDir = join(dir, 'downloads');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(saveDir);
  writeFileSync(join(saveDir, 'data.bin'), 'precious');
  const down = await downloadFile({ endpoint, identity: { nick: 'bob' }, file: up.file, output: { dir: saveDir } });
  t.equal(down.path, join(saveDir, 'data (1).bin'));
  t.ok(readFileSync(down.path!).equals(bytes));
  t.equal(readFileSync(join(saveDir, 'data.bin'), 'utf8'), 'precious', 'the existing file is untouched');
  t.same(readdirSync(saveDir).sort(), ['data (1).bin', 'data.bin'], 'no partial file is left');

  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk) => chunks.push(chunk));
  await downloadFile({ endpoint, identity: { nick: 'carol' }, file: up.file, output: { stream: out } });
  t.ok(Buffer.concat(chunks).equals(bytes), 'to a stream (chat get ID -o -)');
});

/**
 * A scripted server that answers a download client: `welcome` to hello, the header alone to a `length: 0` download,
 * and `body(header)` (header line and bytes, as one write) to the real download. Returns its endpoint.
 */
async function scriptedFileServer(
  t: { teardown(fn: () => void): void },
  header: Omit<FileDataEvent, 'length'>,
  body: (headerLine: (length: number) => string) => string | Buffer,
): Promise<{ host: string; port: number }> {
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const scripted = createServer((socket) => {
    sockets.push(socket);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let newline;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const request = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        const headerLine = (length: number) => JSON.stringify({ ...header, id: request.id, length }) + '\n';
        if (request.type === 'hello') socket.write(JSON.stringify({ type: 'welcome', id: request.id, nick: request.nick, server: 'scripted', proto: 1 }) + '\n');
        else if (request.type === 'download' && request.length === 0) socket.write(headerLine(0));
        else if (request.type === 'download') socket.write(body(headerLine));
      }
    });
  });
  await new Promise<void>((resolve) => scripted.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    scripted.close();
  });
  return { host: '127.0.0.1', port: (scripted.address() as { port: number }).port };
}

t.test('file bytes that arrive in the same chunk as their header are not lost', async (t) => {
  const bytes = Buffer.from('line one\nline two\n{"type":"not a message"}\n\u00ff\u0000 tail');
  const header = { type: 'file_data' as const, file: 'F'.repeat(22), name: 'notes.txt', size: bytes.length, offset: 0, sha256: sha256(bytes) };
  const endpoint = await scriptedFileServer(t, header, (headerLine) => Buffer.concat([Buffer.from(headerLine(bytes.length)), bytes]));

  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk) => chunks.push(chunk));
  await downloadFile({ endpoint, identity: { nick: 'bob' }, file: header.file, output: { stream: out } });
  t.ok(Buffer.concat(chunks).equals(bytes), 'to a stream');

  const dir = tempDir(t);
  const saved = await downloadFile({ endpoint, identity: { nick: 'bob' }, file: header.file, output: { dir } });
  t.ok(readFileSync(saved.path!).equals(bytes), 'to a file');
});

t.test('a download that stops receiving bytes fails after the stall timeout instead of hanging', async (t) => {
  // 1000 bytes announced, 10 sent, then silence with the connection open.
  const header = { type: 'file_data' as const, file: 'S'.repeat(22), name: 'stuck.bin', size: 1000, offset: 0, sha256: '0'.repeat(64) };
  const endpoint = await scriptedFileServer(t, header, (headerLine) => headerLine(1000) + 'x'.repeat(10));
  const out = new PassThrough().resume();
  await t.rejects(
    downloadFile({ endpoint, identity: { nick: 'bob' }, file: header.file, output: { stream: out }, stallTimeoutMs: 200 }),
    { code: 'connection_lost', message: /no data from the server for 0\.2 s/ },
  );
  const dir = tempDir(t);
  await t.rejects(
    downloadFile({ endpoint, identity: { nick: 'bob' }, file: header.file, output: { dir }, stallTimeoutMs: 200 }),
    /no data from the server/,
  );
  t.same(readdirSync(dir), ['stuck.bin.SSSSSSSS.part'], 'what arrived is kept for --continue');
});

t.test('an interrupted upload continues where the server stopped', async (t) => {
  const { port } = await server(t);
  const dir = tempDir(t);
  const bytes = randomBytes(500_000);
  writeFileSync(join(dir, 'big.bin'), bytes);
  const first = await BytesPeer.connect(port);
  t.teardown(() => first.destroy());
  first.send({ type: 'join', room: 'r', nick: 'early' });
  first.send({ type: 'upload', room: 'r', name: 'big.bin', size: bytes.length, sha256: sha256(bytes) });
  first.socket.end(bytes.subarray(0, 200_000));
  await first.line((e) => e.type !== 'error');
  const up = await uploadFile({
    endpoint: { host: '127.0.0.1', port },
    identity: { nick: 'alice', join: 'r' },
    path: join(dir, 'big.bin'),
    name: 'big.bin',
    room: 'r',
  });
  t.equal(up.resumedFrom, 200_000);
  const down = await downloadFile({ endpoint: { host: '127.0.0.1', port }, identity: { nick: 'bob' }, file: up.file, output: { dir } });
  t.ok(readFileSync(down.path!).equals(bytes));
});

t.test('a download resumes from its .part file; a corrupt one is not kept under the final name', async (t) => {
  const { port } = await server(t);
  const endpoint = { host: '127.0.0.1', port };
  const dir = tempDir(t);
  const bytes = randomBytes(400_000);
  writeFileSync(join(dir, 'src.bin'), bytes);
  const up = await uploadFile({ endpoint, identity: { nick: 'alice', join: 'r' }, path: join(dir, 'src.bin'), name: 'r.bin', room: 'r' });
  const saveDir = mkdtempSync(join(dir, 'save-'));
  const part = join(saveDir, `r.bin.${up.file.slice(0, 8)}.part`);
  writeFileSync(part, bytes.subarray(0, 150_000));
  const resumed = await downloadFile({ endpoint, identity: { nick: 'bob' }, file: up.file, output: { dir: saveDir }, resume: true });
  t.equal(resumed.resumedFrom, 150_000);
  t.ok(readFileSync(resumed.path!).equals(bytes));
  t.notOk(existsSync(part), 'the .part file became the file');

  writeFileSync(part, Buffer.alloc(150_000, 0x41)); // not the file's bytes
  await t.rejects(
    downloadFile({ endpoint, identity: { nick: 'bob' }, file: up.file, output: { dir: saveDir }, resume: true }),
    { code: 'server_error', message: /sha256/ },
  );
  t.same(readdirSync(saveDir), ['r.bin'], 'nothing kept but the earlier good copy');
});

t.test('a private file: the recipient fetches it (logged in with its token), a stranger cannot, nor a later "bob"', async (t) => {
  const { port } = await server(t);
  const endpoint = { host: '127.0.0.1', port };
  const dir = tempDir(t);
  writeFileSync(join(dir, 's.txt'), 'secret');
  const bob = await peer(t, port);
  bob.send({ type: 'register', nick: 'bob', password: 'bob\'s password', id: 1 });
  const { token } = await bob.next({ type: 'ok', id: 1 });
  const up = await uploadFile({ endpoint, identity: { nick: 'alice' }, path: join(dir, 's.txt'), name: 's.txt', to: 'bob' });
  t.match(await bob.next({ type: 'file' }), { file: up.file, to: 'bob', from: 'alice' });
  await t.rejects(downloadFile({ endpoint, identity: { nick: 'eve' }, file: up.file, output: { dir } }), { message: /no file/i });
  bob.destroy();
  await bob.closed;
  await t.rejects(downloadFile({ endpoint, identity: { nick: 'bob' }, file: up.file, output: { dir } }), { message: /no file/i }, 'a guest, not bob');
  const got = await downloadFile({ endpoint, identity: { nick: 'bob', loginToken: token }, file: up.file, output: { dir } });
  t.equal(readFileSync(got.path!, 'utf8'), 'secret');
});

t.test('chat send-file and chat get, as scripts use them', async (t) => {
  const { execFile } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const bin = fileURLToPath(new URL('../bin/chat.js', import.meta.url));
  const { port } = await server(t);
  const dir = tempDir(t);
  const chat = (args: string[], input?: Buffer) =>
    new Promise<{ code: number; stdout: Buffer; stderr: string }>((resolve) => {
      const child = execFile('node', [bin, ...args, '--host', '127.0.0.1', '--port', String(port)], { cwd: dir, encoding: 'buffer' }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr: stderr.toString() }),
      );
      child.stdin!.end(input ?? '');
    });
  const bytes = randomBytes(200_000);
  writeFileSync(join(dir, 'photo.jpg'), bytes);
  const watcher = await peer(t, port);
  await watcher.join('test', 'watcher');

  const sent = await chat(['send-file', 'test', 'photo.jpg', '--nick', 'alice']);
  t.equal(sent.code, 0, sent.stderr);
  const id = sent.stdout.toString().trim();
  t.match(id, /^[A-Za-z0-9_-]{22}$/, 'the id on stdout');
  t.match(await watcher.next({ type: 'file' }), { file: id, from: 'alice', name: 'photo.jpg' });

  const fromStdin = await chat(['send-file', 'test', '-', '--name', 'notes.txt', '--nick', 'bob'], Buffer.from('piped'));
  t.equal(fromStdin.code, 0, fromStdin.stderr);
  t.match(await watcher.next({ type: 'file' }), { name: 'notes.txt', size: 5 });

  const saved = await chat(['get', id]);
  t.equal(saved.code, 0, saved.stderr);
  t.match(saved.stderr, /saved photo \(1\)\.jpg .*sha256 verified/);
  t.ok(readFileSync(join(dir, 'photo (1).jpg')).equals(bytes), 'saved beside the original, which is kept');

  const piped = await chat(['get', id, '-o', '-']);
  t.ok(piped.stdout.equals(bytes), 'to stdout');

  const missing = await chat(['get', 'AAAAAAAAAAAAAAAAAAAAAA']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /no file has the id/i);
  const noFile = await chat(['send-file', 'test', 'nope.bin']);
  t.equal(noFile.code, 2);
  t.match(noFile.stderr, /cannot read nope\.bin/);
});

/** Every file under `root` with its contents, to see that nothing outside a folder was written or deleted. */
function snapshot(root: string, skip: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !path.startsWith(skip + '/')) files.set(path, readFileSync(path, 'latin1'));
  }
  return files;
}

t.test('file ids and names from a hostile server never write or delete outside the download folder', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'a', 'b', 'downloads');
  mkdirSync(dir, { recursive: true });
  // Where `/../../Z` and `../../Y` would land from the download folder, with files already there.
  for (const victim of ['a/b/Z.part', 'a/Z.part', 'Z.part', 'a/b/Y', 'a/Y']) writeFileSync(join(root, victim), 'victim');
  const before = snapshot(root, dir);
  const bytes = Buffer.from('payload');
  const good = sha256(bytes);
  const goodId = 'G'.repeat(22);
  const hostileIds = ['/../../Z', '../../../Z', 'AAAAAAAA/../../../Z', '..', 'A'.repeat(21) + '/', '-'.repeat(22)];

  for (const hostile of hostileIds) {
    for (const checksum of [good, 'f'.repeat(64)]) {
      const header = { type: 'file_data' as const, file: hostile, name: 'notes.txt', size: bytes.length, offset: 0, sha256: checksum };
      const endpoint = await scriptedFileServer(t, header, (headerLine) => Buffer.concat([Buffer.from(headerLine(bytes.length)), bytes]));
      for (const asked of [goodId, hostile]) {
        for (const resume of [false, true]) {
          await t.rejects(
            downloadFile({ endpoint, identity: { nick: 'bob' }, file: asked, output: { dir }, resume }),
            { code: asked === hostile ? 'bad_config' : 'server_error' },
            `asked ${JSON.stringify(asked)}, answered ${JSON.stringify(hostile)}, resume ${resume}`,
          );
        }
      }
    }
  }
  t.same(snapshot(root, dir), before, 'nothing outside the download folder was written or deleted');
  t.same(readdirSync(dir), [], 'and nothing inside it either');

  for (const name of ['../../Y', '/abs/../Y', '..\\..\\Y', '..']) {
    const header = { type: 'file_data' as const, file: goodId, name, size: bytes.length, offset: 0, sha256: good };
    const endpoint = await scriptedFileServer(t, header, (headerLine) => Buffer.concat([Buffer.from(headerLine(bytes.length)), bytes]));
    const saved = await downloadFile({ endpoint, identity: { nick: 'bob' }, file: goodId, output: { dir }, resume: true });
    t.equal(join(saved.path!, '..'), dir, `${JSON.stringify(name)} is saved inside the folder`);
  }
  t.same(snapshot(root, dir), before, 'hostile names stay inside the folder');
  t.same(readdirSync(dir).sort(), ['Y', 'Y (1)', 'Y (2)', 'file']);
});

t.test('a header for another file, or with bad sizes, is refused before anything is saved', async (t) => {
  const dir = tempDir(t);
  const bytes = Buffer.from('payload');
  const base = { type: 'file_data' as const, file: 'H'.repeat(22), name: 'n.txt', size: bytes.length, offset: 0, sha256: sha256(bytes) };
  const bad = [{ file: 'I'.repeat(22) }, { size: -1 }, { size: 1.5 }, { sha256: '../x' }, { name: 7 as unknown as string }];
  for (const change of bad) {
    const endpoint = await scriptedFileServer(t, { ...base, ...change }, (headerLine) => Buffer.concat([Buffer.from(headerLine(bytes.length)), bytes]));
    await t.rejects(downloadFile({ endpoint, identity: { nick: 'bob' }, file: base.file, output: { dir } }), { code: 'server_error' }, JSON.stringify(change));
  }
  t.same(readdirSync(dir), []);
});
