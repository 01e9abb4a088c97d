// One write path per message on one node (issue 17): the author of an account's message and its sender's read
// marker (storage/conversation-sqlite.ts) are written in the history writer's transaction, with the message
// (storage/sqlite.ts alsoInBatch), not in a second transaction of their own. When the writer cannot take them
// (its batch refused, or the writer closed), the conversation store writes them itself.

import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoomRecord } from '../src/protocol/index.js';
import { LastAuthorship } from '../src/server/state/conversation.js';
import { SqliteConversationStore } from '../src/server/storage/conversation-sqlite.js';
import { SqliteHistoryStore } from '../src/server/storage/sqlite.js';

const ALICE = 'a:1';

function stores(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'chat-conversation-storage-'));
  const errors: Error[] = [];
  const history = new SqliteHistoryStore(join(dir, 'history.sqlite'), undefined, (error) => errors.push(error));
  const conversationsPath = join(dir, 'conversations.sqlite');
  const conversations = new SqliteConversationStore(conversationsPath, history);
  // What another process would read from the files: only what has been committed.
  const onDisk = () => {
    const db = new Database(conversationsPath, { readonly: true });
    const historyDb = new Database(join(dir, 'history.sqlite'), { readonly: true });
    try {
      return {
        authors: db.prepare('SELECT room, seq, principal FROM authors ORDER BY seq').all() as { room: string; seq: number; principal: string }[],
        markers: db.prepare('SELECT principal, room, seq FROM read_markers ORDER BY principal').all() as { principal: string; room: string; seq: number }[],
        records: historyDb.prepare('SELECT count(*) FROM records').pluck().get(),
      };
    } finally {
      db.close();
      historyDb.close();
    }
  };
  t.teardown(() => {
    conversations.close();
    history.close();
    // The checkpoint thread may still be closing its connection (and removing the WAL).
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  return { history, conversations, onDisk, errors };
}

const message = (seq: number): RoomRecord => ({ type: 'msg', room: 'test', from: 'alice', text: `hello ${seq}`, ts: new Date().toISOString(), seq });

/** What the server does for a message an account sends (state/local.ts append). */
function send(history: SqliteHistoryStore, conversations: SqliteConversationStore, seq: number): void {
  history.reserve('test', seq);
  history.add(message(seq));
  conversations.noteSent('test', seq, ALICE, 100, { maxRooms: 10 });
}

t.test("an account's message, its author and its read marker are committed in one transaction", async (t) => {
  const { history, conversations, onDisk } = stores(t);
  send(history, conversations, 1);
  send(history, conversations, 2);
  t.same(onDisk(), { authors: [], markers: [], records: 0 }, 'nothing is written before the batch');
  t.equal(conversations.author('test', 1), ALICE, 'the author is known at once all the same');

  history.flush(); // the output pass commits the turn's batch
  t.same(onDisk(), {
    authors: [{ room: 'test', seq: 1, principal: ALICE }, { room: 'test', seq: 2, principal: ALICE }],
    markers: [{ principal: ALICE, room: 'test', seq: 2 }],
    records: 2,
  });
  t.equal(conversations.marker(ALICE, 'test'), 2, 'sending read the room up to the message');
  t.equal(history.db.pragma('conversations.synchronous', { simple: true }), 1, 'no fsync per commit (NORMAL in WAL), as for history');
});

t.test('guests leave nothing on disk: their authorship ends with their connection', async (t) => {
  const { history, conversations, onDisk } = stores(t);
  history.add(message(1));
  conversations.noteSent('test', 1, 'g:x', 100, null);
  history.flush();
  t.same(onDisk(), { authors: [], markers: [], records: 1 });
  t.equal(conversations.author('test', 1), 'g:x');
});

t.test('when the disk refuses the batch, the authors are written apart once it can take them', async (t) => {
  const { history, conversations, onDisk, errors } = stores(t);
  send(history, conversations, 1);
  history.db.pragma('query_only = ON'); // the history writer's connection can write nothing
  history.flush();
  t.equal(errors.length, 1, 'the batch was refused and reported');
  t.same(onDisk().authors, [{ room: 'test', seq: 1, principal: ALICE }], 'the author was written by the conversation store');
  history.db.pragma('query_only = OFF');

  send(history, conversations, 2);
  history.flush();
  t.same(onDisk().authors.length, 2, 'the next message rides on the writer again');
});

t.test('after the history writer has closed, the conversation store writes by itself', async (t) => {
  const { history, conversations, onDisk } = stores(t);
  send(history, conversations, 1);
  history.close(); // a clean stop: the batch, with its authors, is committed
  t.same(onDisk().authors.length, 1);
  conversations.noteSent('test', 2, ALICE, 100, { maxRooms: 10 });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(onDisk().authors.length, 2);
  t.equal(conversations.marker(ALICE, 'test'), 2);
});

t.test('several messages in one batch leave what writing each alone would: the window of authors, the newest marker', async (t) => {
  const { history, conversations, onDisk } = stores(t);
  for (let seq = 1; seq <= 5; seq++) {
    history.reserve('test', seq);
    history.add(message(seq));
    conversations.noteSent('test', seq, seq === 3 ? 'a:2' : ALICE, 2, { maxRooms: 10 });
  }
  history.flush();
  t.same(onDisk().authors, [{ room: 'test', seq: 4, principal: ALICE }, { room: 'test', seq: 5, principal: ALICE }], 'only the newest 2 keep their author');
  t.same(onDisk().markers, [
    { principal: ALICE, room: 'test', seq: 5 },
    { principal: 'a:2', room: 'test', seq: 3 },
  ]);
});

t.test("a sender's next message is given the same authorship, a changed sender or limit a new one", async (t) => {
  const last = new LastAuthorship();
  const first = last.of(ALICE, 100, 50);
  t.same(first, { principal: ALICE, window: 100, account: { maxRooms: 50 } });
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.account), 'never changed once given');
  t.equal(last.of(ALICE, 100, 50), first, 'the same object again: none made per message');
  t.same(last.of(ALICE, 100, null), { principal: ALICE, window: 100, account: null }, 'no read markers: a new one');
  t.same(last.of(ALICE, 20, null), { principal: ALICE, window: 20, account: null });
  t.same(last.of('g:x', 20, null), { principal: 'g:x', window: 20, account: null });
  t.not(last.of(ALICE, 100, 50), first, 'only the last one is kept');
  t.not(new LastAuthorship().of(ALICE, 100, 50), first, "another server's is its own");
});
