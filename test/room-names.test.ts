import t from 'tap';
import { RoomNames } from '../src/server/state/room-names.js';

t.test("a connection's rooms behave as a Set of names, in the order they were joined, small or large", async (t) => {
  const rooms = new RoomNames();
  t.equal(rooms.size, 0);
  t.notOk(rooms.has('a'));
  t.notOk(rooms.delete('a'), 'deleting from nothing says so');
  rooms.add('a').add('a');
  t.equal(rooms.size, 1, 'a name added twice is there once');
  t.ok(rooms.has('a'));
  t.notOk(rooms.has('b'));
  const names = Array.from({ length: 12 }, (_, i) => `r${i}`);
  for (const name of names) rooms.add(name);
  rooms.add('r3');
  t.same([...rooms], ['a', ...names], 'past the small list too, in the order added, no duplicates');
  t.equal(rooms.size, 13);
  t.ok(rooms.has('r11'));
  t.ok(rooms.delete('r11'));
  t.notOk(rooms.has('r11'));
  for (const name of [...rooms]) rooms.delete(name);
  t.equal(rooms.size, 0, 'all gone after deleting each while iterating a copy');
  t.same([...rooms], []);
});

t.test('deleting while iterating the rooms themselves sees each name once', async (t) => {
  for (const count of [1, 3, 9]) {
    const rooms = new RoomNames();
    for (let i = 0; i < count; i++) rooms.add(`r${i}`);
    const seen: string[] = [];
    for (const name of rooms) {
      seen.push(name);
      rooms.delete(name);
    }
    t.equal(seen.length, count, `${count} names`);
    t.equal(rooms.size, 0);
  }
});

t.test('from two names back to one and none', async (t) => {
  const rooms = new RoomNames();
  rooms.add('a').add('b');
  t.ok(rooms.delete('a'));
  t.same([...rooms], ['b']);
  t.notOk(rooms.delete('a'));
  t.ok(rooms.delete('b'));
  t.equal(rooms.size, 0);
  rooms.add('c');
  t.same([...rooms], ['c']);
});
