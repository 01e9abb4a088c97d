// Thousands of random and mutated lines at a live server; afterwards it must still serve a normal client.

import t from 'tap';
import { peer, server } from './helpers/wire.js';

/** A small deterministic PRNG, so that a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  '{"type":"hello","nick":"fuzz"}',
  '{"type":"join","room":"test","nick":"fz","since":0}',
  '{"type":"msg","room":"test","text":"hello 你好 😀"}',
  '{"type":"msg","to":"target","text":"hi","me":true}',
  '{"type":"leave","room":"test"}',
  '{"type":"nick","nick":"fz2"}',
  '{"type":"who","room":"test"}',
  '{"type":"rooms","id":1}',
  '{"type":"history","room":"test","before":3,"limit":2}',
  '{"type":"ping","id":"x"}',
];
const SPICE = ['"', '\\', '{', '}', '[', ']', ':', ',', 'null', 'true', '-1', '1e309', '\u0000', '\u001b[2J', '\ud800', '你', '😀', '\n', ' '];

function mutate(line: string, rand: () => number): Buffer {
  const chars = [...line];
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (chars.length + 1));
    const choice = rand();
    if (choice < 0.4) chars.splice(at, 1);
    else if (choice < 0.8) chars.splice(at, 0, SPICE[Math.floor(rand() * SPICE.length)]!);
    else chars.splice(at, 1, String.fromCharCode(Math.floor(rand() * 0x3000)));
  }
  return Buffer.from(chars.join('') + '\n');
}

function garbage(rand: () => number): Buffer {
  const bytes = Buffer.alloc(1 + Math.floor(rand() * 300));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
  return bytes;
}

t.test('fuzz: random and mutated lines never crash the server or disturb others', async (t) => {
  const { port, server: chat } = await server(t, { rateLimit: 0, maxLineBytes: 4096 });
  const target = await peer(t, port);
  await target.join('test', 'target');
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100000);
  t.comment(`FUZZ_SEED=${seed}`);
  const rand = random(seed);
  const fuzzers = await Promise.all(Array.from({ length: 8 }, () => peer(t, port)));
  for (let round = 0; round < 5; round++) {
    for (const fuzzer of fuzzers) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < 100; i++) {
        const pick = rand();
        if (pick < 0.6) chunks.push(mutate(VALID[Math.floor(rand() * VALID.length)]!, rand));
        else if (pick < 0.8) chunks.push(garbage(rand));
        else if (pick < 0.85) chunks.push(Buffer.alloc(5000 + Math.floor(rand() * 5000), 0x7b));
        else chunks.push(Buffer.from(VALID[Math.floor(rand() * VALID.length)]! + '\n'));
      }
      const bytes = Buffer.concat(chunks);
      // Deliver in random cuts, so lines and characters are split across chunks.
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(rand() * 700);
        fuzzer.write(bytes.subarray(at, at + size));
        at += size;
      }
    }
    await Promise.all(
      fuzzers.map((fuzzer) => {
        if (fuzzer.socket.destroyed) return undefined;
        fuzzer.write('\n{"type":"ping","id":"round"}\n');
        return fuzzer.next({ type: 'pong', id: 'round' }, 10000);
      }),
    );
  }
  // Some fuzzers quit or hang up mid-line, as hostile clients do.
  fuzzers[0]!.write('{"type":"msg","room":"te');
  fuzzers[0]!.destroy();
  fuzzers[1]!.socket.resetAndDestroy();

  const normal = await peer(t, port);
  const joined = await normal.join('fresh', 'normal');
  t.match(joined[0], { type: 'join', room: 'fresh', nick: 'normal' });
  normal.send({ type: 'msg', room: 'fresh', text: 'still fine' });
  t.match(await normal.next({ type: 'msg' }), { from: 'normal', text: 'still fine', seq: 1 });
  target.send({ type: 'ping', id: 'alive' });
  t.match(await target.next({ type: 'pong', id: 'alive' }), { type: 'pong' });
  t.ok(chat.sessions.size >= 2, 'the server still holds its sessions');
});
