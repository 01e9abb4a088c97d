// Running a room, on the screen of the real `chat` (built to dist/) in tmux: the topic in the status line and the
// member pane, operators and away members marked there, an operator's notice in the log, a refusal in words.

import t from 'tap';
import { Peer, server, type Event } from './helpers/wire.js';
import { Tmux } from './helpers/client-tmux.js';

const connected = (lines: string[]) => lines.at(-2)!.includes('| connected |');

async function ask(p: Peer, request: { id: string | number; [field: string]: unknown }): Promise<Event> {
  p.send(request);
  return p.next((e) => e.id === request.id);
}

t.test('the topic shows in the status line and the member pane; operators\' notices, away marks and refusals on screen', async (t) => {
  const { port } = await server(t);
  const alice = await Peer.connect(port);
  t.teardown(() => alice.destroy());
  await ask(alice, { type: 'register', nick: 'alice', password: 'correct horse battery', id: 1 });
  await alice.join('class');
  await ask(alice, { type: 'topic', room: 'class', topic: 'Chapter 3 today', id: 2 });

  const tmux = new Tmux(t);
  const bob = await tmux.chat('bob', ['join', 'class', '--host', '127.0.0.1', '--port', String(port), '--nick', 'bob']);
  await bob.waitFor(connected);
  await bob.waitFor((l) => l.at(-2)!.includes('| Chapter 3 today'), 15000);
  const shown = await bob.waitFor('Topic of class: Chapter 3 today (set by alice)');
  t.ok(shown.some((l) => l.includes('│ @alice')), 'the owner is marked an operator in the member pane');
  t.ok(shown.some((l) => /│ 2 here/.test(l)) && shown.some((l) => /│ Chapter 3/.test(l)), 'the topic heads the member pane (cut to fit)');

  await bob.type('/kick alice');
  await bob.keys('Enter');
  await bob.waitFor('Only the operators of class may kick.');

  await ask(alice, { type: 'mode', room: 'class', change: '-t', id: 3 });
  await bob.waitFor('alice set mode -t on class (topic open to all)');
  await bob.type('/topic Quiz on Friday');
  await bob.keys('Enter');
  await bob.waitFor((l) => l.at(-2)!.includes('| Quiz on Friday'));

  const carol = await Peer.connect(port, '127.0.0.2');
  t.teardown(() => carol.destroy());
  await carol.join('class', 'carol');
  await ask(alice, { type: 'mute', room: 'class', nick: 'carol', duration: 600, reason: 'too loud', id: 4 });
  await bob.waitFor(/alice muted carol \(a guest[^]*for 10m: too loud/);
  await ask(carol, { type: 'away', message: 'lunch', id: 5 });
  await bob.waitFor((l) => l.some((x) => x.includes('│ carol (away)')) && l.some((x) => x.includes('carol is away: lunch')));

  await bob.type('/ignore alice');
  await bob.keys('Enter');
  await bob.waitFor('Ignoring alice');
  await ask(alice, { type: 'msg', room: 'class', text: 'you should not see this', id: 6 });
  await ask(carol, { type: 'back', id: 7 });
  const after = await bob.waitFor('carol is back');
  t.notOk(after.some((l) => l.includes('you should not see this')), 'an ignored nick\'s message is not shown');
});
