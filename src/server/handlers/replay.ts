// A record as a join replays it (`history: true`), serialised once per record rather than once per joiner: after a
// restart every client that reconnects with `since` is sent the same few records of its room.

import { encode, type RoomRecord } from '../../protocol/index.js';

const replayed = new WeakMap<RoomRecord, Buffer>();

export function replayBytes(record: RoomRecord): Buffer {
  let bytes = replayed.get(record);
  if (!bytes) {
    bytes = encode({ ...record, history: true });
    replayed.set(record, bytes);
  }
  return bytes;
}
