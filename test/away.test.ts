// Away marks (docs/protocol.md "Running a room"): a mark is its principal's, an account's (all its connections) or
// one guest connection's, never a nick's. Run against one node and (cluster-protocol.test.ts) two nodes on one
// Redis, the peers of each test spread over both.

import t from 'tap';
import type { ChatServer } from '../src/server/server.js';
import { peer, server, type Event, type Peer } from './helpers/wire.js';

const PASSWORD = 'correct horse battery';

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

/** Wait until `check` holds, asking again whenever it does not yet. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; !(await check()); tries++) {
    if (tries > 500) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Until the servers have seen every connection but `open` close. */
const connectionsLeft = (nodes: ChatServer[], open: number) =>
  eventually(async () => nodes.reduce((sum, node) => sum + node.sessions.size, 0) === open, `${open} connections left`);

/** Until no mark is kept under `nick` any more (the close path ends it after the connection is gone). */
const noMarkUnder = (nodes: ChatServer[], nick: string) =>
  eventually(async () => (await nodes[0]!.backend.moderation.awayOf([nick]))[0] === null, `no mark under ${nick}`);

async function awayIn(p: Peer, room: string, id: string): Promise<string[]> {
  return (await ask(p, { type: 'who', room, id })).away ?? [];
}

t.test("an account's mark is the account's: set on one connection, seen on all, cleared from any, kept until its last connection leaves", async (t) => {
  const { port, nodes } = await server(t);
  const carol = await peer(t, port);
  await carol.join('class', 'carol');
  const first = await peer(t, port);
  const { token } = await ask(first, { type: 'register', nick: 'alice', password: PASSWORD, id: 'register' });
  await first.join('class');
  const second = await peer(t, port);
  t.match(await ask(second, { type: 'login', token, id: 'login' }), { type: 'ok', account: 'alice' });
  await second.join('class');

  t.match(await ask(first, { type: 'away', message: 'lunch', id: 1 }), { type: 'ok' });
  t.match(await carol.next({ type: 'away' }), { room: 'class', nick: 'alice', away: true, message: 'lunch' });
  t.same(await awayIn(carol, 'class', 'who 1'), ['alice']);
  t.match(await ask(carol, { type: 'msg', to: 'alice', text: 'there?', id: 2 }), { type: 'ok' });
  t.match(carol.received.find((e) => e.type === 'away' && e.room === undefined), { nick: 'alice', message: 'lunch' }, 'the sender is told');

  t.match(await ask(second, { type: 'back', id: 3 }), { type: 'ok' }, 'back from another connection of the account');
  t.match(await carol.next({ type: 'away' }), { room: 'class', nick: 'alice', away: false });
  t.same(await awayIn(carol, 'class', 'who 2'), []);

  t.match(await ask(second, { type: 'away', message: 'gone home', id: 4 }), { type: 'ok' });
  second.destroy();
  await connectionsLeft(nodes, 2);
  // (Asked in private: on a cluster the members list loses a nick that one of its connections on another node left.)
  t.match(await ask(carol, { type: 'msg', to: 'alice', text: 'still there?', id: 5 }), { type: 'ok' });
  t.match(carol.received.findLast((e) => e.type === 'away' && e.room === undefined), { nick: 'alice', message: 'gone home' }, 'the mark outlives the connection that set it');
  first.destroy();
  await connectionsLeft(nodes, 1);
  await noMarkUnder(nodes, 'alice');

  const third = await peer(t, port);
  await ask(third, { type: 'login', token, id: 'login again' });
  await third.join('class');
  t.same(await awayIn(carol, 'class', 'who 4'), [], 'a new connection after the last one left is not away');
});

t.test("an account's mark is news in every room of any of its connections, once per room", async (t) => {
  const { port } = await server(t);
  const carol = await peer(t, port);
  for (const room of ['one', 'two', 'both']) await carol.join(room, 'carol');
  const first = await peer(t, port);
  const { token } = await ask(first, { type: 'register', nick: 'alice', password: PASSWORD, id: 'register' });
  await first.join('one');
  await first.join('both');
  const second = await peer(t, port);
  await ask(second, { type: 'login', token, id: 'login' });
  await second.join('two');
  await second.join('both');

  const news = (away: boolean) => carol.received.filter((e) => e.type === 'away' && e.nick === 'alice' && e.away === away).map((e) => e.room).sort();
  const newsIn3Rooms = async (away: boolean) => {
    while (new Set(news(away)).size < 3) await carol.next({ type: 'away', away });
  };
  t.match(await ask(first, { type: 'away', message: 'lunch', id: 1 }), { type: 'ok' });
  await newsIn3Rooms(true);
  // Each room's events come in order: once back is in every room, any second away in it would have come before.
  t.match(await ask(second, { type: 'back', id: 2 }), { type: 'ok' });
  await newsIn3Rooms(false);
  t.same(news(true), ['both', 'one', 'two'], 'away in each room, once');
  t.same(news(false), ['both', 'one', 'two'], 'back in each room, once');
  t.match(await awayIn(carol, 'two', 'who'), []);
});

t.test("a guest's mark is its connection's: it follows a new nick, and whoever takes the old nick is not away", async (t) => {
  const { port, nodes } = await server(t);
  const carol = await peer(t, port);
  await carol.join('class', 'carol');
  const bob = await peer(t, port);
  await bob.join('class', 'bob');
  t.match(await ask(bob, { type: 'away', message: 'lunch', id: 1 }), { type: 'ok' });
  t.match(await ask(bob, { type: 'nick', nick: 'bobby', id: 2 }), { type: 'ok' });
  await carol.next({ type: 'nick', nick: 'bobby' });
  t.same(await awayIn(carol, 'class', 'who 1'), ['bobby'], 'the mark went with the nick');

  const dave = await peer(t, port);
  await dave.join('class', 'bob');
  t.same(await awayIn(carol, 'class', 'who 2'), ['bobby'], 'the new bob is not away');
  t.match(await ask(carol, { type: 'msg', to: 'bob', text: 'hi bob', id: 3 }), { type: 'ok' });
  t.notOk(carol.received.some((e) => e.type === 'away' && e.room === undefined), 'writing to the new bob tells nothing');
  t.match(await ask(carol, { type: 'msg', to: 'bobby', text: 'hi bobby', id: 4 }), { type: 'ok' });
  t.match(carol.received.find((e) => e.type === 'away' && e.room === undefined), { nick: 'bobby', message: 'lunch' });

  bob.destroy();
  await connectionsLeft(nodes, 2);
  await noMarkUnder(nodes, 'bobby');
  const eve = await peer(t, port);
  await eve.join('class', 'bobby');
  t.same(await awayIn(carol, 'class', 'who 3'), [], 'nor is whoever takes a nick after its holder left');

  t.match(await ask(eve, { type: 'away', id: 5 }), { type: 'ok' });
  t.match(await ask(eve, { type: 'register', nick: 'erin', password: PASSWORD, id: 6 }), { type: 'ok', account: 'erin' });
  t.same(await awayIn(carol, 'class', 'who 4'), [], 'a guest who logs in is someone else: the guest\'s mark ended');
  await noMarkUnder(nodes, 'bobby');
});
