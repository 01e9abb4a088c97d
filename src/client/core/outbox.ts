// Messages typed while the connection is down: shown in their buffer as queued, sent in order, once, when the
// client is connected again.

import type { Request } from './connection.js';

export interface Queued {
  /** The buffer the queued line is shown in. */
  bufferKey: string;
  /** The queued line's entry, removed when the message is handed to the connection. */
  entryId: number;
  message: Request;
}

export class Outbox {
  private readonly waiting: Queued[] = [];

  get size(): number {
    return this.waiting.length;
  }

  add(item: Queued): void {
    this.waiting.push(item);
  }

  /** The oldest queued message, taken out of the queue (it is never handed out twice). */
  take(): Queued | undefined {
    return this.waiting.shift();
  }

  /** A message taken while the connection went down again before it was written: first in line again. */
  putBack(item: Queued): void {
    this.waiting.unshift(item);
  }
}
