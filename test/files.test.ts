import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newFileId } from '../src/server/files/store.js';
import { BytesPeer } from './helpers/bytes-peer.js';
import { nodeFor, peer, server } from './helpers/wire.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function bytesPeer(t: { teardown(fn: () => void): void }, port: number, join?: { room: string; nick: string }) {
  const p = await BytesPeer.connect(nodeFor(port));
  t.teardown(() => p.destroy());
  if (join) {
    p.send({ type: 'join', ...join });
    await p.line((e) => e.type !== 'notice');
  }
  return p;
}

/** Upload `bytes` as `name` into `room`; returns the ok reply. */
async function upload(p: BytesPeer, room: string, name: string, bytes: Buffer, extra: object = {}) {
  p.socket.write(JSON.stringify({ type: 'upload', room, name, size: bytes.length, sha256: sha256(bytes), ...extra }) + '\n');
  p.socket.write(bytes);
  return p.line((e) => e.type !== 'ok' && e.type !== 'error');
}

async function download(p: BytesPeer, file: string, offset = 0) {
  p.send({ type: 'download', file, offset });
  const header = await p.line((e) => e.type !== 'file_data' && e.type !== 'error');
  if (header.type === 'error') return { header, bytes: Buffer.alloc(0) };
  return { header, bytes: await p.bytes(header.length) };
}

t.test('text, binary, empty and Chinese-named files round-trip between two clients', async (t) => {
  const { port } = await server(t);
  const alice = await bytesPeer(t, port, { room: 'test', nick: 'alice' });
  const bob = await bytesPeer(t, port, { room: 'test', nick: 'bob' });
  const cases: [string, Buffer][] = [
    ['notes.txt', Buffer.from('hello\nworld\n')],
    ['binary.bin', randomBytes(300_000)],
    ['empty', Buffer.alloc(0)],
    ['照片 2024 (final).jpg', Buffer.from([0, 10, 13, 255, 0x7b, 0x0a])],
  ];
  let expectedSeq = 0;
  for (const [name, bytes] of cases) {
    const ok = await upload(alice, 'test', name, bytes);
    t.match(ok, { type: 'ok', seq: ++expectedSeq }, `${name}: stored`);
    t.match(ok.file, /^[A-Za-z0-9_-]{22}$/, 'an id of 128 random bits');
    const announced = await bob.line((e) => e.type !== 'file');
    t.match(announced, { type: 'file', room: 'test', from: 'alice', file: ok.file, name, size: bytes.length, sha256: sha256(bytes), seq: expectedSeq });
    const { header, bytes: got } = await download(bob, ok.file);
    t.match(header, { type: 'file_data', file: ok.file, name, size: bytes.length, offset: 0, length: bytes.length, sha256: sha256(bytes) });
    t.ok(got.equals(bytes), `${name}: the same bytes`);
  }
  bob.send({ type: 'ping', id: 'after' });
  t.match(await bob.line((e) => e.type !== 'pong'), { id: 'after' }, 'line mode again after the bytes');
});

t.test('file ids never start with "-", so `chat get ID` never reads one as an option', async (t) => {
  const ids = Array.from({ length: 5000 }, newFileId);
  t.equal(ids.filter((id) => id.startsWith('-')).length, 0);
  t.ok(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id)), '22 base64url characters: 128 bits');
  t.equal(new Set(ids).size, ids.length);
});

t.test('a 200 MiB file goes up and down through the server intact', async (t) => {
  const { port } = await server(t);
  const up = await bytesPeer(t, port, { room: 'big', nick: 'up' });
  const size = 200 * 1024 * 1024;
  const block = randomBytes(1024 * 1024);
  const hash = createHash('sha256');
  for (let i = 0; i < 200; i++) hash.update(block);
  const digest = hash.digest('hex');
  up.send({ type: 'upload', room: 'big', name: 'big.bin', size, sha256: digest });
  for (let i = 0; i < 200; i++) {
    if (!up.socket.write(block)) await new Promise((resolve) => up.socket.once('drain', resolve));
  }
  const ok = await up.line((e) => e.type !== 'ok' && e.type !== 'error');
  t.match(ok, { type: 'ok' });
  const down = await bytesPeer(t, port);
  down.send({ type: 'download', file: ok.file });
  const header = await down.line();
  t.equal(header.length, size);
  const received = createHash('sha256');
  await down.stream(size, (chunk) => received.update(chunk));
  t.equal(received.digest('hex'), digest);
});

t.test('late joiners and reconnecting clients see file events in history, numbered with messages', async (t) => {
  const { port } = await server(t);
  const alice = await bytesPeer(t, port, { room: 'test', nick: 'alice' });
  alice.send({ type: 'msg', room: 'test', text: 'here comes a file' });
  const ok = await upload(alice, 'test', 'a.txt', Buffer.from('A'));
  const late = await peer(t, port);
  const history = (await late.join('test', 'late')).filter((e) => e.history);
  t.same(history.map((e) => [e.type, e.seq]), [['msg', 1], ['file', 2]]);
  t.match(history[1], { file: ok.file, name: 'a.txt' });
  late.send({ type: 'files', room: 'test', id: 1 });
  const list = await late.next({ type: 'files' });
  t.same(list.files.map((f: { file: string }) => f.file), [ok.file]);
});

t.test('a private file reaches its recipient, and only its two parties can fetch it', async (t) => {
  const { port } = await server(t);
  const alice = await bytesPeer(t, port);
  alice.send({ type: 'hello', nick: 'alice' });
  await alice.line();
  const bob = await bytesPeer(t, port);
  bob.send({ type: 'hello', nick: 'bob' });
  await bob.line();
  const eve = await bytesPeer(t, port);
  eve.send({ type: 'hello', nick: 'eve' });
  await eve.line();
  const secret = Buffer.from('for bob only');
  alice.socket.write(JSON.stringify({ type: 'upload', to: 'bob', name: 's.txt', size: secret.length }) + '\n');
  alice.socket.write(secret);
  const event = await bob.line();
  t.match(event, { type: 'file', to: 'bob', from: 'alice', name: 's.txt', sha256: sha256(secret) });
  t.match(await alice.line(), { type: 'file', to: 'bob' }, 'the sender gets the event too');
  t.match(await alice.line(), { type: 'ok', file: event.file });
  t.ok((await download(bob, event.file)).bytes.equals(secret));
  t.ok((await download(alice, event.file)).bytes.equals(secret));
  t.match((await download(eve, event.file)).header, { type: 'error', code: 'no_such_file' });
  bob.send({ type: 'files', id: 'mine' });
  t.same((await bob.line()).files.map((f: { file: string }) => f.file), [event.file]);
});

t.test('an interrupted upload resumes from the bytes the server has', async (t) => {
  const { port } = await server(t);
  const bytes = randomBytes(100_000);
  const digest = sha256(bytes);
  const first = await bytesPeer(t, port, { room: 'r', nick: 'first' });
  first.send({ type: 'upload', room: 'r', name: 'r.bin', size: bytes.length, sha256: digest });
  first.socket.end(bytes.subarray(0, 40_000)); // half-close after 40 000 bytes
  const short = await first.line();
  t.match(short, { type: 'error', code: 'short_upload', message: /40000 of 100000/ });
  const second = await bytesPeer(t, port, { room: 'r', nick: 'second' });
  second.send({ type: 'upload_status', sha256: digest, size: bytes.length });
  const status = await second.line();
  t.match(status, { type: 'upload_status', have: 40_000 });
  const ok = await upload(second, 'r', 'r.bin', bytes.subarray(status.have), { size: bytes.length, sha256: digest, offset: status.have });
  t.match(ok, { type: 'ok' });
  t.ok((await download(second, ok.file)).bytes.equals(bytes), 'the whole file, verified');
});

t.test('a download resumes from an offset', async (t) => {
  const { port } = await server(t);
  const bytes = randomBytes(50_000);
  const p = await bytesPeer(t, port, { room: 'r', nick: 'p' });
  const ok = await upload(p, 'r', 'd.bin', bytes);
  const { header, bytes: tail } = await download(p, ok.file, 30_000);
  t.match(header, { offset: 30_000, length: 20_000, size: 50_000 });
  t.ok(Buffer.concat([bytes.subarray(0, 30_000), tail]).equals(bytes));
});

t.test('upload errors: each has its code, and the connection stays in step where it can', async (t) => {
  const { port } = await server(t, { maxFileBytes: 1000, fileQuotaBytes: 1500 });
  const p = await bytesPeer(t, port, { room: 'r', nick: 'p' });
  const wrong = Buffer.from('abc');
  p.send({ type: 'upload', room: 'r', name: 'x', size: 3, sha256: sha256(Buffer.from('xyz')) });
  p.socket.write(wrong);
  t.match(await p.line(), { type: 'error', code: 'checksum_mismatch' });
  p.send({ type: 'upload', room: 'elsewhere', name: 'x', size: 5 });
  p.socket.write('{"a":');
  t.match(await p.line(), { type: 'error', code: 'not_in_room' });
  p.send({ type: 'download', file: 'AAAAAAAAAAAAAAAAAAAAAA' });
  t.match(await p.line(), { type: 'error', code: 'no_such_file' }, 'the skipped bytes were not read as a line');
  t.match(await upload(p, 'r', 'a', randomBytes(800)), { type: 'ok' });
  p.send({ type: 'upload', room: 'r', name: 'b', size: 800 });
  t.match(await p.line(), { type: 'error', code: 'quota_exceeded' });
  const q = await bytesPeer(t, port, { room: 'r', nick: 'q' });
  q.send({ type: 'upload', room: 'r', name: 'huge', size: 5000 });
  t.match(await q.line(), { type: 'error', code: 'too_large' });
  t.match(await q.line(), { type: 'bye', code: 'protocol' }, 'bytes that cannot be skipped end the connection');
});

t.test('identical content is stored once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { port, server: chat } = await server(t, { dataDir: dir });
  const p = await bytesPeer(t, port, { room: 'r', nick: 'p' });
  const bytes = randomBytes(1000);
  const one = await upload(p, 'r', 'one', bytes);
  const two = await upload(p, 'r', 'two', bytes);
  t.not(one.file, two.file, 'two shared files');
  const { readdirSync } = await import('node:fs');
  t.same(readdirSync(join(dir, 'files', 'objects')), [sha256(bytes)], 'one object on disk');
  t.equal(chat.files.roomFiles('r').length, 2);
});

t.test('netcat: upload with printf + cat, save with a raw download', async (t) => {
  const { port } = await server(t);
  const dir = mkdtempSync(join(tmpdir(), 'chat-nc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const photo = randomBytes(70_000);
  writeFileSync(join(dir, 'photo.jpg'), photo);
  const sh = (script: string) =>
    new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', script], { cwd: dir }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
  const up = await sh(
    `{ echo '{"type":"join","room":"test","nick":"nc"}'; echo "{\\"type\\":\\"upload\\",\\"room\\":\\"test\\",\\"name\\":\\"photo.jpg\\",\\"size\\":$(stat -c %s photo.jpg)}"; cat photo.jpg; } | nc -N 127.0.0.1 ${port} | jq -r 'select(.type=="ok") | .file'`,
  );
  const id = up.trim();
  t.match(id, /^[A-Za-z0-9_-]{22}$/);
  await sh(`echo '{"type":"download","file":"${id}","raw":true}' | nc -N 127.0.0.1 ${port} > saved.jpg`);
  t.ok(readFileSync(join(dir, 'saved.jpg')).equals(photo), 'saved.jpg is the same file');
});

t.test('two clients downloading do not hold up a third who chats', async (t) => {
  const { port, server: chat } = await server(t);
  const up = await bytesPeer(t, port, { room: 'r', nick: 'up' });
  const ok = await upload(up, 'r', 'big', randomBytes(20 * 1024 * 1024));
  const downloaders = await Promise.all([bytesPeer(t, port), bytesPeer(t, port)]);
  for (const d of downloaders) {
    d.socket.pause(); // slow readers: their downloads stay in progress
    d.send({ type: 'download', file: ok.file });
  }
  const [a, b] = await Promise.all([peer(t, port), peer(t, port)]);
  await a.join('chat', 'a');
  await b.join('chat', 'b');
  for (let i = 0; i < 20; i++) {
    a.send({ type: 'msg', room: 'chat', text: `m${i}` });
    t.match(await b.next({ type: 'msg' }), { text: `m${i}` });
  }
  const busy = [...chat.sessions].filter((s) => s.nick.startsWith('guest-'));
  t.ok(busy.every((s) => !s.closed), 'the downloads are still going');
  t.ok(downloaders.every((d) => d.socket.bytesRead < 20 * 1024 * 1024), 'neither download has finished');
});

t.test('a second connection attached with the welcome token shares files as the same user, unseen', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  alice.send({ type: 'hello', nick: 'alice' });
  const { token } = await alice.next({ type: 'welcome' });
  t.match(token, /^[A-Za-z0-9_-]{22}$/);
  await alice.join('test');
  const bob = await peer(t, port);
  await bob.join('test', 'bob');
  const stranger = await bytesPeer(t, port);
  stranger.send({ type: 'attach', token: 'not-a-token' });
  t.match(await stranger.line(), { type: 'error', code: 'bad_request' });
  // On the node where alice is (another node: tokens.test.ts).
  const transfer = await BytesPeer.connect(port);
  t.teardown(() => transfer.destroy());
  transfer.send({ type: 'attach', token, id: 1 });
  t.match(await transfer.line(), { type: 'welcome', nick: 'alice', id: 1 });
  const ok = await upload(transfer, 'test', 'shared.txt', Buffer.from('from the side'));
  t.match(ok, { type: 'ok', seq: 1 });
  t.match(await bob.next({ type: 'file' }), { from: 'alice', file: ok.file, name: 'shared.txt' });
  bob.send({ type: 'who', room: 'test' });
  t.same((await bob.next({ type: 'members' })).nicks, ['alice', 'bob']);
  t.notOk(bob.received.some((e) => e.type === 'join' && e.nick !== 'bob' && e.nick !== 'alice'), 'no join seen');
});

t.test('a refused upload header is still followed by its bytes: they are skipped, never read as lines', async (t) => {
  const { port } = await server(t, { rateLimit: 1, rateBurst: 3, floodKick: 1000 });
  const p = await bytesPeer(t, port, { room: 'r', nick: 'p' });
  const sneaky = Buffer.from('{"type":"msg","room":"r","text":"smuggled"}\n');
  // A bad name, then a bad sha256: each header is refused, and its bytes (which look like a line) skipped.
  p.send({ type: 'upload', room: 'r', name: 'bad\u0007name', size: sneaky.length });
  p.socket.write(sneaky);
  t.match(await p.line(), { type: 'error', code: 'bad_request', message: /control characters/ });
  p.send({ type: 'upload', room: 'r', name: 'x', size: sneaky.length, sha256: 'nothex' });
  p.socket.write(sneaky);
  t.match(await p.line(), { type: 'error', code: 'bad_request', message: /sha256/ });
  // Over the rate limit: refused unread, its bytes skipped all the same.
  p.send({ type: 'upload', room: 'r', name: 'x', size: sneaky.length });
  p.socket.write(sneaky);
  t.match(await p.line(), { type: 'error', code: 'rate_limited' });
  await new Promise((resolve) => setTimeout(resolve, 1100)); // one token back
  p.send({ type: 'ping', id: 'after' });
  t.match(await p.line(), { type: 'pong', id: 'after' }, 'no msg was smuggled through');
  // A size that cannot be read: the stream cannot be followed, so the connection ends.
  const q = await bytesPeer(t, port, { room: 'r', nick: 'q' });
  q.send({ type: 'upload', room: 'r', name: 'x', size: 'lots' });
  t.match(await q.line(), { type: 'error', code: 'bad_request' });
  t.match(await q.line(), { type: 'bye', code: 'protocol' });
});
