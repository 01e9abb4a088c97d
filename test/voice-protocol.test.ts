// Voice messages on the wire (docs/protocol.md "Voice messages"): the parser's checks, and the server storing a
// voice message's duration and waveform and announcing them in the `file` event, history and the `files` list,
// under the same privacy rules as files.

import t from 'tap';
import { createHash } from 'node:crypto';
import { parseClientLine, ProtocolError, VOICE_LIMITS } from '../src/protocol/index.js';
import { BytesPeer } from './helpers/bytes-peer.js';
import { nodeFor, server } from './helpers/wire.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const waveform = [0, 12, 80, 200, 255, 190, 60, 3];
const voice = { kind: 'voice', duration_ms: 7040, waveform };

function upload(fields: object): string {
  return JSON.stringify({ type: 'upload', room: 'test', name: 'voice.ogg', size: 10, ...fields });
}

t.test('the parser takes a voice upload and refuses insane metadata with bad_request', async (t) => {
  t.match(parseClientLine(upload(voice)), { type: 'upload', kind: 'voice', duration_ms: 7040, waveform });
  t.notOk('kind' in parseClientLine(upload({})), 'a plain file has no kind');
  const bad: [string, object, RegExp][] = [
    ['another kind', { ...voice, kind: 'video' }, /"kind" must be "voice"/],
    ['no duration', { kind: 'voice', waveform }, /duration_ms/],
    ['a fractional duration', { ...voice, duration_ms: 1.5 }, /duration_ms/],
    ['a zero duration', { ...voice, duration_ms: 0 }, /duration_ms/],
    ['over ten minutes', { ...voice, duration_ms: VOICE_LIMITS.maxDurationMs + 1 }, /duration_ms/],
    ['no waveform', { kind: 'voice', duration_ms: 1000 }, /waveform/],
    ['a waveform without kind', { duration_ms: 1000, waveform }, /"kind"/],
    ['too few slices', { ...voice, waveform: [1, 2, 3] }, /8 to 256/],
    ['too many slices', { ...voice, waveform: new Array(257).fill(1) }, /8 to 256/],
    ['a level over 255', { ...voice, waveform: [...waveform.slice(1), 256] }, /0 to 255/],
    ['a negative level', { ...voice, waveform: [...waveform.slice(1), -1] }, /0 to 255/],
    ['a string level', { ...voice, waveform: [...waveform.slice(1), '9'] }, /0 to 255/],
    ['a waveform that is not an array', { ...voice, waveform: '01234567' }, /array/],
  ];
  for (const [what, fields, message] of bad) {
    t.throws(() => parseClientLine(upload(fields)), { code: 'bad_request', message }, what);
  }
  const big = upload({ ...voice, size: VOICE_LIMITS.maxBytes + 1 });
  t.throws(() => parseClientLine(big), { code: 'bad_request', message: /at most/ }, 'too many bytes for a voice message');
  try {
    parseClientLine(upload({ ...voice, waveform: [] }));
  } catch (error) {
    t.equal((error as ProtocolError).followingBytes, 10, 'a refused voice upload still says how many bytes to skip');
  }
});

async function joined(t: { teardown(fn: () => void): void }, port: number, nick: string, room = 'test') {
  const p = await BytesPeer.connect(nodeFor(port));
  t.teardown(() => p.destroy());
  p.send({ type: 'join', room, nick });
  await p.line((e) => e.type !== 'members');
  return p;
}

function sendUpload(p: BytesPeer, target: object, bytes: Buffer, extra: object) {
  p.socket.write(JSON.stringify({ type: 'upload', ...target, name: 'hi.ogg', size: bytes.length, sha256: sha256(bytes), ...extra }) + '\n');
  p.socket.write(bytes);
}

t.test('a voice message is announced, kept in history and listed with its duration and waveform', async (t) => {
  const { port } = await server(t);
  const alice = await joined(t, port, 'alice');
  const bob = await joined(t, port, 'bob');
  const bytes = Buffer.from('OggS not really opus');
  sendUpload(alice, { room: 'test' }, bytes, voice);
  const ok = await alice.line((e) => e.type !== 'ok' && e.type !== 'error');
  t.match(ok, { type: 'ok', seq: 1 });
  const announced = await bob.line((e) => e.type !== 'file');
  t.match(announced, { type: 'file', room: 'test', from: 'alice', file: ok.file, size: bytes.length, ...voice, seq: 1 });

  bob.send({ type: 'files', room: 'test' });
  const listing = await bob.line((e) => e.type !== 'files');
  t.match(listing.files[0], { file: ok.file, ...voice }, 'the files list carries it');

  bob.send({ type: 'history', room: 'test', limit: 10 });
  const page = await bob.line((e) => e.type !== 'history');
  t.match(page.messages[0], { type: 'file', file: ok.file, ...voice }, 'history carries it');

  const carol = await joined(t, port, 'carol');
  t.ok(carol, 'a late joiner');
  // A refused voice header: its bytes are skipped, the connection goes on.
  sendUpload(alice, { room: 'test' }, bytes, { ...voice, waveform: [1] });
  t.match(await alice.line((e) => e.type !== 'error'), { code: 'bad_request', message: /waveform/ });
  alice.send({ type: 'ping', id: 'after' });
  t.match(await alice.line((e) => e.type !== 'pong'), { id: 'after' }, 'line mode again after the skipped bytes');
});

t.test('a private voice message reaches its two parties only', async (t) => {
  const { port } = await server(t);
  const alice = await joined(t, port, 'alice');
  const bob = await joined(t, port, 'bob');
  const eve = await joined(t, port, 'eve');
  const bytes = Buffer.from('OggS private');
  sendUpload(alice, { to: 'bob' }, bytes, voice);
  const ok = await alice.line((e) => e.type !== 'ok' && e.type !== 'error');
  t.match(ok, { type: 'ok' });
  t.match(await bob.line((e) => e.type !== 'file'), { to: 'bob', from: 'alice', ...voice });
  bob.send({ type: 'files' });
  t.match((await bob.line((e) => e.type !== 'files')).files, [{ file: ok.file, ...voice }]);
  eve.send({ type: 'download', file: ok.file });
  t.match(await eve.line((e) => e.type !== 'error'), { code: 'no_such_file' }, 'not for eve');
});
