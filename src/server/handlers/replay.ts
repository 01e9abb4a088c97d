// What a join replays of a room's ring (docs/protocol.md "join"), made once per room and version of the ring
// (state/history.ts: a record came, or one was edited, deleted or reacted to) rather than once per joiner: in a
// join storm every joiner of a room gets the same page, and after a restart every client that comes back with
// `since` gets the end of it. The page is one Buffer; a joiner's replay is a slice of it, so it leaves in one part
// of the joiner's write, not one per record. The changes a `since` resume missed are asked for once per room, version
// and `since` too.

import { encode, type RoomRecord } from '../../protocol/index.js';
import { mapReady, type Maybe } from '../state/maybe.js';
import type { History } from '../state/history.js';
import type { ServerContext } from './context.js';
import { changesSince } from './catch-up.js';
import { withChanges } from './conversation.js';
import { newestWithin } from './replies.js';

interface Page {
  /** Every record of the ring as it is now (edited, deleted, reacted to), oldest first. */
  records: RoomRecord[];
  /** The newest of them that fit in one reply (--reply-history), serialised with `"history":true`, joined. */
  bytes: Buffer;
  /** Where each of those starts in `bytes`, oldest first: the k-th newest starts at starts[starts.length - k]. */
  starts: number[];
}

/** What one join replays: the bytes, how many records they hold, and how many the joiner missed in all. */
export interface Replay {
  bytes: Buffer;
  count: number;
  missed: number;
  /** Seq of the first record replayed (0: none). */
  firstSeq: number;
}

/** A room's page, or the promise of it while a cluster reads the changes from Redis (joiners meanwhile share it). */
interface Entry {
  version: number;
  page: Maybe<Page>;
  /** The changes the last `since` asked for missed (changesFor). */
  changes?: { since: number; budget: number; lines: Promise<Buffer[]> };
}

const pages = new WeakMap<History, Entry>();

// A record's bytes: a page made after the next record came copies the others from here. They are slices of the
// newest page that holds them, so a room's records are kept in memory once.
const recordBytes = new WeakMap<RoomRecord, Buffer>();

const EMPTY = Buffer.alloc(0);

/** The page of `room`'s ring for a joiner that has seen up to `since` (0: nothing). */
export function replayFor(ctx: ServerContext, room: string, history: History, since: number): Maybe<Replay> {
  return mapReady(pageOf(ctx, room, history), (page) => {
    const { records, starts, bytes } = page;
    // Records are oldest first and seqs rise: the missed ones are the newest.
    let missed = 0;
    while (missed < records.length && records[records.length - 1 - missed]!.seq > since) missed++;
    // newestWithin of the missed ones is the same newest records as of the whole ring: the end of the page.
    const count = Math.min(missed, starts.length);
    return {
      bytes: count === 0 ? EMPTY : bytes.subarray(starts[starts.length - count]!),
      count,
      missed,
      firstSeq: count === 0 ? 0 : records[records.length - count]!.seq,
    };
  });
}

/**
 * The changes made meanwhile to the messages a `since` resume had (catch-up.ts), asked of the store once per room,
 * version of its ring and `since`: after a restart the clients of a room come back with the same `since`, the newest
 * seq they had. A change is a new version (History.noteChanged), so what is kept is never older than it.
 */
export function changesFor(ctx: ServerContext, room: string, history: History, since: number, budget: number): Promise<Buffer[]> {
  const entry = pages.get(history);
  if (since <= 0 || entry === undefined || entry.version !== history.version) return changesSince(ctx, room, { room }, since, budget);
  const known = entry.changes;
  if (known !== undefined && known.since === since && known.budget === budget) return known.lines;
  const lines = changesSince(ctx, room, { room }, since, budget);
  entry.changes = { since, budget, lines };
  lines.catch(() => {
    if (entry.changes?.lines === lines) entry.changes = undefined;
  });
  return lines;
}

function pageOf(ctx: ServerContext, room: string, history: History): Maybe<Page> {
  const known = pages.get(history);
  if (known !== undefined && known.version === history.version) return known.page;
  const version = history.version;
  const entry: Entry = { version, page: EMPTY_PAGE };
  const made = mapReady(withChanges(ctx, room, history.all()), (records) => (entry.page = makePage(records, ctx.config.replyHistoryBytes)));
  entry.page = made;
  pages.set(history, entry);
  if (made instanceof Promise) made.catch(() => pages.get(history) === entry && pages.delete(history));
  return made;
}

const EMPTY_PAGE: Page = { records: [], bytes: EMPTY, starts: [] };

function makePage(records: RoomRecord[], budget: number): Page {
  const replayed = newestWithin(records, budget);
  const parts = replayed.map((record) => recordBytes.get(record) ?? encode({ ...record, history: true }));
  const starts: number[] = new Array(parts.length);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    starts[i] = at;
    at += parts[i]!.length;
  }
  const bytes = Buffer.concat(parts, at);
  for (let i = 0; i < replayed.length; i++) recordBytes.set(replayed[i]!, bytes.subarray(starts[i]!, starts[i]! + parts[i]!.length));
  return { records, bytes, starts };
}
