// Search (docs/protocol.md "Search"): every word found, Chinese words of two characters too, newest first with the
// records around each hit, filtered by room and sender, bounded in cost, and never a private message of others.
// Run against one node (with a data dir: room history is indexed as it is written) and (cluster-protocol.test.ts)
// two nodes on one Redis.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteHistoryStore } from '../src/server/storage/sqlite.js';
import { backendUnderTest, peer, server, type Event, type Peer } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

async function withDataDir(t: Parameters<typeof server>[0], options: Parameters<typeof server>[1] = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-search-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  return server(t, { dataDir, ...options });
}

async function say(p: Peer, room: string, ...texts: string[]): Promise<void> {
  for (const text of texts) await ask(p, { type: 'msg', room, text, id: `say ${text}` });
}

const texts = (reply: Event) => reply.hits.map((hit: Event) => hit.record.text);

t.test('a Chinese word of two characters is found inside longer text; every word must match; newest first', async (t) => {
  const { port } = await withDataDir(t, { searchBurst: 10 });
  const li = await peer(t, port);
  await li.join('class', 'li');
  await say(li, 'class', '今天的作业很多', '明天考试', 'the exam is tomorrow', '作业写完了 exam');
  const homework = await ask(li, { type: 'search', text: '作业', id: 1 });
  t.same(texts(homework), ['作业写完了 exam', '今天的作业很多'], '作业, newest first');
  t.match(homework.hits[0], { room: 'class', record: { seq: 4, from: 'li' }, before: { text: 'the exam is tomorrow' } });
  t.notOk(homework.hits[0].after, 'nothing after the newest');
  t.match(homework.hits[1], { after: { text: '明天考试' } });
  t.notOk(homework.hits[1].before, 'nothing before the first');
  t.same(texts(await ask(li, { type: 'search', text: '考试', id: 2 })), ['明天考试']);
  t.same(texts(await ask(li, { type: 'search', text: 'EXAM 作业', id: 3 })), ['作业写完了 exam'], 'every word, any case');
  t.same(texts(await ask(li, { type: 'search', text: 'morr', id: 4 })), ['the exam is tomorrow'], 'part of a word');
  t.same(texts(await ask(li, { type: 'search', text: 'is', id: 5 })), ['the exam is tomorrow'], 'a 2-letter word, whole');
  t.same(texts(await ask(li, { type: 'search', text: 'nowhere', id: 6 })), []);
});

t.test('in a room, from a sender; a page of hits says when there are more', async (t) => {
  const { port } = await withDataDir(t);
  const alice = await peer(t, port);
  const bob = await peer(t, port);
  await alice.join('a', 'alice');
  await alice.join('b');
  await bob.join('a', 'bob');
  await say(alice, 'a', 'lunch at noon?', 'lunch again');
  await say(bob, 'a', 'lunch sounds good');
  await say(alice, 'b', 'lunch in b');
  t.same(texts(await ask(alice, { type: 'search', text: 'lunch', room: 'b', id: 1 })), ['lunch in b']);
  t.same(texts(await ask(alice, { type: 'search', text: 'lunch', from: 'BOB', id: 2 })), ['lunch sounds good']);
  const page = await ask(alice, { type: 'search', text: 'lunch', limit: 2, id: 3 });
  t.equal(page.hits.length, 2);
  t.equal(page.more, true);
  const stamps = page.hits.map((hit: Event) => hit.record.ts);
  t.same(stamps, [...stamps].sort().reverse(), 'newest first');
  const all = await ask(alice, { type: 'search', text: 'lunch', id: 4 });
  t.same(texts(all).sort(), ['lunch again', 'lunch at noon?', 'lunch in b', 'lunch sounds good']);
  t.equal(all.more, false);
});

t.test('attack: a search never returns a private message to a third user', async (t) => {
  const { port } = await withDataDir(t);
  const alice = await peer(t, port);
  await ask(alice, { type: 'register', nick: 'alice', password: PASSWORD, id: 'r' });
  const bob = await peer(t, port);
  await ask(bob, { type: 'register', nick: 'bob', password: PASSWORD, id: 'r' });
  await alice.join('lobby');
  await say(alice, 'lobby', 'the public plan');
  await ask(alice, { type: 'msg', to: 'bob', text: 'the secret plan 作业', id: 'pm' });
  await bob.next({ type: 'msg', text: 'the secret plan 作业' });
  await bob.join('lobby'); // a cluster searches the rooms one is in (docs/scale-out.md)
  const eve = await peer(t, port);
  await ask(eve, { type: 'register', nick: 'eve', password: PASSWORD, id: 'r' });
  await eve.join('lobby');
  const guest = await peer(t, port);
  await guest.join('lobby', 'bob2');
  for (const [who, p] of [['eve', eve], ['a guest', guest]] as const) {
    t.same(texts(await ask(p, { type: 'search', text: 'plan', id: `${who} 1` })), ['the public plan'], `${who}: the room only`);
    t.same(texts(await ask(p, { type: 'search', text: 'secret', id: `${who} 2` })), [], `${who}: nothing private`);
    t.same(texts(await ask(p, { type: 'search', text: '作业', from: 'alice', id: `${who} 3` })), []);
  }
  const bobs = await ask(bob, { type: 'search', text: 'plan', id: 'b' });
  // (On a cluster hits of different streams are ordered by their time, which two messages may share.)
  t.same(texts(bobs).sort(), ['the public plan', 'the secret plan 作业'], 'bob finds his own conversation and the room');
  const secret = bobs.hits.find((hit: Event) => hit.record.text === 'the secret plan 作业');
  t.match(secret, { with: 'alice', record: { seq: 1, from: 'alice', to: 'bob' } });
  t.notOk(secret.room);
  const alices = await ask(alice, { type: 'search', text: '作业', id: 'a' });
  t.match(alices.hits, [{ with: 'bob' }], 'named by the other party');
});

t.test('the cost is bounded: words, their length, the text, the rate', async (t) => {
  const { port } = await withDataDir(t, { searchBurst: 2, searchRate: 0.01 });
  const p = await peer(t, port);
  await p.join('test', 'p');
  t.match(await ask(p, { type: 'search', text: 'a b', id: 1 }), { type: 'error', code: 'bad_request' }, 'one-letter words');
  t.match(await ask(p, { type: 'search', text: 'ab cd ef gh ij kl mn op qr', id: 2 }), { type: 'error', code: 'bad_request' }, 'nine words');
  t.match(await ask(p, { type: 'search', text: 'x'.repeat(201), id: 3 }), { type: 'error', code: 'bad_request' }, 'too long');
  t.match(await ask(p, { type: 'search', text: ' ', id: 4 }), { type: 'error', code: 'bad_request' }, 'empty');
  t.match(await ask(p, { type: 'search', text: 'exam', room: 'no spaces', id: 5 }), { type: 'error', code: 'bad_room' });
  t.match(await ask(p, { type: 'search', text: 'exam', id: 6 }), { type: 'error', code: 'rate_limited' }, 'past the burst');
  t.match(await ask(p, { type: 'ping', id: 7 }), { type: 'pong' }, 'the connection lives on');
});

t.test('attack: FTS5 syntax in a search is only text; no query breaks the server', async (t) => {
  const { port } = await withDataDir(t, { searchBurst: 100 });
  const p = await peer(t, port);
  await p.join('test', 'p');
  await say(p, 'test', 'say "hi" NEAR(x y) a*b OR c', 'plain words');
  const weird = ['"hi"', 'NEAR(x', 'a*b', 'OR', '**', '""', '^^', ')(', "'; DROP TABLE records; --", '\\\\', 'a"b', '🇨🇳🇨🇳', '作"业'];
  for (const text of weird) {
    const reply = await ask(p, { type: 'search', text, id: text });
    t.equal(reply.type, 'search', `${JSON.stringify(text)} is searched as text`);
  }
  t.same(texts(await ask(p, { type: 'search', text: 'NEAR(x', id: 'n' })), ['say "hi" NEAR(x y) a*b OR c']);
  t.same(texts(await ask(p, { type: 'search', text: 'a*b', id: 's' })), ['say "hi" NEAR(x y) a*b OR c']);
  t.same(texts(await ask(p, { type: 'search', text: 'plain', id: 'p' })), ['plain words'], 'the index is whole');
});

// One node's SQLite only: a cluster searches Redis's streams, which need no index.
if (backendUnderTest === 'local') t.test('history written before the index existed is indexed at start (an upgraded data dir)', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-search-old-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const old = new SqliteHistoryStore(join(dataDir, 'history.sqlite'));
  for (let seq = 1; seq <= 4500; seq++) {
    old.add({ type: 'msg', room: 'old', from: 'li', text: seq === 4321 ? '旧的作业' : `line ${seq}`, ts: new Date().toISOString(), seq });
  }
  old.close();
  const { port } = await server(t, { dataDir });
  const p = await peer(t, port);
  await p.join('old', 'p');
  const reply = await ask(p, { type: 'search', text: '作业', id: 1 });
  t.match(reply.hits, [{ room: 'old', record: { seq: 4321, text: '旧的作业' }, before: { text: 'line 4320' }, after: { text: 'line 4322' } }]);
});

t.test('what was taken back is not found: a deleted message, or one edited so that it no longer has the words', async (t) => {
  const { port } = await withDataDir(t, { searchBurst: 10 });
  const li = await peer(t, port);
  await li.join('class', 'li');
  await say(li, 'class', 'my password is hunter2', 'homework due friday', 'see you');
  t.same(texts(await ask(li, { type: 'search', text: 'hunter2', id: 1 })), ['my password is hunter2']);
  t.match(await ask(li, { type: 'delete', room: 'class', seq: 1, id: 2 }), { type: 'ok' });
  t.same(texts(await ask(li, { type: 'search', text: 'hunter2', id: 3 })), [], 'deleted: not found');
  t.match(await ask(li, { type: 'edit', room: 'class', seq: 2, text: 'homework due monday', id: 4 }), { type: 'ok' });
  t.same(texts(await ask(li, { type: 'search', text: 'friday', id: 5 })), [], 'edited away: not found');
  const homework = await ask(li, { type: 'search', text: 'homework', id: 6 });
  t.match(homework.hits, [{ record: { seq: 2, text: 'homework due monday', edited: true }, before: { seq: 1, deleted: true, text: '' } }], 'as it reads now, with its neighbours');
});
