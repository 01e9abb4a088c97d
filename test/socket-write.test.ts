import { once } from 'node:events';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import t, { type Test } from 'tap';
import { writeBytes, writeParts } from '../src/server/socket-write.js';

/** A connected pair on loopback: the server's end (written to) and the client's (read, once asked). */
async function pair(t: Test): Promise<{ out: net.Socket; peer: net.Socket }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const peer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [out] = (await once(server, 'connection')) as [net.Socket];
  peer.pause();
  t.teardown(() => {
    out.destroy();
    peer.destroy();
    server.close();
  });
  return { out, peer };
}

/** Every byte `peer` receives until `length` have come. */
async function readAll(peer: net.Socket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  peer.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    got += chunk.length;
  });
  peer.resume();
  while (got < length) await once(peer, 'data');
  return Buffer.concat(chunks);
}

/** `count` numbered blocks of `size` bytes: any byte lost, doubled or out of order shows. */
function blocks(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(size, `${String(i).padStart(8, '0')}|`));
}

t.test("a socket with nothing queued: the bytes go to its descriptor, not through the stream's write path", async (t) => {
  const { out, peer } = await pair(t);
  const parts = blocks(3, 1000);
  t.ok(writeBytes(out, parts[0]!));
  t.ok(writeParts(out, parts.slice(1), 2000));
  t.equal(out.writableLength, 0, 'nothing held');
  t.equal(out.bytesWritten, 0, "the stream counted none of it: it never saw it");
  t.ok((await readAll(peer, 3000)).equals(Buffer.concat(parts)));
});

t.test('a peer that does not read: what the kernel does not take waits in the stream, in order, and nothing is lost', async (t) => {
  const { out, peer } = await pair(t);
  const parts = blocks(400, 50_000); // 20 MB, far more than loopback buffers hold
  let refused = 0;
  let drains = 0;
  out.on('drain', () => drains++);
  for (let i = 0; i < parts.length; i += 4) {
    const four = parts.slice(i, i + 4);
    const ok = i % 8 === 0 ? writeParts(out, four, four.reduce((sum, part) => sum + part.length, 0)) : four.map((part) => writeBytes(out, part)).every(Boolean);
    if (!ok) refused++;
  }
  t.ok(refused > 0, 'the stream said it was full, as socket.write does');
  t.ok(out.writableLength > 0, 'and holds the rest');
  const expected = Buffer.concat(parts);
  const received = await readAll(peer, expected.length);
  t.equal(received.length, expected.length);
  t.ok(received.equals(expected), 'every byte once, in the order written');
  t.ok(drains > 0, "and 'drain' came once the peer read");
});

t.test('a stream that is not a TCP socket (TLS, WebSocket) gets its bytes through write()', async (t) => {
  const stream = new PassThrough();
  const parts = blocks(3, 10);
  t.ok(writeBytes(stream, parts[0]!));
  t.ok(writeParts(stream, parts.slice(1), 20));
  stream.end();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  t.ok(Buffer.concat(chunks).equals(Buffer.concat(parts)));
});

t.test('a socket whose peer is gone: the stream reports the error, as without the direct write', async (t) => {
  const { out, peer } = await pair(t);
  peer.destroy();
  await once(out, 'end').catch(() => undefined);
  out.on('error', () => {});
  for (let i = 0; i < 50 && !out.destroyed; i++) {
    writeBytes(out, Buffer.alloc(64 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok(out.destroyed, 'the socket ends up closed, through the stream (a failed direct write does not throw)');
});
