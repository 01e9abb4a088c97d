// The naive floor: what a first-day Node chat server does. It relays join and room msg of the chat protocol,
// serialises each event once and calls socket.write() once per member per message. No validation, no limits,
// no history, no flow control. The benchmark compares the real server against this (and against Redis).
// Run: node dist/bench/floor-server.js [--port N]; prints {"port":N} on stdout when listening.

import net from 'node:net';

const rooms = new Map<string, Set<net.Socket>>();

function broadcast(room: string, event: object): void {
  const members = rooms.get(room);
  if (!members) return;
  const line = JSON.stringify(event) + '\n';
  for (const member of members) member.write(line);
}

const server = net.createServer({ noDelay: true }, (socket) => {
  let nick = '';
  let buffered = '';
  const joined = new Set<string>();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let m: { type?: string; room?: string; nick?: string; text?: string };
      try {
        m = JSON.parse(line);
      } catch {
        continue;
      }
      if (m.type === 'join' && m.room) {
        nick = m.nick ?? nick;
        if (!rooms.has(m.room)) rooms.set(m.room, new Set());
        rooms.get(m.room)!.add(socket);
        joined.add(m.room);
        broadcast(m.room, { type: 'join', room: m.room, nick, ts: new Date().toISOString() });
      } else if (m.type === 'msg' && m.room && joined.has(m.room)) {
        broadcast(m.room, { type: 'msg', room: m.room, from: nick, text: m.text, ts: new Date().toISOString() });
      }
    }
  });
  const gone = () => {
    for (const room of joined) rooms.get(room)?.delete(socket);
    joined.clear();
  };
  socket.on('error', gone);
  socket.on('close', gone);
});

const portFlag = process.argv.indexOf('--port');
const port = portFlag > 0 ? Number(process.argv[portFlag + 1]) : 0;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
