// The browser gateway's WebSocket (/ws) and HTTP routes, without a browser: a WebSocket is an ordinary client of
// the same rooms, one JSON message per frame, under the same limits; foreign pages may not open one; files come
// down as attachments, private ones only to their owners. Run on one node and on a cluster (cluster-protocol).

import t from 'tap';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { readdirSync, readFileSync } from 'node:fs';
import { startServerBinary } from './helpers/server-binary.js';
import { backendUnderTest, Peer, peer, server } from './helpers/wire.js';
import { WsPeer, wsPeer } from './helpers/ws-peer.js';
import { contentDisposition } from '../src/server/web/files.js';
import { originAllowed } from '../src/server/web/gateway.js';
import type { ChatServer } from '../src/server/server.js';

/** The web ports of a server's nodes; on a cluster, a test's peers take them in turn. */
function webPorts(nodes: ChatServer[]): () => number {
  let turn = 0;
  return () => nodes[turn++ % nodes.length]!.webAddress!.port;
}

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('a WebSocket is a member like any other: one JSON message per frame, both ways with a TCP peer', async (t) => {
  const { port, nodes } = await server(t, { webPort: 0 });
  const nextWeb = webPorts(nodes);
  const web = await wsPeer(t, nextWeb());
  const tcp = await peer(t, port);
  await web.join('test', 'webby');
  await tcp.join('test', 'tcp');
  await web.next({ type: 'join', nick: 'tcp' });
  tcp.send({ type: 'msg', room: 'test', text: 'from tcp 你好' });
  const heard = await web.next({ type: 'msg', from: 'tcp' });
  t.equal(heard.text, 'from tcp 你好');
  t.match(heard.ts, /^\d{4}-\d\d-\d\dT/, 'with a time');
  // A pretty-printed request (line breaks as JSON white space) is still one message.
  web.sendText('{\n  "type": "msg",\n  "room": "test",\n  "text": "from the web\\nline two"\n}');
  t.equal((await tcp.next({ type: 'msg', from: 'webby' })).text, 'from the web\nline two');
  for (const frame of web.textFrames) t.doesNotThrow(() => JSON.parse(frame), 'each text frame is one JSON object');
  t.notOk(web.textFrames.some((frame) => frame.includes('\n')), 'no frame holds a line break');
  web.sendText('not json');
  t.equal((await web.next({ type: 'error' })).code, 'bad_json', 'a bad frame gets a typed error');
  web.send({ type: 'ping', id: 7 });
  t.same((await web.next({ type: 'pong' })).id, 7, 'and the connection lives on');
});

t.test('files over the WebSocket: the upload body in binary frames, a download comes back as file_data then binary frames', async (t) => {
  const { port, nodes } = await server(t, { webPort: 0 });
  const nextWeb = webPorts(nodes);
  const web = await wsPeer(t, nextWeb());
  const tcp = await peer(t, port);
  await web.join('test', 'webby');
  await tcp.join('test', 'tcp');
  const body = Buffer.from('x'.repeat(100_000) + '文件\n');
  web.send({ type: 'upload', room: 'test', name: 'notes.txt', size: body.length, id: 'u' });
  web.sendBytes(body.subarray(0, 65536));
  web.sendBytes(body.subarray(65536));
  const ok = await web.next({ type: 'ok', id: 'u' });
  const shared = await tcp.next({ type: 'file', name: 'notes.txt' });
  t.equal(shared.file, ok.file);
  t.equal(shared.sha256, createHash('sha256').update(body).digest('hex'));
  web.send({ type: 'download', file: ok.file, id: 'd' });
  const header = await web.next({ type: 'file_data', id: 'd' });
  t.equal(header.length, body.length);
  web.send({ type: 'ping', id: 'after' });
  await web.next({ type: 'pong', id: 'after' });
  t.ok(Buffer.concat(web.binary).equals(body), 'the bytes came in binary frames, and line mode resumed after them');
});

t.test('a WebSocket from a foreign page is refused; the page\'s own origin and scripts without Origin are let in', async (t) => {
  const { nodes } = await server(t, { webPort: 0 });
  const webPort = nodes[0]!.webAddress!.port;
  await t.rejects(WsPeer.connect(webPort, { origin: 'http://evil.example' }), /HTTP 403/);
  await t.rejects(WsPeer.connect(webPort, { origin: `http://127.0.0.1:${webPort + 1}` }), /HTTP 403/, 'another port is another origin');
  await t.rejects(WsPeer.connect(webPort, { origin: `https://127.0.0.1:${webPort}` }), /HTTP 403/, 'another scheme too');
  await t.rejects(WsPeer.connect(webPort, { origin: 'null' }), /HTTP 403/, 'a sandboxed page');
  const own = await wsPeer(t, webPort);
  own.send({ type: 'ping', id: 1 });
  await own.next({ type: 'pong' });
  const script = await wsPeer(t, webPort, { origin: null });
  script.send({ type: 'ping', id: 2 });
  await script.next({ type: 'pong' });
  t.equal(originAllowed('http://chat.example:8080', 'CHAT.example:8080', false), true, 'hosts compare case-insensitively');
  t.equal(originAllowed('http://chat.example:8080', 'chat.example:8080', true), false, 'a TLS gateway wants https pages');
});

t.test('the per-address limits count the browser\'s own address, across TCP and WebSockets', async (t) => {
  const { port, nodes } = await server(t, { webPort: 0, maxConnectionsPerAddress: 2 });
  const webPort = nodes[0]!.webAddress!.port;
  const first = await wsPeer(t, webPort);
  first.send({ type: 'ping' });
  await first.next({ type: 'pong' });
  const tcp = await peer(t, port);
  tcp.send({ type: 'ping' });
  await tcp.next({ type: 'pong' });
  if (backendUnderTest === 'local') {
    const third = await wsPeer(t, webPort);
    const bye = await third.next({ type: 'bye' });
    t.equal(bye.code, 'too_many_connections');
    await third.closed;
  }
  const elsewhere = await wsPeer(t, webPort, { localAddress: '127.0.0.2' });
  elsewhere.send({ type: 'ping', id: 'other host' });
  t.equal((await elsewhere.next({ type: 'pong' })).id, 'other host', 'another address has its own allowance');
});

t.test('HTTP requests and sockets are held to the same limits per address as the TCP port', async (t) => {
  const rated = await server(t, { webPort: 0, rateLimitPerAddress: 5 });
  const ratedPort = rated.nodes[0]!.webAddress!.port;
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await get(ratedPort, '/chat/')).status);
  t.equal(statuses[0], 200, 'the first requests are served');
  t.ok(statuses.includes(429), 'a burst past the address\'s budget gets 429 Too Many Requests');

  const capped = await server(t, { webPort: 0, maxConnectionsPerAddress: 3 });
  const cappedPort = capped.nodes[0]!.webAddress!.port;
  const sockets: { socket: Socket; closed: Promise<void> }[] = [];
  for (let i = 0; i < 5; i++) sockets.push(await openSocket(cappedPort)); // one after another: the server takes them in turn
  t.teardown(() => sockets.forEach(({ socket }) => socket.destroy()));
  // The three let in are served; a socket past 3 from one address is told why, and closed.
  for (const [i, { socket, closed }] of sockets.entries()) {
    const answer = await ask(socket, '/chat/');
    if (i < 3) t.match(answer, /^HTTP\/1\.1 200/, 'a socket within the cap is served');
    else {
      t.match(answer, /^HTTP\/1\.1 503[^]*at most 3 connections from one address/, 'one past the cap is told why');
      await closed;
    }
  }
});

/** Send a GET on a raw socket: the start of the answer ('' when the socket closes without one). */
function ask(socket: Socket, path: string): Promise<string> {
  const answered = new Promise<string>((resolve) => {
    socket.once('data', (data: Buffer) => resolve(data.toString('latin1')));
    socket.once('close', () => resolve(''));
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return answered;
}

t.test('HTTP sockets, WebSockets and TCP connections of one address share its one allowance', async (t) => {
  // (No limit on the pace of new connections here: only their number counts.)
  const { port, nodes } = await server(t, { webPort: 0, maxConnectionsPerAddress: 3, connectRatePerAddress: 0 });
  const webPort = nodes[0]!.webAddress!.port;
  const pages = [await openSocket(webPort), await openSocket(webPort)];
  t.teardown(() => pages.forEach(({ socket }) => socket.destroy()));
  for (const { socket } of pages) t.match(await ask(socket, '/chat/'), /^HTTP\/1\.1 200/, 'two page sockets, kept alive');
  // The same node's TCP port (on a cluster each node keeps its own allowances).
  const tcp = await Peer.connect(port);
  t.teardown(() => tcp.destroy());
  tcp.send({ type: 'ping' });
  await tcp.next({ type: 'pong' });
  const over = await Peer.connect(port);
  t.teardown(() => over.destroy());
  t.match(await over.next({ type: 'bye' }), { code: 'too_many_connections' }, 'the third place was the last: the page\'s sockets hold two');

  // A WebSocket holds one place, its HTTP socket's, not two.
  const allowance = nodes[0]!.addresses.get('127.0.0.1');
  t.equal(allowance.connections, 3);
  pages.pop()!.socket.destroy();
  tcp.destroy();
  while (allowance.connections > 1) await new Promise((resolve) => setTimeout(resolve, 10));
  const ws = await wsPeer(t, webPort);
  ws.send({ type: 'ping', id: 'ws' });
  t.equal((await ws.next({ type: 'pong' })).id, 'ws');
  const third = await Peer.connect(port);
  t.teardown(() => third.destroy());
  third.send({ type: 'ping', id: 'third' });
  t.equal((await third.next({ type: 'pong' })).id, 'third', 'a page socket, a WebSocket and a TCP connection: three');
  const fourth = await wsPeer(t, webPort);
  t.match(await fourth.next({ type: 'bye' }), { code: 'too_many_connections' }, 'a WebSocket past them is told why');
});

function openSocket(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, closed }));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

t.test('the page, its files and its headers: a strict CSP, no room for a path from the request', async (t) => {
  const { nodes } = await server(t, { webPort: 0 });
  const webPort = nodes.at(-1)!.webAddress!.port;
  const entry = await get(webPort, '/chat/');
  t.equal(entry.status, 200);
  t.match(entry.headers['content-type'], /text\/html/);
  t.match(entry.headers['content-security-policy'], /script-src 'self'/);
  t.notMatch(entry.headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
  t.equal(entry.headers['x-content-type-options'], 'nosniff');
  t.notMatch(entry.body.toString(), /<script>|\son\w+=/, 'no inline script in the page');
  t.equal((await get(webPort, '/chat/test/')).status, 200, 'a room');
  t.equal((await get(webPort, '/chat/test')).headers.location, '/chat/test/');
  t.equal((await get(webPort, '/chat/?room=test&nick=%E6%9D%8E')).headers.location, '/chat/test/?nick=%E6%9D%8E', 'the form without script');
  t.equal((await get(webPort, '/chat/?room=a%2F..')).status, 200, 'not a room: the form again');
  t.equal((await get(webPort, '/chat/bad%20room/')).status, 404, 'not a room name');
  t.equal((await get(webPort, '/chat/assets/room.js')).status, 200);
  t.match((await get(webPort, '/chat/assets/room.js')).headers['content-type'], /javascript/);
  t.equal((await get(webPort, '/chat/assets/..%2f..%2fpackage.json')).status, 404, 'no way out of the assets');
  t.equal((await get(webPort, '/chat/assets/emoji.json')).status, 200);
  t.equal(JSON.parse((await get(webPort, '/chat/assets/emoji.json')).body.toString()).smile, '😄');
  t.equal((await get(webPort, '/files/..%2f..%2fetc%2fpasswd')).status, 404);
});

t.test('GET /files/ID: an attachment under a safe name; a private file only with its sender\'s or recipient\'s token', async (t) => {
  const { port, nodes } = await server(t, { webPort: 0 });
  const webPort = nodes[0]!.webAddress!.port;
  const web = await WsPeer.connect(webPort);
  t.teardown(() => web.close());
  web.send({ type: 'hello', nick: 'webby' });
  const { token } = await web.next({ type: 'welcome' });
  await web.join('test');
  const other = await WsPeer.connect(webPort);
  t.teardown(() => other.close());
  other.send({ type: 'hello', nick: 'other' });
  const { token: otherToken } = await other.next({ type: 'welcome' });
  const sender = await peer(t, port);
  sender.send({ type: 'hello', nick: 'sender' });
  await sender.next({ type: 'welcome' });
  await sender.join('test');
  await web.next({ type: 'join', nick: 'sender' });
  const body = Buffer.from('secret 秘密\n');
  const upload = (header: object) => {
    sender.send({ ...header, size: body.length });
    sender.write(body);
  };
  upload({ type: 'upload', to: 'webby', name: '../../evil"name.txt', id: 'p' });
  const privateId = (await sender.next({ type: 'ok', id: 'p' })).file as string;
  await web.next({ type: 'file', file: privateId });

  t.equal((await get(webPort, `/files/${privateId}`)).status, 404, 'no token: it does not exist');
  t.equal((await get(webPort, `/files/${privateId}`, { Authorization: `Bearer ${otherToken}` })).status, 404, 'someone else\'s token: neither');
  t.equal((await get(webPort, `/files/${privateId}`, { Authorization: 'Bearer made-up' })).status, 404);
  const mine = await get(webPort, `/files/${privateId}`, { Authorization: `Bearer ${token}` });
  t.equal(mine.status, 200, 'the recipient\'s token fetches it');
  t.ok(mine.body.equals(body));
  const disposition = mine.headers['content-disposition'] as string;
  t.match(disposition, /^attachment; filename="/);
  t.notMatch(disposition, /[\r\n]|\.\.\/|filename="[^"]*"[^;]*"/, 'no line break, no path, no stray quote');
  t.equal(contentDisposition('../../evil"\r\nname.txt'), 'attachment; filename="_.._evil___name.txt"; filename*=UTF-8\'\'_.._evil%22__name.txt');
  t.equal(contentDisposition('..'), 'attachment; filename="download"; filename*=UTF-8\'\'download');
  t.equal(contentDisposition('照片.jpg'), 'attachment; filename="__.jpg"; filename*=UTF-8\'\'%E7%85%A7%E7%89%87.jpg');

  upload({ type: 'upload', room: 'test', name: 'shared.txt', id: 'r' });
  const roomId = (await sender.next({ type: 'ok', id: 'r' })).file as string;
  const shared = await get(webPort, `/files/${roomId}`);
  t.equal(shared.status, 200, 'a room\'s file by its id, as over TCP');
  t.equal(shared.headers['content-type'], 'application/octet-stream');
  // Once its connection is gone (the room hears it leave), its token opens nothing.
  web.close();
  await sender.next({ type: 'leave', nick: 'webby' });
  t.equal((await get(webPort, `/files/${privateId}`, { Authorization: `Bearer ${token}` })).status, 404, 'a dead connection\'s token opens nothing');
});

t.test('chat-server --web PORT serves the built page beside the TCP port', { skip: backendUnderTest === 'cluster' && 'one binary' }, async (t) => {
  const { child, port } = startServerBinary(t, ['--memory', '--web', '0']);
  const lines = createInterface({ input: child.stderr! });
  const webPort = await new Promise<number>((resolve) =>
    lines.on('line', (line) => {
      const entry = JSON.parse(line);
      if (typeof entry.msg === 'string' && entry.msg.startsWith('web gateway at')) resolve(entry.port);
    }),
  );
  await port;
  const page = await get(webPort, '/chat/test/');
  t.equal(page.status, 200);
  t.match(page.body.toString(), /<script type="module" src="\/chat\/assets\/room.js">/);
  t.equal((await get(webPort, '/chat/assets/room.js')).status, 200, 'from dist/web');
});

t.test('the page never turns text into HTML: no innerHTML, outerHTML, insertAdjacentHTML or document.write in src/web', async (t) => {
  const dir = new URL('../src/web/', import.meta.url);
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts'))) {
    t.notMatch(readFileSync(new URL(name, dir), 'utf8'), /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, name);
  }
});
