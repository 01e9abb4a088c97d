// `post`: a message to a room without joining it (docs/protocol.md "post"), under every rule of a member's msg;
// and a second connection attached to a user's session posting and messaging as that user.

import t from 'tap';
import { nodeFor, peer, peerAt, server } from './helpers/wire.js';

t.test('post: the members see the message under the poster\'s nick, and no join or leave line', async (t) => {
  const { port } = await server(t);
  const bob = await peer(t, port);
  await bob.join('ops', 'bob');
  const script = await peer(t, port);
  script.send({ type: 'hello', nick: 'deployer' });
  await script.next({ type: 'welcome' });
  script.send({ type: 'post', room: 'Ops', text: 'deploy done', id: 1 });
  const ok = await script.next({ type: 'ok', id: 1 });
  t.equal(ok.seq, 1, 'the ok carries the seq');
  t.match(await bob.next({ type: 'msg' }), { room: 'ops', from: 'deployer', text: 'deploy done', seq: 1 });
  script.end();
  await script.closed;
  bob.send({ type: 'msg', room: 'ops', text: 'thanks', id: 'after' });
  await bob.next({ type: 'ok', id: 'after' });
  t.notOk(bob.received.some((e) => (e.type === 'join' || e.type === 'leave') && e.nick === 'deployer'), 'no join or leave of the poster');
  t.notOk(script.received.some((e) => e.type === 'msg'), 'the poster is not a member: no echo');
});

t.test('post: a room nobody is in is opened, and keeps the message for those who join later', async (t) => {
  const { port } = await server(t);
  const script = await peer(t, port);
  script.send({ type: 'post', room: 'later', text: 'first', id: 'p' });
  t.match(await script.next({ type: 'ok', id: 'p' }), { seq: 1 });
  const carol = await peer(t, port);
  const lines = await carol.join('later', 'carol');
  t.match(lines.find((e) => e.type === 'msg'), { text: 'first', from: /^guest-/, history: true }, 'a poster without a nick posts as a guest');
});

t.test('post obeys the rules of msg: names, size, flood control, the room table', async (t) => {
  const { port } = await server(t, { maxTextChars: 10, rateLimit: 1, rateBurst: 6, maxRoomsPerAddress: 1 });
  const a = await peer(t, port);
  const cases: [object, string][] = [
    [{ type: 'post', room: 'bad room', text: 'hi' }, 'bad_room'],
    [{ type: 'post', room: 'ok' }, 'bad_request'],
  ];
  for (const [line, code] of cases) {
    a.send(line);
    t.match(await a.next({ type: 'error' }), { code }, code);
  }
  a.send({ type: 'msg', room: 'ok', text: 'x'.repeat(11) });
  const msgTooLong = await a.next({ type: 'error' });
  a.send({ type: 'post', room: 'ok', text: 'x'.repeat(11) });
  t.equal((await a.next({ type: 'error' })).code, msgTooLong.code, 'a text over --max-text is refused as a msg is');
  a.send({ type: 'post', room: 'one', text: 'hi', id: 'one' });
  await a.next({ type: 'ok', id: 'one' });
  a.send({ type: 'post', room: 'two', text: 'hi', id: 'two' });
  t.match(await a.next({ type: 'error', id: 'two' }), { code: 'too_many_rooms' }, 'rooms it opens count against its address');
  a.write('{"type":"post","room":"one","text":"flood"}\n'.repeat(4));
  t.match(await a.next({ type: 'error', code: 'rate_limited' }), { code: 'rate_limited' });
});

t.test('an attached connection posts and sends private messages as the user it attached to', async (t) => {
  const { port } = await server(t);
  const node = nodeFor(port); // both connections on the same node (another node: tokens.test.ts)
  const alice = await peerAt(t, node);
  alice.send({ type: 'hello', nick: 'alice' });
  const { token } = await alice.next({ type: 'welcome' });
  await alice.join('test');
  const bob = await peer(t, port);
  await bob.join('test', 'bob');
  const script = await peerAt(t, node);
  script.send({ type: 'attach', token, id: 'a' });
  t.match(await script.next({ type: 'welcome', id: 'a' }), { nick: 'alice' });
  script.send({ type: 'post', room: 'test', text: 'from my script', id: 'p' });
  await script.next({ type: 'ok', id: 'p' });
  t.match(await bob.next({ type: 'msg', text: 'from my script' }), { from: 'alice' });
  t.match(await alice.next({ type: 'msg', text: 'from my script' }), { from: 'alice' }, 'the user sees it in the room');
  script.send({ type: 'msg', to: 'bob', text: 'psst', id: 'm' });
  await script.next({ type: 'ok', id: 'm' });
  t.match(await bob.next({ type: 'msg', text: 'psst' }), { to: 'bob', from: 'alice' });
  t.match(await alice.next({ type: 'msg', text: 'psst' }), { to: 'bob', from: 'alice' }, "the user's window gets the sender's copy");
  t.notOk(bob.received.some((e) => e.type === 'join' && e.nick !== 'bob' && e.nick !== 'alice'), 'no guest joined');
});
