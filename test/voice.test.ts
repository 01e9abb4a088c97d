// Voice messages end to end, without a microphone: espeak-ng speaks into a WAV, `chat send-voice` (or /voice through
// a recorder script that "records" that WAV) encodes and sends it, and `chat play` (or /play) hands the downloaded
// file to a player script that notes what it got.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/client/cli/cli.js';
import { ExitCode } from '../src/client/core/errors.js';
import { isOggOpus, readWav, waveform } from '../src/client/core/voice/wav.js';
import { plainLine } from '../src/client/view/format.js';
import { recordingLine, sparkline, voiceLine } from '../src/client/view/voice-line.js';
import type { FileEvent } from '../src/protocol/index.js';
import { BytesPeer } from './helpers/bytes-peer.js';
import { connectClient, fakeIo, serve, until } from './helpers/client-harness.js';
import { Tmux } from './helpers/client-tmux.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const work = mkdtempSync(join(tmpdir(), 'chat-voice-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** About three seconds of speech. */
const speech = join(work, 'speech.wav');
execFileSync('espeak-ng', ['-w', speech, 'Hello, this is a voice message from the chat tests.']);
const speechSeconds = Number(execFileSync('soxi', ['-D', speech]).toString().trim());

/** A player that notes the path it was given (and a copy of the file) and exits. */
const played = join(work, 'played.txt');
const player = join(work, 'player.sh');
writeFileSync(player, `#!/bin/sh\nfor last; do :; done\necho "$last" >> "${played}"\ncp "$last" "${played}.copy"\n`);
chmodSync(player, 0o755);

/** A recorder that "records" the speech: copies it to the path it gets last, then waits for SIGINT. */
const recorder = join(work, 'recorder.sh');
writeFileSync(recorder, `#!/bin/sh\nfor last; do :; done\ntrap 'exit 0' INT\ncp "${speech}" "$last"\nwhile :; do sleep 0.05; done\n`);
chmodSync(recorder, 0o755);

async function fetchBytes(port: number, file: string): Promise<Buffer> {
  const peer = await BytesPeer.connect(port);
  try {
    peer.send({ type: 'download', file });
    const header = await peer.line((e) => e.type !== 'file_data' && e.type !== 'error');
    if (header.type === 'error') throw new Error(header.message);
    return await peer.bytes(header.length);
  } finally {
    peer.destroy();
  }
}

function collectFiles(events: FileEvent[]): (line: string) => void {
  return (line) => {
    const event = JSON.parse(line) as FileEvent;
    if (event.type === 'file') events.push(event);
  };
}

function lastVoice(events: FileEvent[]): FileEvent {
  return events.filter((e) => e.kind === 'voice').at(-1)!;
}

t.test('the waveform is the peak of each slice', async (t) => {
  const wav = readWav(readFileSync(speech))!;
  const levels = waveform(wav, 16);
  t.equal(levels.length, 16);
  t.ok(levels.every((l) => Number.isInteger(l) && l >= 0 && l <= 255));
  t.ok(Math.max(...levels) > 50, 'speech is loud somewhere');
  const silence = Buffer.alloc(44 + 4800 * 2);
  silence.write('RIFF', 0, 'latin1');
  silence.write('WAVEfmt ', 8, 'latin1');
  silence.writeUInt32LE(16, 16);
  silence.writeUInt16LE(1, 20);
  silence.writeUInt16LE(1, 22);
  silence.writeUInt32LE(48000, 24);
  silence.writeUInt16LE(16, 34);
  silence.write('data', 36, 'latin1');
  silence.writeUInt32LE(0, 40); // a recorder stopped before fixing its header
  t.same(waveform(readWav(silence)!, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
});

t.test('chat send-voice sends Ogg/Opus with its duration and waveform; chat play plays the downloaded file', async (t) => {
  const { port } = await serve(t);
  const events: FileEvent[] = [];
  const bob = await connectClient(t, port, 'bob', ['test'], { onRawLine: collectFiles(events) });
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1', CHAT_VOICE_CACHE: join(work, 'cache'), CHAT_PLAYER: player, PATH: process.env.PATH };
  const io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send-voice', 'test', speech, '--nick', 'alice'], io), ExitCode.ok, io.stderr.text);
  const id = io.stdout.text.trim();
  t.match(io.stderr.text, /sent a voice message of 0:0\d \(Opus, /);
  await until(() => events.length > 0, 'bob to hear of it');
  const event = lastVoice(events);
  t.equal(event.file, id);
  t.match(event.name, /^voice-.*\.opus$/);
  t.ok(Math.abs(event.duration_ms! / 1000 - speechSeconds) < 0.1, `duration ${event.duration_ms} ms is sox's ${speechSeconds} s`);
  t.equal(event.waveform!.length, 64, 'the waveform has the announced length');
  const bytes = await fetchBytes(port, id);
  t.ok(isOggOpus(bytes), 'OggS, then OpusHead');
  t.equal(event.size, bytes.length);
  t.ok(bytes.length < readFileSync(speech).length / 4, 'Opus is much smaller than the WAV');
  const shown = await until(() => bob.state.room('test')!.entries.find((e) => e.voice), 'bob to show it');
  t.match(shown, { kind: 'file', from: 'alice', voice: { durationMs: event.duration_ms, waveform: event.waveform } });

  const playIo = fakeIo(env);
  t.equal(await main(['node', 'chat', 'play', id, '--nick', 'carol'], playIo), ExitCode.ok, playIo.stderr.text);
  const path = readFileSync(played, 'utf8').trim();
  t.ok(path.startsWith(join(work, 'cache')), 'played from the cache');
  t.equal(sha256(readFileSync(`${played}.copy`)), sha256(bytes), 'the player got the very bytes sent');
  // Played again: from the cache, not downloaded again; the player named in the config file this time.
  rmSync(played);
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({ nick: 'carol', player }));
  const again = fakeIo({ ...env, CHAT_PORT: '1', CHAT_PLAYER: undefined, CHAT_CONFIG: config });
  t.equal(await main(['node', 'chat', 'play', id, '--nick', 'carol'], again), ExitCode.ok, again.stderr.text);
  t.equal(readFileSync(played, 'utf8').trim(), path, 'the cached copy, with no server to ask');
});

t.test('chat send-voice reads stdin, sends privately with --to, and sends WAV when no encoder is here', async (t) => {
  const { port } = await serve(t);
  const events: FileEvent[] = [];
  const bob = await connectClient(t, port, 'bob', ['test'], { onRawLine: collectFiles(events) });
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1', CHAT_NICK: 'alice', PATH: '/nonexistent' };
  const io = fakeIo(env);
  io.stdin.end(readFileSync(speech));
  t.equal(await main(['node', 'chat', 'send-voice', '--to', 'bob', '-'], io), ExitCode.ok, io.stderr.text);
  t.match(io.stderr.text, /No Opus encoder .* sending WAV/);
  await until(() => events.length > 0, 'bob to get it');
  t.match(lastVoice(events), { to: 'bob', from: 'alice', kind: 'voice', name: /\.wav$/ });
  t.ok(Math.abs(lastVoice(events).duration_ms! / 1000 - speechSeconds) < 0.1);
});

t.test('chat play without any player, and send-voice of a file that is not audio, exit 1 and say why', async (t) => {
  const { port } = await serve(t);
  const env = { CHAT_PORT: String(port), CHAT_HOST: '127.0.0.1', CHAT_NICK: 'alice', PATH: '/nonexistent' };
  let io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'play', 'AAAAAAAAAAAAAAAAAAAAAA'], io), ExitCode.failed);
  t.match(io.stderr.text, /no audio player found .*install sox/);
  io = fakeIo({ ...env, CHAT_PLAYER: 'no-such-player --loud' });
  t.equal(await main(['node', 'chat', 'play', 'AAAAAAAAAAAAAAAAAAAAAA'], io), ExitCode.failed);
  t.match(io.stderr.text, /CHAT_PLAYER names no-such-player, which is not installed/);
  io = fakeIo({ ...env, PATH: process.env.PATH, CHAT_PLAYER: 'false', CHAT_VOICE_CACHE: join(work, 'false-cache') });
  const sent = fakeIo({ ...env, PATH: process.env.PATH });
  t.equal(await main(['node', 'chat', 'send-voice', 'test', speech], sent), ExitCode.ok, sent.stderr.text);
  t.equal(await main(['node', 'chat', 'play', sent.stdout.text.trim()], io), ExitCode.failed);
  t.match(io.stderr.text, /the player false failed \(exit code 1\); is there a sound device\?/);
  const text = join(work, 'notes.txt');
  writeFileSync(text, 'not audio at all\n');
  io = fakeIo(env);
  t.equal(await main(['node', 'chat', 'send-voice', 'test', text], io), ExitCode.failed);
  t.match(io.stderr.text, /cannot read .*notes\.txt.*neither ffmpeg nor sox/);
});

t.test('a voice message is drawn as ▶ m:ss and a sparkline; the recording as ● REC and a meter', async (t) => {
  t.equal(sparkline([0, 10, 40, 80, 120, 160, 200, 255]), '▁▁▂▃▄▅▆█');
  t.equal(sparkline(new Array(64).fill(0).map((_, i) => (i < 32 ? 0 : 255))), '▁▁▁▁▁▁▁▁████████', 'the loudest of each bar');
  t.equal(voiceLine({ durationMs: 7400, waveform: [0, 10, 40, 80, 120, 160, 200, 255], number: 2 }), '▶ 0:07 ▁▁▂▃▄▅▆█ #2');
  t.equal(voiceLine({ durationMs: 7500, waveform: new Array(8).fill(9) }), '▶ 0:08 ████████', 'rounded to the nearest second');
  t.equal(recordingLine(3900, 0.5), '● REC 0:03 ████░░░░ Enter sends, Esc cancels');
});

t.test('/voice records through CHAT_RECORDER and sends on finish, Escape cancels; /play plays the latest, /stop stops', async (t) => {
  const { port } = await serve(t);
  const cache = join(work, 'core-cache');
  const voice = { env: { ...process.env, CHAT_RECORDER: recorder, CHAT_PLAYER: player, CHAT_VOICE_CACHE: cache } };
  const events: FileEvent[] = [];
  const alice = await connectClient(t, port, 'alice', ['test'], { voice });
  const bob = await connectClient(t, port, 'bob', ['test'], { voice, onRawLine: collectFiles(events) });

  await alice.submit('/voice');
  const recording = alice.voice.recording!;
  t.ok(recording, 'recording');
  await until(() => existsSync(recording.path), 'the recorder to write');
  await alice.submit('/voice');
  t.match(alice.state.active.entries.at(-1), { kind: 'error', text: /Already recording/ });
  await alice.voice.finish();
  t.equal(alice.voice.recording, null);
  const entry = await until(() => bob.state.room('test')!.entries.find((e) => e.voice), 'bob to see it');
  const line = plainLine(entry, bob.state.room('test')!, false);
  t.match(line, /^\[\d\d:\d\d:\d\d\] <alice> ▶ 0:03 [▁▂▃▄▅▆▇█]{16} #1$/, 'the ▶ line with sender and time');
  const event = lastVoice(events);
  t.ok(Math.abs(event.duration_ms! / 1000 - speechSeconds) < 0.1, 'the duration is sox\'s');
  t.equal(event.waveform!.length, 64);
  const bytes = await fetchBytes(port, event.file);
  t.ok(isOggOpus(bytes), 'Ogg/Opus');

  await alice.submit('/voice');
  await alice.voice.cancel();
  t.match(alice.state.active.entries.at(-1), { kind: 'info', text: 'The voice message was not sent.' });

  const broken = await connectClient(t, port, 'carol', ['test'], { voice: { env: { ...process.env, CHAT_RECORDER: 'false' } } });
  await broken.submit('/voice');
  await until(() => broken.voice.recording === null, 'the recorder to end by itself');
  t.match(broken.state.active.entries.at(-1), { kind: 'error', text: /^Not recording: false stopped by itself \(exit code 1\); is there a microphone\?/ });
  // Joins reach the room in the server's presence passes: carol's must not land between the cancel and the check.
  await until(() => alice.state.room('test')!.entries.some((e) => e.kind === 'join' && e.text.includes('carol')), 'alice to see carol join');
  await alice.submit('/voice');
  await alice.voice.cancel();
  t.match(alice.state.active.entries.at(-1), { kind: 'info', text: 'The voice message was not sent.' });

  rmSync(played, { force: true });
  await bob.submit('/play');
  await bob.voice.done();
  t.equal(sha256(readFileSync(`${played}.copy`)), sha256(bytes), '/play ran the player on the downloaded file');
  t.ok(readFileSync(played, 'utf8').trim().startsWith(cache), 'from the cache');
  t.ok(bob.state.room('test')!.entries.some((e) => /^Playing #1 \(0:03\) from alice/.test(e.text)));
  await bob.submit('/play 7');
  t.match(bob.state.active.entries.at(-1), { kind: 'error', text: 'There is no file #7 here.' });
  await bob.submit('/stop');
  t.match(bob.state.active.entries.at(-1), { kind: 'info', text: 'Nothing is playing.' });
  await alice.voice.done();
  t.equal(events.filter((e) => e.kind === 'voice').length, 1, 'the cancelled one was never sent');
});

t.test('in the TUI: /voice shows ● REC, Enter sends, the other side shows ▶, /play plays it', async (t) => {
  const { port } = await serve(t);
  const tmux = new Tmux(t);
  const cache = join(work, 'tui-cache');
  const env = { CHAT_RECORDER: recorder, CHAT_PLAYER: player, CHAT_VOICE_CACHE: cache };
  const args = (nick: string) => ['join', 'test', '--host', '127.0.0.1', '--port', String(port), '--nick', nick];
  const connected = (lines: string[]) => lines.at(-2)!.includes('| connected |');
  const alice = await tmux.chat('alice', args('alice'), undefined, env);
  const bob = await tmux.chat('bob', args('bob'), undefined, env);
  await alice.waitFor(connected);
  await bob.waitFor(connected);
  await alice.type('/voice');
  await alice.keys('Enter');
  await alice.waitFor((lines) => /● REC 0:0\d [█░]{8}/.test(lines.at(-2)!));
  await alice.keys('Enter');
  const lines = await bob.waitFor(/<alice> ▶ 0:03 [▁▂▃▄▅▆▇█]{16} #1/);
  t.match(lines.join('\n'), /\d\d:\d\d <alice> ▶ 0:03/, 'with the time and the sender');
  await alice.waitFor((l) => !l.at(-2)!.includes('● REC'));
  rmSync(played, { force: true });
  await bob.type('/play');
  await bob.keys('Enter');
  await bob.waitFor('Playing #1 (0:03) from alice');
  await until(() => {
    try {
      return readFileSync(played, 'utf8').trim().startsWith(cache);
    } catch {
      return false;
    }
  }, 'the player to run', 10000);
});
