// What a search may find (docs/protocol.md "Search"): without `room`, every room the searcher may read, whether it
// is in it now or not, never a closed room it is not in, nor a room that bans it, nor another's private
// conversation; and never a message history retention has dropped (one node: --retain-messages deletes its index
// entries with it; a cluster: what its capped streams no longer hold). Run against one node and
// (cluster-protocol.test.ts) two nodes on one Redis.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatServer } from '../src/server/server.js';
import { SqliteHistoryStore } from '../src/server/storage/sqlite.js';
import { backendUnderTest, peer, server, type Event, type Peer } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

async function withDataDir(t: Parameters<typeof server>[0], options: Parameters<typeof server>[1] = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-search-scope-'));
  const started = await server(t, { dataDir, searchBurst: 20, ...options });
  // Removed after the server has closed (teardowns run in the order they were registered).
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  return started;
}

/** Send every text, and wait for the last one's ok. */
async function say(p: Peer, room: string, ...texts: string[]): Promise<void> {
  texts.forEach((text, i) => p.send({ type: 'msg', room, text, ...(i === texts.length - 1 && { id: `said ${text}` }) }));
  const ok = await p.next((e) => e.id === `said ${texts.at(-1)}`);
  if (ok.type !== 'ok') throw new Error(`not sent: ${JSON.stringify(ok)}`);
}

const found = (reply: Event): string[] => reply.hits.map((hit: Event) => hit.record.text).sort();

t.test('without a room: every room one may read, in it or not; never a closed room, nor one that bans, nor another\'s private messages', async (t) => {
  const { port } = await withDataDir(t);
  const alice = await peer(t, port);
  await ask(alice, { type: 'register', nick: 'alice', password: PASSWORD, id: 'r' });
  const bob = await peer(t, port);
  await ask(bob, { type: 'register', nick: 'bob', password: PASSWORD, id: 'r' });

  await alice.join('plaza');
  await say(alice, 'plaza', 'the open plan');
  await alice.join('left');
  await say(alice, 'left', 'the plan of an empty room');
  await ask(alice, { type: 'leave', room: 'left', id: 'l' }); // nobody is in it now
  await alice.join('club');
  await ask(alice, { type: 'mode', room: 'club', change: '+i', id: 'm' });
  await say(alice, 'club', 'the closed plan');
  await alice.join('bar');
  await ask(alice, { type: 'ban', room: 'bar', nick: 'bob', id: 'b' });
  await say(alice, 'bar', 'the plan bob may not read');
  await ask(alice, { type: 'msg', to: 'alice', text: 'my private plan', id: 'pm' });

  // bob is in no room at all.
  const bobs = await ask(bob, { type: 'search', text: 'plan', limit: 50, id: 's1' });
  t.same(found(bobs), ['the open plan', 'the plan of an empty room'].sort());
  t.same(found(await ask(bob, { type: 'search', text: 'closed', id: 's2' })), [], 'not the closed room');
  t.same(found(await ask(bob, { type: 'search', text: 'private', id: 's3' })), [], 'not another\'s private conversation');

  const guest = await peer(t, port);
  await guest.send({ type: 'hello', nick: 'guest' });
  t.same(found(await ask(guest, { type: 'search', text: 'plan', limit: 50, id: 's4' })), ['the open plan', 'the plan bob may not read', 'the plan of an empty room'].sort(),
    'a guest: the rooms it may read, not the closed one');

  const alices = await ask(alice, { type: 'search', text: 'plan', limit: 50, id: 's5' });
  t.same(found(alices), ['my private plan', 'the closed plan', 'the open plan', 'the plan bob may not read', 'the plan of an empty room'].sort(), 'alice reads all of it');
});

t.test('retention: a message history no longer keeps is not found, and leaves the index', async (t) => {
  if (backendUnderTest === 'local') {
    const { port, server: node } = await withDataDir(t, { retainMessages: 5 });
    const p = await peer(t, port);
    await p.join('kept', 'p');
    await say(p, 'kept', ...Array.from({ length: 12 }, (_, i) => `needle number${i + 1}`));
    t.equal((await ask(p, { type: 'search', text: 'needle', limit: 50, id: 1 })).hits.length, 12, 'indexed');
    const store = (node as ChatServer).historyStore as SqliteHistoryStore;
    store.prune();
    const after = await ask(p, { type: 'search', text: 'needle', limit: 50, id: 2 });
    t.same(after.hits.map((hit: Event) => hit.record.seq), [12, 11, 10, 9, 8], 'only the 5 kept');
    t.equal(after.more, false);
    t.same((await ask(p, { type: 'search', text: 'number1', id: 3 })).hits.map((hit: Event) => hit.record.seq), [12, 11, 10], 'number1 only in 10, 11, 12 now');
    const count = (sql: string) => store.db.prepare(sql).pluck().get() as number;
    t.equal(count("SELECT count(*) FROM search_docs WHERE room = 'kept'"), 5, 'the dropped records are out of the index at once');
    // Their FTS5 rows go in slices behind the writer.
    for (let tries = 0; count('SELECT count(*) FROM search_docs') > 5; tries++) {
      if (tries > 500) throw new Error('the forgotten documents were not purged');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    t.equal(count('SELECT count(*) FROM search_trigram'), 5, 'and their FTS5 rows, later');
    t.equal(count('SELECT count(*) FROM search_pairs'), 5);
    return;
  }
  // A cluster keeps --cluster-history records per room (a capped stream, trimmed in whole blocks of 100).
  const { port } = await server(t, { clusterHistory: 10, rateBurst: 1000, rateLimitPerAddress: 0 });
  const p = await peer(t, port);
  await p.join('kept', 'p');
  await say(p, 'kept', 'the oldest needle', ...Array.from({ length: 299 }, (_, i) => `filler ${i}`), 'the newest needle');
  const reply = await ask(p, { type: 'search', text: 'needle', id: 1 });
  t.same(found(reply), ['the newest needle'], 'the trimmed message is not found');
});
