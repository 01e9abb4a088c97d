// Fan-out behind one small interface, so that a bus spanning several nodes can replace the in-process one
// without touching connection code. The event is serialised once; every member gets the same bytes.

import { encode, type ServerMessage } from '../protocol/index.js';
import type { Member, RoomRegistry } from './rooms.js';

export interface RoomBus {
  /** Deliver `event` to every member of `room`. */
  publish(room: string, event: ServerMessage): void;
}

export class LocalBus implements RoomBus {
  constructor(private readonly rooms: RoomRegistry<Member>) {}

  publish(room: string, event: ServerMessage): void {
    const members = this.rooms.get(room)?.members;
    if (!members || members.size === 0) return;
    const bytes = encode(event);
    // No copy of the set: a delivery may cut off a slow member, which deletes it from the set, and a Set
    // iterator skips deleted entries and goes on from where it was (ECMAScript Set iteration is live).
    for (const member of members) member.deliver(bytes);
  }
}
