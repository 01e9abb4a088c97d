// The history file's schema (docs/persistence.md): a file written by an earlier server (schema 2, records clustered
// by room and seq) is converted when the server opens it, and everything in it is served and continued.

import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatServer } from '../src/server/server.js';
import { peer } from './helpers/wire.js';

function schema2File(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE records (room TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (room, seq)) WITHOUT ROWID;
    CREATE INDEX records_ts ON records (ts);
    CREATE TABLE rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, reserved INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
  `);
  const insert = db.prepare('INSERT INTO records (room, seq, ts, json) VALUES (?, ?, ?, ?)');
  for (let seq = 1; seq <= 30; seq++) {
    const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();
    insert.run('old', seq, Date.parse(ts), JSON.stringify({ type: 'msg', room: 'old', from: 'ann', text: `line ${seq}`, ts, seq }));
  }
  db.prepare('INSERT INTO rooms (room, last_seq, reserved) VALUES (?, ?, ?)').run('old', 30, 30);
  db.pragma('user_version = 2');
  db.close();
}

t.test('a schema-2 history file is converted: its records are served, paged and continued', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-schema-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  schema2File(join(dir, 'history.sqlite'));

  const server = new ChatServer({ dataDir: dir, historyPerRoom: 10 });
  t.teardown(() => server.close());
  const { port } = await server.listen(0, '127.0.0.1');
  const ann = await peer(t, port);
  await ann.join('old', 'ann');
  ann.send({ type: 'history', room: 'old', before: 21, limit: 20, id: 'page' });
  const page = await ann.next({ type: 'history', id: 'page' });
  t.same(
    (page.messages as { seq: number }[]).map((m) => m.seq),
    Array.from({ length: 20 }, (_, i) => i + 1),
    'the page before the ring is read from the converted table',
  );
  ann.send({ type: 'msg', room: 'old', text: 'new', id: 'new' });
  const ok = await ann.next({ type: 'ok', id: 'new' });
  t.equal(ok.seq, 31, 'numbering continues after the converted records');
  await server.close();

  const db = new Database(join(dir, 'history.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('user_version', { simple: true }), 3, 'the file says schema 3');
  t.equal(db.prepare('SELECT count(*) FROM records WHERE room = ?').pluck().get('old'), 31, 'every record is there, the new one too');
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'and the file is whole');
});
