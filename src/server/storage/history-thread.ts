// `--storage-thread`: room history and its search index written by a thread of their own (issue 17, "both cores").
// The event loop hands each output pass's records to the thread in one message; the thread owns the unchanged
// writer (storage/sqlite.ts) and the search index that follows it (history-thread-worker.ts), on the other core.
// Reads stay synchronous and correct: a read (lastSeq, a history page, a reservation) goes through the same queue
// as the batches, so the thread answers it after writing every record handed over before it; the event loop waits
// for the answer (Atomics.wait). Joins and `since` never read the store: they are served from the in-memory ring.
// Nothing is lost silently: a batch is kept here until the thread says it is written (or that the disk refused it,
// which is logged as with one thread); a thread that dies is started again and given every batch not yet written
// (INSERT OR IGNORE: a record written twice is stored once); a clean stop waits for the thread to drain.

import Database from 'better-sqlite3';
import { readFileSync, unlinkSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { RoomRecord } from '../../protocol/index.js';
import type { HistoryStore, RetentionPolicy } from './store.js';
import { storedLine } from './sqlite.js';

/** How long the event loop waits for an answer of the thread before it gives up on it (a slow disk is slow). */
const CALL_TIMEOUT_MS = 60_000;
/** Records handed over and not yet written, past which the event loop waits for the thread (memory stays bounded). */
const MAX_BEHIND = 20_000;
/** A thread that dies this many times within RESTART_WINDOW_MS is not started again: history is no longer written. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** Messages to the thread, in the order they must be handled. */
export type ToThread =
  | { t: 'batch'; n: number; lines: string[] }
  | { t: 'call'; op: 'lastSeq'; room: string }
  | { t: 'call'; op: 'before'; room: string; before: number; limit: number }
  | { t: 'call'; op: 'reserve'; room: string; upTo: number }
  | { t: 'call'; op: 'prune' | 'sync' | 'close' }
  | { t: 'catchUp'; id: number };

/** Messages from the thread on its parent port. */
export type FromThread =
  | { t: 'written'; n: number }
  | { t: 'writeError'; message: string; records: number }
  | { t: 'caughtUp'; id: number };

/** What the thread is given at start. */
export interface ThreadData {
  path: string;
  /** The conversations database, ATTACHed so that retention takes what belongs to the records it deletes; null: none. */
  conversations: string | null;
  retention: RetentionPolicy;
  /** Int32 [0]: bumped by the thread after each answer on `answers` (and once it is ready); [1]: 1 when it dies. */
  signal: SharedArrayBuffer;
  answers: MessagePort;
}

/** An answer on the answers port: a value, or why there is none. */
export type Answer = { value: unknown } | { error: string };

interface Batch {
  n: number;
  lines: string[];
  /** The rooms of its records: a room in no unwritten batch is read without waiting for the thread. */
  rooms: Set<string>;
}

export class ThreadedHistoryStore implements HistoryStore {
  readonly path: string;
  /**
   * A connection of the event loop's own to the same database (WAL: readers never wait for the writer), for what
   * stays on the event loop: private conversations and searching the index (storage/local-privates.ts).
   */
  readonly db: Database.Database;
  private worker!: Worker;
  private answers!: MessagePort;
  /** [0]: bumped by the thread after each answer; [1]: 1 once the thread is dying of an uncaught error. */
  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  private pending: string[] = [];
  private pendingRooms = new Set<string>();
  /** Batches handed to the thread and not yet written, oldest first. */
  private unwritten: Batch[] = [];
  private unwrittenRecords = 0;
  private batch = 0;
  private scheduled = false;
  private alive = false;
  private closed = false;
  /** The thread kept dying: history is no longer written (every batch dropped is logged). */
  private givenUp = false;
  private restarts: number[] = [];
  private nextCatchUp = 1;
  private readonly catchUps = new Map<number, () => void>();
  private readonly selectLastSeq: Database.Statement;
  private readonly selectBefore: Database.Statement;

  constructor(
    path: string,
    private readonly retention: RetentionPolicy = { retainMessages: 0, retainDays: 0 },
    /** As for SqliteHistoryStore: a batch the disk refused (dropped; chat goes on), or an error that lost nothing (0). */
    private readonly onWriteError: (error: Error, records: number) => void = () => {},
    /** The conversations database of the same data dir (conversation-sqlite.ts), for retention; null: none. */
    private readonly conversations: string | null = null,
  ) {
    this.path = path;
    this.start(); // throws like SqliteHistoryStore's constructor (a locked or broken database)
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    // The same reads as the writer's (storage/sqlite.ts), for what need not wait for the thread.
    this.selectLastSeq = this.db.prepare('SELECT max(last_seq, reserved) FROM rooms WHERE room = ?').pluck();
    this.selectBefore = this.db.prepare('SELECT json FROM records WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?').pluck();
  }

  add(record: RoomRecord, line?: string): void {
    if (this.closed) return;
    this.pending.push(storedLine(record, line));
    this.pendingRooms.add(record.room);
    if (!this.scheduled) {
      // Records with no output pass after them (the server's pass calls flush() first).
      this.scheduled = true;
      setImmediate(() => setImmediate(this.flushSoon));
    }
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** Hand what is queued to the thread: one message per output pass. */
  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const batch = { n: ++this.batch, lines: this.pending, rooms: this.pendingRooms };
    this.pending = [];
    this.pendingRooms = new Set();
    if (this.givenUp) {
      this.onWriteError(new Error('the history thread keeps failing'), batch.lines.length);
      return;
    }
    this.unwritten.push(batch);
    this.unwrittenRecords += batch.lines.length;
    this.ensureAlive();
    this.post({ t: 'batch', n: batch.n, lines: batch.lines });
    // The thread is behind by more than a bound: wait for it (the event loop slows to the disk's pace).
    if (this.unwrittenRecords > MAX_BEHIND) {
      try {
        this.call({ t: 'call', op: 'sync' });
      } catch (error) {
        this.onWriteError(error as Error, 0); // the batches stay held, for the thread started again
        return;
      }
      this.unwritten = []; // all handled: written, or refused by the disk and reported
      this.unwrittenRecords = 0;
    }
  }

  /**
   * Read on the event loop's own connection: a room's counter changes only by reservations, which the thread
   * commits before reserve() returns (and by a stop or retention, which only bring it up to the records).
   */
  lastSeq(room: string): number {
    return (this.selectLastSeq.get(room) as number | undefined) ?? 0;
  }

  before(room: string, before: number, limit: number): RoomRecord[] {
    // A room with nothing on its way to the thread is whole on disk: read here (WAL: the thread's commits are
    // visible, and nothing waits). Otherwise behind the thread's queue, after the records handed over before.
    if (this.givenUp || (!this.pendingRooms.has(room) && !this.unwritten.some((batch) => batch.rooms.has(room)))) {
      const rows = this.selectBefore.all(room, before, limit) as string[];
      return rows.reverse().map((json) => JSON.parse(json) as RoomRecord);
    }
    this.flush();
    return (this.call({ t: 'call', op: 'before', room, before, limit }) as string[]).map((json) => JSON.parse(json) as RoomRecord);
  }

  reserve(room: string, upTo: number): boolean {
    if (this.closed || this.givenUp) return false;
    try {
      return this.call({ t: 'call', op: 'reserve', room, upTo }) as boolean;
    } catch (error) {
      this.onWriteError(error as Error, 0);
      return false;
    }
  }

  /** Apply the retention policy now (the thread also runs it every minute). */
  prune(): void {
    this.flush();
    try {
      this.call({ t: 'call', op: 'prune' });
    } catch (error) {
      this.onWriteError(error as Error, 0);
    }
  }

  /**
   * Resolves once the search index has caught up with every record handed over so far (at most the writer's
   * catch-up bound): a search then finds what was said just before it.
   */
  catchUpSearch(): Promise<void> {
    this.flush();
    if (this.givenUp || this.closed) return Promise.resolve();
    this.ensureAlive();
    const id = this.nextCatchUp++;
    return new Promise((resolve) => {
      this.catchUps.set(id, resolve);
      this.post({ t: 'catchUp', id });
    });
  }

  /** Drain: the thread writes everything handed over, keeps each room's exact last seq, and closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    try {
      if (!this.givenUp) this.call({ t: 'call', op: 'close' });
      this.unwritten = []; // all handled: written, or refused by the disk and reported
      this.unwrittenRecords = 0;
    } catch (error) {
      this.onWriteError(error as Error, this.unwrittenRecords);
    }
    this.closed = true;
    this.alive = false;
    for (const resolve of this.catchUps.values()) resolve();
    this.catchUps.clear();
    this.answers.close();
    void this.worker.terminate();
    this.db.close();
  }

  /** For tests: the thread, to stop it as a crash would (worker.terminate()). */
  get thread(): Worker {
    return this.worker;
  }

  /** Records handed to the thread and not yet confirmed written. */
  get behind(): number {
    return this.unwrittenRecords;
  }

  private post(message: ToThread): void {
    this.worker.postMessage(message);
  }

  /** Ask the thread and wait for its answer (after everything posted before it). */
  private call(message: ToThread): unknown {
    this.ensureAlive();
    if (this.givenUp || this.closed) throw new Error('the history thread is gone');
    const before = Atomics.load(this.signal, 0);
    this.post(message);
    const answer = this.awaitAnswer(before, `the history thread did not answer ${message.t === 'call' ? message.op : message.t}`);
    if ('error' in answer) throw new Error(answer.error);
    return answer.value;
  }

  private awaitAnswer(before: number, what: string): Answer {
    const deadline = Date.now() + CALL_TIMEOUT_MS;
    for (;;) {
      const received = receiveMessageOnPort(this.answers);
      if (received) return received.message as Answer;
      if (Atomics.load(this.signal, 1) === 1) throw new Error(`${what}: it died`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what} in ${CALL_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.signal, 0, before, Math.min(left, 100));
    }
  }

  /** Start the thread and wait until it has opened the database (or failed to: thrown here). */
  private start(): void {
    const { port1, port2 } = new MessageChannel();
    this.answers = port1;
    port1.unref(); // read only with receiveMessageOnPort: it must not keep the process alive
    // Run as TypeScript under the tests' loader, as JavaScript when built.
    const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const data: ThreadData = { path: this.path, conversations: this.conversations, retention: this.retention, signal: this.signal.buffer as SharedArrayBuffer, answers: port2 };
    const before = Atomics.load(this.signal, 0);
    Atomics.store(this.signal, 1, 0);
    const worker = new Worker(new URL(`./history-thread-worker${extension}`, import.meta.url), {
      workerData: data,
      transferList: [port2],
    });
    worker.unref();
    worker.on('message', (message: FromThread) => this.fromThread(message));
    worker.on('error', (error) => this.onWriteError(new Error(`history thread: ${error.message}`), 0));
    worker.on('exit', () => {
      if (this.worker === worker) this.died();
    });
    let answer: Answer;
    try {
      answer = this.awaitAnswer(before, 'the history thread did not start');
    } catch (error) {
      port1.close();
      void worker.terminate();
      throw error;
    }
    if ('error' in answer) {
      port1.close();
      void worker.terminate();
      throw new Error(answer.error);
    }
    this.worker = worker; // from now on its death is ours to handle (one that never started is not)
    this.alive = true;
  }

  private fromThread(message: FromThread): void {
    if (message.t === 'written') {
      while (this.unwritten.length > 0 && this.unwritten[0]!.n <= message.n) {
        this.unwrittenRecords -= this.unwritten.shift()!.lines.length;
      }
    } else if (message.t === 'writeError') {
      this.onWriteError(new Error(message.message), message.records);
    } else {
      this.catchUps.get(message.id)?.();
      this.catchUps.delete(message.id);
    }
  }

  /** The thread is gone without being asked to close (a crash, or terminate()). */
  private died(): void {
    if (this.closed) return;
    this.alive = false;
    this.answers.close();
    this.onWriteError(new Error(`the history thread stopped with ${this.unwrittenRecords} records not yet written; starting it again`), 0);
    this.ensureAlive();
  }

  /** Start the thread again if it died, and give it every batch it had not written. */
  private ensureAlive(): void {
    if (this.alive || this.closed || this.givenUp) return;
    const now = Date.now();
    this.restarts = [...this.restarts.filter((at) => now - at < RESTART_WINDOW_MS), now];
    try {
      if (this.restarts.length > MAX_RESTARTS) throw new Error(`the history thread died ${MAX_RESTARTS} times in a minute`);
      this.releaseDeadThreadsLock();
      this.start();
    } catch (error) {
      this.givenUp = true;
      const dropped = this.unwrittenRecords;
      this.unwritten = [];
      this.unwrittenRecords = 0;
      for (const resolve of this.catchUps.values()) resolve();
      this.catchUps.clear();
      this.onWriteError(new Error(`history is no longer written: ${(error as Error).message}`), dropped);
      return;
    }
    for (const batch of this.unwritten) this.post({ t: 'batch', n: batch.n, lines: batch.lines });
    for (const id of this.catchUps.keys()) this.post({ t: 'catchUp', id });
  }

  /** The dead thread held the database's lock under this process's pid: nobody else can, so it is ours to free. */
  private releaseDeadThreadsLock(): void {
    const lock = `${this.path}.lock`;
    try {
      if (Number.parseInt(readFileSync(lock, 'utf8'), 10) === process.pid) unlinkSync(lock);
    } catch {
      // no lock left
    }
  }
}
