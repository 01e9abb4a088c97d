// TLS (docs/protocol.md "TLS"): plain TCP and TLS on one port, the door's handshake timeout, --plain loopback, the
// certificate `chat-server --tls` makes once, and the client: pinning in known_servers, --tls-ca, the one-shots,
// file transfers and a TUI user on a TLS server. The `openssl s_client` recipe is run by docs.test.ts.

import t, { type Test } from 'tap';
import net from 'node:net';
import type tls from 'node:tls';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { duplexPair, type Duplex } from 'node:stream';
import { ChatServer } from '../src/server/server.js';
import { buildProgram } from '../src/server/cli.js';
import { fingerprint } from '../src/server/tls-cert.js';
import { main } from '../src/client/cli/cli.js';
import { ExitCode } from '../src/client/core/errors.js';
import { connectClient, fakeIo, serve, until } from './helpers/client-harness.js';
import { Tmux } from './helpers/client-tmux.js';
import { SERVER_BIN } from './helpers/server-binary.js';
import { caSignedCert, selfSignedCert } from './helpers/tls.js';
import { Peer } from './helpers/wire.js';

const closed = (socket: net.Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

/** Every line a stream receives until it ends, parsed. */
function linesUntilEnd(stream: Duplex | net.Socket): Promise<Record<string, unknown>[]> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('error', () => {});
    stream.once('end', () => resolve(text.split('\n').filter(Boolean).map((line) => JSON.parse(line))));
  });
}

/** A temporary directory, removed at the end of the test. */
function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('plain TCP and TLS on one port: the two chat together, and each session has its real peer address', async (t) => {
  const cert = await selfSignedCert(t);
  const { server, port } = await serve(t, { tls: cert });
  const secure = await Peer.connectTls(port);
  t.teardown(() => secure.destroy());
  const plain = await Peer.connect(port);
  t.teardown(() => plain.destroy());
  t.equal((secure.socket as tls.TLSSocket).getPeerCertificate().fingerprint256, fingerprint(cert.cert), 'the certificate served');

  await secure.join('test', 'alice');
  await plain.join('test', 'bob');
  plain.send({ type: 'msg', room: 'test', text: 'hi over TCP' });
  t.match(await secure.next({ type: 'msg' }), { from: 'bob', text: 'hi over TCP' });
  secure.send({ type: 'msg', room: 'test', text: 'hi over TLS' });
  t.match(await plain.next({ type: 'msg', from: 'alice' }), { text: 'hi over TLS' });

  const sessions = [...server.sessions];
  t.same(sessions.map((s) => !!(s.stream as tls.TLSSocket).encrypted).sort(), [false, true], 'one plain session, one TLS');
  for (const session of sessions) t.match(session.remote, /^127\.0\.0\.1:\d+$/, 'the peer address, not the stream');
});

t.test('per-address limits count TLS connections by their peer address', async (t) => {
  const { port } = await serve(t, { tls: await selfSignedCert(t), maxConnectionsPerAddress: 1 });
  const first = await Peer.connectTls(port);
  t.teardown(() => first.destroy());
  first.send({ type: 'ping', id: 1 });
  await first.next({ type: 'pong' });
  const second = await Peer.connectTls(port);
  t.teardown(() => second.destroy());
  t.match(await second.next({ type: 'bye' }), { code: 'too_many_connections' }, 'refused over TLS, in words');
});

t.test('a TLS handshake that stalls is closed after --tls-handshake-timeout; a silent connection after --first-line-timeout, with a bye', async (t) => {
  const { port } = await serve(t, { tls: await selfSignedCert(t), tlsHandshakeTimeoutMs: 300, firstLineTimeoutMs: 300 });
  const started = Date.now();
  const silent = net.connect(port, '127.0.0.1');
  const stalled = net.connect(port, '127.0.0.1', () => stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x80, 0x01])));
  for (const socket of [silent, stalled]) socket.on('error', () => {});
  const [told] = await Promise.all([linesUntilEnd(silent), closed(silent), closed(stalled)]);
  t.match(told, [{ type: 'bye', code: 'timeout', reason: 'nothing was said in 0 s' }], 'the silent one is told, as a session would be');
  t.ok(Date.now() - started < 10_000, 'both closed by the server');

  const after = await Peer.connect(port);
  t.teardown(() => after.destroy());
  after.send({ type: 'ping', id: 1 });
  t.match(await after.next({ type: 'pong' }), { id: 1 }, 'and they no longer count against the address');
});

t.test('one allowance per address: plain and TLS connections, at the door or past it, count together', async (t) => {
  const { server, port } = await serve(t, { tls: await selfSignedCert(t), maxConnectionsPerAddress: 3, connectRatePerAddress: 0, tlsHandshakeTimeoutMs: 60_000 });
  const plain = await Peer.connect(port);
  t.teardown(() => plain.destroy());
  plain.send({ type: 'ping', id: 1 });
  await plain.next({ type: 'pong' });
  const secure = await Peer.connectTls(port);
  t.teardown(() => secure.destroy());
  secure.send({ type: 'ping', id: 2 });
  await secure.next({ type: 'pong' });
  // The third is still at the door, silent: it holds the address's last place.
  const silent = net.connect(port, '127.0.0.1');
  silent.on('error', () => {});
  t.teardown(() => silent.destroy());
  await until(() => server.addresses.get('127.0.0.1').connections === 3, 'the silent connection to take its place');

  const overPlain = await Peer.connect(port);
  t.teardown(() => overPlain.destroy());
  overPlain.send({ type: 'ping', id: 3 });
  t.match(await overPlain.next({ type: 'bye' }), { code: 'too_many_connections' }, 'a fourth over TCP is refused, in words');
  const overTls = await Peer.connectTls(port);
  t.teardown(() => overTls.destroy());
  t.match(await overTls.next({ type: 'bye' }), { code: 'too_many_connections' }, 'and over TLS');

  silent.destroy();
  secure.destroy();
  await until(() => server.addresses.get('127.0.0.1').connections === 1, 'the places to be given back');
  const again = [await Peer.connectTls(port), await Peer.connect(port)];
  for (const [i, peer] of again.entries()) {
    t.teardown(() => peer.destroy());
    peer.send({ type: 'ping', id: 10 + i });
    t.match(await peer.next({ type: 'pong' }), { id: 10 + i }, 'places given back at the door and by a session are free again');
  }
});

t.test('one address may have at most --max-per-address connections before their first byte', async (t) => {
  const { port } = await serve(t, { tls: await selfSignedCert(t), maxConnectionsPerAddress: 2, tlsHandshakeTimeoutMs: 60_000 });
  const idle = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
  for (const socket of idle) {
    socket.on('error', () => {});
    t.teardown(() => socket.destroy());
  }
  const third = net.connect(port, '127.0.0.1');
  third.on('error', () => {});
  await closed(third);
  t.notOk(idle.some((socket) => socket.destroyed), 'the first two wait at the door');
});

t.test('--plain loopback: plain TCP from another address gets bye tls_required; TLS from there and plain from loopback come in', async (t) => {
  // Through handleConnection, with stand-in addresses (stream pairs with a remoteAddress, and `encrypted` as a
  // TLSSocket has it).
  const server = new ChatServer({ tls: await selfSignedCert(t), plain: 'loopback' });
  t.teardown(() => server.close());
  const from = (remoteAddress: string, encrypted = false) => {
    const [client, stream] = duplexPair();
    Object.assign(stream, { remoteAddress, ...(encrypted && { encrypted }) });
    t.teardown(() => client.destroy());
    return { client, session: server.handleConnection(stream, `${remoteAddress}:40000`) };
  };
  const outside = from('192.0.2.7');
  t.equal(outside.session, null);
  t.match(await linesUntilEnd(outside.client), [{ type: 'bye', code: 'tls_required', reason: /TLS/ }]);
  t.not(from('192.0.2.7', true).session, null, 'TLS from there comes in');
  t.not(from('127.0.0.5').session, null, 'plain from loopback comes in');
  t.not(from('::1').session, null, 'plain from IPv6 loopback comes in');
  t.equal(from('::ffff:10.0.0.1').session, null, 'an IPv4-mapped outside address is outside');
});

const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

t.test(
  '--plain loopback over real sockets, from this machine\'s non-loopback address',
  { skip: external ? false : 'this machine has no address but loopback' },
  async (t) => {
    const server = new ChatServer({ tls: await selfSignedCert(t), plain: 'loopback' });
    t.teardown(() => server.close());
    const { port } = await server.listen(0, '0.0.0.0');
    const plain = net.connect({ host: external!, port }, () => plain.write('{"type":"ping","id":1}\n'));
    t.match(await linesUntilEnd(plain), [{ type: 'bye', code: 'tls_required' }], `plain TCP from ${external} is refused`);
    const secure = await Peer.connectTls(port, { host: external! });
    t.teardown(() => secure.destroy());
    secure.send({ type: 'ping', id: 2 });
    t.match(await secure.next({ type: 'pong' }), { id: 2 }, `TLS from ${external} is served`);
    const local = await Peer.connect(port);
    t.teardown(() => local.destroy());
    local.send({ type: 'ping', id: 3 });
    t.match(await local.next({ type: 'pong' }), { id: 3 }, 'plain TCP from 127.0.0.1 is served');
  },
);

/** `chat-server --port 0 --log-format json ARGS`: its log entries, and its port once listening. */
function serverBinary(t: Test, args: string[]): { child: ChildProcess; logs: Record<string, any>[]; port: Promise<number> } {
  const child = spawn(process.execPath, [SERVER_BIN, '--port', '0', '--log-format', 'json', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const logs: Record<string, any>[] = [];
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return; // not a log line
      }
      logs.push(entry);
      if (entry.msg === 'listening') resolve(entry.port);
    });
    child.once('exit', (code) => reject(new Error(`chat-server exited with ${code}: ${JSON.stringify(logs)}`)));
  });
  return { child, logs, port };
}

async function servedFingerprint(port: number): Promise<string> {
  const peer = await Peer.connectTls(port);
  const seen = (peer.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
  peer.destroy();
  return seen;
}

t.test('chat-server --tls makes its certificate once in the data dir, logs its fingerprint, and serves it after a restart', async (t) => {
  const dataDir = tempDir(t, 'chat-tls-data-');
  const first = serverBinary(t, ['--tls', '--data-dir', dataDir]);
  const port = await first.port;
  const made = first.logs.find((entry) => entry.fingerprint)!;
  t.match(made, { created: true, cert: join(dataDir, 'tls', 'cert.pem') });
  t.match(made.msg, made.fingerprint, 'the fingerprint is in the message too (the pretty log shows it)');
  t.equal(await servedFingerprint(port), made.fingerprint, 'the one logged is the one a client sees');
  t.equal(statSync(join(dataDir, 'tls', 'key.pem')).mode & 0o777, 0o600, 'the key is readable by the server\'s user only');
  t.equal(fingerprint(readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8')), made.fingerprint);
  const exited = new Promise((resolve) => first.child.once('exit', resolve));
  first.child.kill('SIGTERM');
  await exited;

  const again = serverBinary(t, ['--tls', '--data-dir', dataDir]);
  const portAgain = await again.port;
  t.match(again.logs.find((entry) => entry.fingerprint), { created: false, fingerprint: made.fingerprint }, 'the same certificate');
  t.equal(await servedFingerprint(portAgain), made.fingerprint);
  t.match(again.logs.find((entry) => entry.msg === 'listening'), { tls: true, plain: 'on' });
});

t.test('chat-server --memory --tls makes a certificate for this run; --tls-cert and --tls-key serve yours', async (t) => {
  const memory = serverBinary(t, ['--memory', '--tls']);
  const port = await memory.port;
  t.equal(await servedFingerprint(port), memory.logs.find((entry) => entry.fingerprint)?.fingerprint);

  const signed = await caSignedCert(t);
  const dir = tempDir(t, 'chat-tls-files-');
  writeFileSync(join(dir, 'cert.pem'), signed.cert);
  writeFileSync(join(dir, 'key.pem'), signed.key);
  const own = serverBinary(t, ['--memory', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
  const ownPort = await own.port;
  t.match(own.logs.find((entry) => entry.fingerprint), { fingerprint: fingerprint(signed.cert), created: false });
  t.equal(await servedFingerprint(ownPort), fingerprint(signed.cert));
});

t.test('chat-server refuses TLS flags that cannot work, in words', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--memory', '--plain', 'loopback'], /--plain loopback needs TLS/],
    [['--memory', '--tls-cert', '/nonexistent/cert.pem'], /--tls-cert and --tls-key go together/],
    [['--memory', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], /cannot read the TLS certificate/],
  ];
  for (const [args, message] of cases) {
    const { child, logs, port } = serverBinary(t, args);
    port.catch(() => {});
    const code = await new Promise((resolve) => child.once('exit', resolve));
    t.equal(code, 1, args.join(' '));
    t.match(logs.map((entry) => entry.msg).join('\n'), message);
  }
});

t.test('the client pins a certificate on first use, connects with the pin, and refuses a changed one', async (t) => {
  const [cert, changed] = [await selfSignedCert(t), await selfSignedCert(t)];
  const env = { XDG_CONFIG_HOME: tempDir(t, 'chat-tls-config-') };
  const knownServers = join(env.XDG_CONFIG_HOME, 'chat', 'known_servers');
  const first = await serve(t, { tls: cert });
  const port = first.port;
  const encrypted: boolean[] = [];
  const handle = first.server.handleConnection.bind(first.server);
  first.server.handleConnection = (stream, remote) => {
    encrypted.push(!!(stream as tls.TLSSocket).encrypted);
    return handle(stream, remote);
  };
  const chat = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const io = fakeIo({ ...env, ...extraEnv });
    const code = await main(['node', 'chat', ...args, '--host', '127.0.0.1', '--port', String(port), '--nick', 'alice'], io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  const pinned = await chat(['send', 'test', 'hello', '--tls']);
  t.equal(pinned.code, ExitCode.ok, pinned.stderr);
  t.match(pinned.stderr, `127.0.0.1:${port} is new: its TLS certificate, SHA-256 fingerprint ${fingerprint(cert.cert)}, is now pinned in ${knownServers}`);
  t.match(readFileSync(knownServers, 'utf8'), `\n127.0.0.1:${port} SHA256 ${fingerprint(cert.cert)}\n`);
  t.equal(statSync(knownServers).mode & 0o777, 0o600, 'known_servers is readable by the user only');

  const again = await chat(['send', 'test', 'again', '--tls']);
  t.equal(again.code, ExitCode.ok, again.stderr);
  t.equal(again.stderr, '', 'a pinned server is not announced again');
  t.equal((await chat(['who', 'test'], { CHAT_TLS: '1' })).code, ExitCode.ok, 'CHAT_TLS=1 does what --tls does');

  // File transfers go on connections of their own: over TLS as well.
  const dir = tempDir(t, 'chat-tls-files-');
  writeFileSync(join(dir, 'notes.txt'), 'secret notes\n');
  const sent = await chat(['send-file', 'test', join(dir, 'notes.txt'), '--tls']);
  t.equal(sent.code, ExitCode.ok, sent.stderr);
  const got = await chat(['get', sent.stdout.trim(), '-o', join(dir, 'copy.txt'), '--tls']);
  t.equal(got.code, ExitCode.ok, got.stderr);
  t.equal(readFileSync(join(dir, 'copy.txt'), 'utf8'), 'secret notes\n');
  t.ok(encrypted.length >= 5 && encrypted.every(Boolean), `every connection was TLS (${encrypted.length})`);

  // The same host:port, another certificate.
  await first.server.close();
  await serve(t, { tls: changed }, port);
  const refused = await chat(['send', 'test', 'are you there?', '--tls']);
  t.equal(refused.code, ExitCode.failed);
  for (const words of ['has CHANGED', fingerprint(changed.cert), fingerprint(cert.cert), 'chat-server logged when it started', `remove line 3 (127.0.0.1:${port}) from ${knownServers}`]) {
    t.match(refused.stderr, words);
  }
  t.notMatch(readFileSync(knownServers, 'utf8'), fingerprint(changed.cert), 'the pin is kept');

  // Reset as the message says: remove the line, connect again, and the new certificate is pinned.
  writeFileSync(knownServers, readFileSync(knownServers, 'utf8').split('\n').filter((line, i) => i !== 2).join('\n'));
  const repinned = await chat(['send', 'test', 'hello again', '--tls']);
  t.equal(repinned.code, ExitCode.ok, repinned.stderr);
  t.match(repinned.stderr, fingerprint(changed.cert));
});

t.test('the chat client\'s /send and /get go over TLS too, on connections of their own', async (t) => {
  const { server, port } = await serve(t, { tls: await selfSignedCert(t) });
  const encrypted: boolean[] = [];
  const handle = server.handleConnection.bind(server);
  server.handleConnection = (stream, remote) => {
    encrypted.push(!!(stream as tls.TLSSocket).encrypted);
    return handle(stream, remote);
  };
  const dir = tempDir(t, 'chat-tls-files-');
  const tlsSettings = { knownServers: join(dir, 'known_servers') };
  const alice = await connectClient(t, port, 'alice', ['test'], { tls: tlsSettings });
  const bob = await connectClient(t, port, 'bob', ['test'], { tls: tlsSettings, downloadDir: dir });
  writeFileSync(join(dir, 'plan.txt'), 'the plan\n');
  await alice.submit(`/send ${join(dir, 'plan.txt')}`);
  await alice.transfersDone();
  await until(() => bob.state.room('test')!.entries.find((e) => e.kind === 'file'), 'bob to see the file');
  await bob.submit('/get 1');
  await bob.transfersDone();
  t.equal(readFileSync(join(dir, 'plan (1).txt'), 'utf8'), 'the plan\n');
  t.same(encrypted, [true, true, true, true], 'two chats, an upload and a download: all TLS');
});

t.test('a chat client reconnecting to a server whose certificate changed says why, once, and keeps the pin', async (t) => {
  const [cert, changed] = [await selfSignedCert(t), await selfSignedCert(t)];
  const knownServers = join(tempDir(t, 'chat-tls-config-'), 'known_servers');
  const notes: string[] = [];
  const first = await serve(t, { tls: cert });
  const client = await connectClient(t, first.port, 'alice', ['test'], {
    tls: { knownServers, onPinned: (note) => notes.push(note) },
    backoff: { initialMs: 50, maxMs: 50, jitter: 0 },
  });
  t.equal(notes.length, 1, 'the first connection pinned the certificate');
  await first.server.close();
  await serve(t, { tls: changed }, first.port);
  const texts = () => (client.state.buffer('test')?.entries ?? []).filter((e) => e.kind === 'error').map((e) => e.text);
  await until(() => texts().some((text) => text.includes('has CHANGED')), 'the changed certificate reported in the room');
  const attempt = client.status.attempt ?? 0;
  await until(() => (client.status.attempt ?? 0) >= attempt + 3, 'three more attempts');
  t.equal(texts().filter((text) => text.includes('has CHANGED')).length, 1, 'said once, not at every retry');
  t.equal(client.status.phase, 'reconnecting', 'never connected to it');
  t.equal(notes.length, 1, 'nothing pinned anew');
});

t.test('--tls-ca verifies the server with that CA instead of pinning; a certificate it did not sign is refused', async (t) => {
  const signed = await caSignedCert(t);
  const env = { XDG_CONFIG_HOME: tempDir(t, 'chat-tls-config-') };
  const { port } = await serve(t, { tls: signed });
  const chat = async (port: number, args: string[], extraEnv: Record<string, string> = {}) => {
    const io = fakeIo({ ...env, ...extraEnv });
    const code = await main(['node', 'chat', 'who', 'test', '--host', '127.0.0.1', '--port', String(port), ...args], io);
    return { code, stderr: io.stderr.text };
  };
  const verified = await chat(port, ['--tls-ca', signed.caFile]);
  t.equal(verified.code, ExitCode.ok, verified.stderr);
  t.equal(verified.stderr, '');
  t.equal((await chat(port, [], { CHAT_TLS_CA: signed.caFile })).code, ExitCode.ok, 'CHAT_TLS_CA does the same');
  t.notOk(existsSync(join(env.XDG_CONFIG_HOME, 'chat', 'known_servers')), 'nothing is pinned');

  const other = await serve(t, { tls: await selfSignedCert(t) });
  const refused = await chat(other.port, ['--tls-ca', signed.caFile]);
  t.equal(refused.code, ExitCode.failed);
  t.match(refused.stderr, `the TLS certificate of 127.0.0.1:${other.port} is not trusted with --tls-ca ${signed.caFile}`);
  const missing = await chat(port, ['--tls-ca', '/nonexistent/ca.pem']);
  t.equal(missing.code, ExitCode.usage);
  t.match(missing.stderr, 'cannot read the CA file /nonexistent/ca.pem');
});

t.test('--tls to a server without TLS says so', async (t) => {
  const { port } = await serve(t);
  const io = fakeIo({ XDG_CONFIG_HOME: tempDir(t, 'chat-tls-config-') });
  const code = await main(['node', 'chat', 'who', 'test', '--host', '127.0.0.1', '--port', String(port), '--tls'], io);
  t.equal(code, ExitCode.unavailable);
  t.match(io.stderr.text, /no TLS from 127\.0\.0\.1:\d+ .*--tls/);
});

t.test('a TUI user on a TLS server sees the fingerprint once, then the chat as before', async (t) => {
  const cert = await selfSignedCert(t);
  const { port } = await serve(t, { tls: cert });
  const tmux = new Tmux(t);
  const alice = await tmux.chat('alice', ['join', 'test', '--host', '127.0.0.1', '--port', String(port), '--nick', 'alice', '--tls']);
  await alice.waitFor((lines) => lines.at(-2)!.includes('| connected |'));
  await alice.waitFor(`127.0.0.1:${port} is new: its TLS certificate`);
  t.match(readFileSync(join(tmux.dir, 'chat', 'known_servers'), 'utf8'), fingerprint(cert.cert));

  const bob = await Peer.connectTls(port);
  t.teardown(() => bob.destroy());
  await bob.join('test', 'bob');
  await alice.waitFor('bob joined test');
  bob.send({ type: 'msg', room: 'test', text: 'hello over TLS 你好' });
  await alice.waitFor('<bob> hello over TLS 你好');
  await alice.type('hi bob');
  await alice.keys('Enter');
  t.match(await bob.next({ type: 'msg', from: 'alice' }), { text: 'hi bob' });
});

t.test('every TLS flag is in the help, with its reason', async (t) => {
  const serverHelp = buildProgram().helpInformation();
  for (const flag of ['--tls ', '--tls-cert', '--tls-key', '--plain', '--tls-handshake-timeout']) t.match(serverHelp, flag);
  const io = fakeIo();
  t.equal(await main(['node', 'chat', 'join', '--help'], io), ExitCode.ok);
  for (const words of ['--tls ', '--tls-ca', 'known_servers', 'CHAT_TLS']) t.match(io.stdout.text, words);
});
