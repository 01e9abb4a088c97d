// The rooms one connection is in, small: most connections are in one room, and a Set's table costs 176 bytes even
// with one entry (~1.7 MB at 10 000 idle connections). One name is a field; a few are a short list; past
// SMALL_MAX it is a Set, so that asking about one room stays O(1) for a connection in many.

/** What the server asks of a connection's rooms (a Set<string> has it too). */
export interface RoomSet extends Iterable<string> {
  readonly size: number;
  has(name: string): boolean;
  add(name: string): unknown;
  delete(name: string): boolean;
}

const SMALL_MAX = 8;

export class RoomNames implements RoomSet {
  /** In the order they were added, as a Set iterates; a Set once there are more than SMALL_MAX. */
  private names: string | string[] | Set<string> | null = null;

  get size(): number {
    const names = this.names;
    if (names === null) return 0;
    if (typeof names === 'string') return 1;
    return Array.isArray(names) ? names.length : names.size;
  }

  has(name: string): boolean {
    const names = this.names;
    if (names === null) return false;
    if (typeof names === 'string') return names === name;
    return Array.isArray(names) ? names.includes(name) : names.has(name);
  }

  add(name: string): this {
    const names = this.names;
    if (names === null) this.names = name;
    else if (typeof names === 'string') {
      if (names !== name) this.names = [names, name];
    } else if (Array.isArray(names)) {
      if (names.includes(name)) return this;
      if (names.length < SMALL_MAX) names.push(name);
      else this.names = new Set([...names, name]);
    } else names.add(name);
    return this;
  }

  delete(name: string): boolean {
    const names = this.names;
    if (names === null) return false;
    if (typeof names === 'string') {
      if (names !== name) return false;
      this.names = null;
      return true;
    }
    if (!Array.isArray(names)) return names.delete(name);
    const at = names.indexOf(name);
    if (at === -1) return false;
    names.splice(at, 1);
    if (names.length === 1) this.names = names[0]!;
    return true;
  }

  *[Symbol.iterator](): Iterator<string> {
    const names = this.names;
    if (names === null) return;
    if (typeof names === 'string') yield names;
    else yield* [...names];
  }
}
