// What a `since` resume brings besides the messages missed (docs/protocol.md "Conversations"): the edits, deletions
// and reactions made meanwhile to messages the client had already, as change events marked `"history":true`,
// bounded by the reply's bytes; and reactions to files shared in a room. Run against one node and
// (cluster-protocol.test.ts) two nodes on one Redis, the peers spread over both.

import t from 'tap';
import { createHash } from 'node:crypto';
import { peer, server, type Event, type Peer } from './helpers/wire.js';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

async function say(p: Peer, room: string, text: string): Promise<number> {
  const ok = await ask(p, { type: 'msg', room, text, id: `say ${text}` });
  if (ok.type !== 'ok') throw new Error(`not sent: ${JSON.stringify(ok)}`);
  return ok.seq;
}

async function done(p: Peer, request: { id: string; [field: string]: unknown }): Promise<void> {
  const reply = await ask(p, request);
  if (reply.type !== 'ok') throw new Error(`refused: ${JSON.stringify(reply)}`);
}

/** The change events of a join's reply (before its banner). */
const changesIn = (reply: Event[]) => reply.filter((e) => e.type === 'edit' || e.type === 'delete' || e.type === 'react');

t.test('a since resume brings the edits, deletions and reactions made meanwhile to the messages it had', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  const typo = await say(alice, 'test', 'helo');
  const oops = await say(alice, 'test', 'wrong room');
  const lunch = await say(alice, 'test', 'lunch?');
  const taken = await say(alice, 'test', 'taken back');
  // bob saw these four, then went away.
  const bob = await peer(t, port);
  const first = await bob.join('test', 'bob');
  t.same(first.filter((e) => e.type === 'msg').map((e) => e.seq), [typo, oops, lunch, taken]);
  t.same(changesIn(first), [], 'a first join has no changes to catch up on');
  bob.destroy();

  await done(alice, { type: 'edit', room: 'test', seq: typo, text: 'hello', id: 'e1' });
  await done(alice, { type: 'delete', room: 'test', seq: oops, id: 'd1' });
  await done(alice, { type: 'react', room: 'test', seq: lunch, emoji: '👍', id: 'r1' });
  await done(alice, { type: 'react', room: 'test', seq: taken, emoji: '🎉', id: 'r2' });
  await done(alice, { type: 'react', room: 'test', seq: taken, emoji: '🎉', id: 'r3' });
  const later = await say(alice, 'test', 'new one');
  await done(alice, { type: 'edit', room: 'test', seq: later, text: 'new one!', id: 'e2' });

  const back = await peer(t, port);
  const reply = await back.join('test', 'bob2', { since: taken });
  const missed = reply.filter((e) => e.type === 'msg');
  t.same(missed.map((e) => [e.seq, e.text, e.edited]), [[later, 'new one!', true]], 'the message missed, as it is now');
  const changes = changesIn(reply);
  t.ok(changes.every((e) => e.history === true), 'marked as history');
  t.match(changes.find((e) => e.type === 'edit' && e.seq === typo), { room: 'test', text: 'hello' });
  t.ok(changes.some((e) => e.type === 'delete' && e.seq === oops));
  t.same(changes.find((e) => e.type === 'react' && e.seq === lunch)?.reactions, [{ emoji: '👍', count: 1 }]);
  t.same(changes.find((e) => e.type === 'react' && e.seq === taken)?.reactions, [], 'a reaction taken back: the tally is empty now');
  t.notOk(changes.some((e) => e.seq === later), 'a replayed message carries its own state');
  t.notOk(changes.some((e) => e.seq === oops && e.type !== 'delete'), 'a deleted message: only its deletion');
  t.ok(reply.indexOf(changes.at(-1)!) < reply.findIndex((e) => e.type === 'notice'), 'before the banner');

  // Nothing was changed since: a resume from the newest message brings no changes.
  const quiet = await say(alice, 'test', 'quiet');
  const again = await peer(t, port);
  t.same(changesIn(await again.join('test', 'bob3', { since: quiet })), []);
});

t.test('a resume sends the most recently changed messages that fit in one reply', async (t) => {
  const { port } = await server(t, { replyHistoryBytes: 1500 });
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  const seqs: number[] = [];
  for (let i = 0; i < 20; i++) seqs.push(await say(alice, 'test', `message ${i}`));
  for (const seq of seqs) await done(alice, { type: 'edit', room: 'test', seq, text: `${'x'.repeat(60)} ${seq}`, id: `e${seq}` });
  const back = await peer(t, port);
  const edits = changesIn(await back.join('test', 'bob', { since: seqs.at(-1) })).filter((e) => e.type === 'edit');
  t.ok(edits.length > 0 && edits.length < seqs.length, `some fit (${edits.length})`);
  t.equal(edits.at(-1)!.seq, seqs.at(-1), 'the newest change is among them');
  t.same(edits.map((e) => e.seq), seqs.slice(-edits.length), 'the most recent ones, oldest first');
});

t.test('a file shared in a room takes reactions like a message, but no edit', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  const bob = await peer(t, port);
  await alice.join('test', 'alice');
  await bob.join('test', 'bob');
  const bytes = Buffer.from('hello file\n');
  alice.send({ type: 'upload', room: 'test', name: 'hello.txt', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), id: 'up' });
  alice.write(bytes);
  const ok = await alice.next((e) => e.id === 'up');
  t.equal(ok.type, 'ok');
  const seq = ok.seq as number;
  t.match(await ask(bob, { type: 'react', room: 'test', seq, emoji: '👍', id: 'r' }), { type: 'ok', id: 'r' });
  t.match(await alice.next({ type: 'react' }), { room: 'test', seq, nick: 'bob', emoji: '👍', on: true, reactions: [{ emoji: '👍', count: 1 }] });
  t.match(await ask(alice, { type: 'edit', room: 'test', seq, text: 'renamed', id: 'e' }), { type: 'error', code: 'no_such_message', id: 'e' });
  const page = await ask(bob, { type: 'history', room: 'test', id: 'h' });
  t.match(page.messages.find((r: Event) => r.seq === seq), { type: 'file', name: 'hello.txt', reactions: [{ emoji: '👍', count: 1 }] });
  const reply = await ask(bob, { type: 'msg', room: 'test', text: 'nice file', reply_to: seq, id: 'q' });
  t.equal(reply.type, 'ok', 'a reply to a file quotes its name');
  t.match(await alice.next({ type: 'msg', text: 'nice file' }), { reply: { seq, from: 'alice', text: 'hello.txt' } });
  const carol = await peer(t, port);
  const replayed = (await carol.join('test', 'carol')).find((e) => e.type === 'file');
  t.same(replayed?.reactions, [{ emoji: '👍', count: 1 }], 'a late joiner sees the file with its reactions');
});

t.test('the change log is bounded: changes made --changeable-messages before the newest message are forgotten', async (t) => {
  const { port } = await server(t, { changeableMessages: 5 });
  const alice = await peer(t, port);
  await alice.join('test', 'alice');
  const first = await say(alice, 'test', 'first');
  await done(alice, { type: 'edit', room: 'test', seq: first, text: 'first!', id: 'e1' });
  const resume = async (nick: string) => changesIn(await (await peer(t, port)).join('test', nick, { since: first })).filter((e) => e.type === 'edit');
  t.same((await resume('early')).map((e) => e.seq), [first], 'logged');
  let newest = first;
  for (let i = 0; i < 6; i++) newest = await say(alice, 'test', `more ${i}`);
  await done(alice, { type: 'edit', room: 'test', seq: newest, text: 'newest!', id: 'e2' });
  t.same(await resume('late'), [], 'forgotten once the room moved on by more than the window');
});

t.test('resumes with the same since share what they are told of changes, and a change between two resumes reaches the second', async (t) => {
  const { port } = await server(t);
  const alice = await peer(t, port);
  // On a cluster the two observers are on both nodes: the next resume may come to either.
  const observers = [await peer(t, port), await peer(t, port)];
  await alice.join('test', 'alice');
  const one = await say(alice, 'test', 'one');
  const two = await say(alice, 'test', 'two');
  for (const [i, observer] of observers.entries()) await observer.join('test', `observer${i}`);
  let resumes = 0;
  const resume = async () => changesIn(await (await peer(t, port)).join('test', `back${resumes++}`, { since: two }));
  const changed = async (request: { id: string; [field: string]: unknown }, type: string) => {
    await done(alice, request);
    for (const observer of observers) await observer.next({ type });
  };

  await changed({ type: 'edit', room: 'test', seq: one, text: 'uno', id: 'e1' }, 'edit');
  for (let i = 0; i < 2; i++) t.same((await resume()).map((e) => [e.type, e.seq]), [['edit', one], ['react', one]]);
  await changed({ type: 'react', room: 'test', seq: two, emoji: '👍', id: 'r1' }, 'react');
  for (let i = 0; i < 2; i++) {
    const changes = await resume();
    t.same(changes.map((e) => [e.type, e.seq]), [['edit', one], ['react', one], ['react', two]], 'the change made after the first resumes');
    t.same(changes.at(-1)?.reactions, [{ emoji: '👍', count: 1 }]);
  }
});
