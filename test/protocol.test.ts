import t, { type Test } from 'tap';
import {
  ClientLineParser,
  LineDecoder,
  parseClientLine,
  ProtocolError,
  encode,
  lineBytes,
  type RoomRecord,
  nickProblem,
  roomProblem,
  nickKey,
  canonicalRoom,
  chosenNickProblem,
} from '../src/protocol/index.js';
import { LOOKALIKES, skeleton } from '../src/protocol/skeleton.js';
import { NickRegistry } from '../src/server/state/nicks.js';

type Outcome = string | { error: 'utf8' | 'long' };

function decodeChunks(chunks: Buffer[], maxLine = 1024): Outcome[] {
  const out: Outcome[] = [];
  const decoder = new LineDecoder(maxLine, {
    line: (text) => out.push(text),
    invalidUtf8: () => out.push({ error: 'utf8' }),
    tooLong: () => out.push({ error: 'long' }),
  });
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return out;
}

/** Run one input whole, byte by byte, and split in two at every boundary: all must agree. */
function decodeEveryWay(t: Test, input: Buffer, expected: Outcome[], maxLine = 1024): void {
  t.same(decodeChunks([input], maxLine), expected, 'whole');
  const bytes = [...input].map((b) => Buffer.from([b]));
  t.same(decodeChunks(bytes, maxLine), expected, 'byte by byte');
  for (let cut = 1; cut < input.length; cut++) {
    const got = decodeChunks([input.subarray(0, cut), input.subarray(cut)], maxLine);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      t.same(got, expected, `split at ${cut}`);
      return;
    }
  }
  t.pass('split at every boundary');
}

t.test('line decoder', async (t) => {
  t.test('several lines in one chunk, CRLF, blank lines', async (t) => {
    decodeEveryWay(t, Buffer.from('{"a":1}\n\r\n   \n{"b":2}\r\n{"c":3}\n'), ['{"a":1}', '{"b":2}', '{"c":3}']);
  });
  t.test('multi-byte UTF-8 split across chunks is decoded whole', async (t) => {
    decodeEveryWay(t, Buffer.from('{"text":"你好，世界 😀👍"}\n'), ['{"text":"你好，世界 😀👍"}']);
  });
  t.test('invalid UTF-8 is reported and the next line still decodes', async (t) => {
    const input = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n{"ok":1}\n')]);
    decodeEveryWay(t, input, [{ error: 'utf8' }, '{"ok":1}']);
  });
  t.test('a line over the limit is reported once and skipped up to the newline', async (t) => {
    const input = Buffer.from(`${'x'.repeat(40)}\nshort\n${'y'.repeat(100)}\n{"after":true}\n`);
    decodeEveryWay(t, input, [{ error: 'long' }, 'short', { error: 'long' }, '{"after":true}'], 32);
  });
  t.test('an over-long line is not buffered while it keeps coming', async (t) => {
    let tooLong = 0;
    const decoder = new LineDecoder(1000, { line: () => {}, invalidUtf8: () => {}, tooLong: () => tooLong++ });
    for (let i = 0; i < 1000; i++) decoder.push(Buffer.alloc(1000, 0x61));
    t.equal(tooLong, 1);
    t.equal(decoder.bufferedBytes, 0);
  });
  t.test('an unterminated last line still counts at end of input', async (t) => {
    t.same(decodeChunks([Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}')]), ['{"a":1}', '{"b":2}']);
  });
  t.test('raw mode hands exactly N bytes to a sink, then frames lines again', async (t) => {
    const lines: string[] = [];
    const raw: Buffer[] = [];
    let ended = 0;
    const decoder: LineDecoder = new LineDecoder(1024, {
      line: (text) => {
        lines.push(text);
        if (text === 'upload') decoder.takeRaw(5, { data: (chunk) => raw.push(chunk), end: () => ended++, abort: () => {} });
      },
      invalidUtf8: () => {},
      tooLong: () => {},
    });
    for (const byte of Buffer.from('upload\nab\ncdafter\n')) decoder.push(Buffer.from([byte]));
    t.equal(Buffer.concat(raw).toString(), 'ab\ncd');
    t.equal(ended, 1);
    t.same(lines, ['upload', 'after']);
  });
  t.test("a chunk's lines decoded at once give what lines decoded alone give: raw bytes and a pause inside the chunk, marks and carriage returns", async (t) => {
    // The bytes after `upload` (5 raw, a multi-byte character among them) are not lines; `wait` pauses the decoder
    // for a while; a line may begin with a byte order mark (dropped, as a line decoded alone drops it).
    const input = Buffer.from('{"t":"é"}\r\nupload\nä\ncd\ufeff{"bom":1}\nwait\n\ufeff\r\n\ufeff{"b":"😀"}\r\nlast\n');
    const run = (chunks: Buffer[]) => {
      const out: string[] = [];
      let paused: (() => void) | null = null;
      const decoder: LineDecoder = new LineDecoder(1024, {
        line: (text) => {
          out.push(text);
          if (text === 'upload') decoder.takeRaw(5, { data: (chunk) => out.push(`raw:${chunk.toString('hex')}`), end: () => out.push('end'), abort: () => {} });
          if (text === 'wait') {
            decoder.pause();
            paused = () => decoder.resume();
          }
        },
        invalidUtf8: () => out.push('utf8'),
        tooLong: () => out.push('long'),
        blank: () => out.push('blank'),
      });
      for (const chunk of chunks) {
        decoder.push(chunk);
        const resume = paused as (() => void) | null;
        paused = null;
        resume?.();
      }
      decoder.end();
      return out;
    };
    const joinRaw = (out: string[]) => {
      const joined: string[] = [];
      for (const entry of out) {
        const before = joined.at(-1);
        if (entry.startsWith('raw:') && before?.startsWith('raw:')) joined[joined.length - 1] = before + entry.slice(4);
        else joined.push(entry);
      }
      return joined;
    };
    const expected = ['{"t":"é"}', 'upload', `raw:${Buffer.from('ä\ncd').toString('hex')}`, 'end', '{"bom":1}', 'wait', 'blank', '{"b":"😀"}', 'last'];
    t.same(joinRaw(run([input])), expected, 'whole');
    t.same(joinRaw(run([...input].map((byte) => Buffer.from([byte])))), expected, 'byte by byte');
    for (let cut = 1; cut < input.length; cut++) {
      const got = joinRaw(run([input.subarray(0, cut), input.subarray(cut)]));
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        t.same(got, expected, `split at ${cut}`);
        return;
      }
    }
    t.pass('split at every boundary');
  });
  t.test('a chunk with one line that is not UTF-8 among good ones: that line is reported, the others decode', async (t) => {
    const input = Buffer.concat([Buffer.from('{"a":1}\n{"x":"'), Buffer.from([0xc3]), Buffer.from('"}\n{"b":2}\n{"c":3}\n')]);
    decodeEveryWay(t, input, ['{"a":1}', { error: 'utf8' }, '{"b":2}', '{"c":3}']);
  });
});

t.test('parseClientLine', async (t) => {
  const errorCode = (line: string) => {
    try {
      parseClientLine(line);
      return 'parsed';
    } catch (error) {
      if (error instanceof ProtocolError) return error.code;
      throw error;
    }
  };

  t.test('well-formed messages of every type', async (t) => {
    t.same(parseClientLine('{"type":"hello","nick":"alice"}'), { type: 'hello', nick: 'alice' });
    t.same(parseClientLine('{"type":"join","room":"Test","nick":"bob","since":4,"id":1}'), {
      type: 'join',
      room: 'test',
      nick: 'bob',
      since: 4,
      id: 1,
    });
    t.same(parseClientLine('{"type":"msg","room":"test","text":"a\\nb","me":true}'), {
      type: 'msg',
      room: 'test',
      text: 'a\nb',
      me: true,
    });
    t.same(parseClientLine('{"type":"msg","to":"alice","text":"hi","id":"x"}'), {
      type: 'msg',
      to: 'alice',
      text: 'hi',
      id: 'x',
    });
    t.same(parseClientLine('{"type":"leave","room":"test"}'), { type: 'leave', room: 'test' });
    t.same(parseClientLine('{"type":"nick","nick":"张伟"}'), { type: 'nick', nick: '张伟' });
    t.same(parseClientLine('{"type":"who","room":"test"}'), { type: 'who', room: 'test' });
    t.same(parseClientLine('{"type":"rooms"}'), { type: 'rooms' });
    t.same(parseClientLine('{"type":"history","room":"t","before":9,"limit":5}'), {
      type: 'history',
      room: 't',
      before: 9,
      limit: 5,
    });
    t.same(parseClientLine('{"type":"ping","id":7}'), { type: 'ping', id: 7 });
    t.same(parseClientLine('{"type":"pong"}'), { type: 'pong' });
    t.same(parseClientLine('{"type":"quit","reason":"bye"}'), { type: 'quit', reason: 'bye' });
  });

  t.test('each kind of bad line gets its code', async (t) => {
    t.equal(errorCode('{"type":'), 'bad_json');
    t.equal(errorCode('[1,2]'), 'bad_request');
    t.equal(errorCode('"msg"'), 'bad_request');
    t.equal(errorCode('{"room":"x"}'), 'bad_request');
    t.equal(errorCode('{"type":"dance"}'), 'unknown_type');
    t.equal(errorCode('{"type":"msg","room":"test"}'), 'bad_request');
    t.equal(errorCode('{"type":"msg","room":"test","text":5}'), 'bad_request');
    t.equal(errorCode('{"type":"msg","room":"test","text":""}'), 'bad_request');
    t.equal(errorCode('{"type":"msg","text":"hi"}'), 'bad_request');
    t.equal(errorCode('{"type":"msg","room":"a","to":"b","text":"hi"}'), 'bad_request');
    t.equal(errorCode('{"type":"msg","room":"test","text":"x","me":"yes"}'), 'bad_request');
    t.equal(errorCode(`{"type":"msg","room":"test","text":"${'x'.repeat(8001)}"}`), 'bad_request');
    t.equal(errorCode('{"type":"join","room":"no spaces"}'), 'bad_room');
    t.equal(errorCode('{"type":"join","room":""}'), 'bad_room');
    t.equal(errorCode('{"type":"join","room":"test","since":-1}'), 'bad_request');
    t.equal(errorCode('{"type":"join","room":"test","since":1.5}'), 'bad_request');
    t.equal(errorCode('{"type":"hello","nick":"a b"}'), 'bad_nick');
    t.equal(errorCode('{"type":"hello","nick":"evil\\u001b[31m"}'), 'bad_nick');
    t.equal(errorCode('{"type":"msg","to":"a/b","text":"x"}'), 'bad_nick');
    t.equal(errorCode('{"type":"ping","id":{"a":1}}'), 'bad_request');
  });

  t.test('account messages: register, login by password or token, logout, passwd; password rules never quote it', async (t) => {
    t.same(parseClientLine('{"type":"register","nick":"alice","password":"12345678"}'), { type: 'register', nick: 'alice', password: '12345678' });
    t.same(parseClientLine('{"type":"login","nick":"alice","password":"x"}'), { type: 'login', nick: 'alice', password: 'x' });
    t.same(parseClientLine('{"type":"login","token":"abc","id":1}'), { type: 'login', token: 'abc', id: 1 });
    t.same(parseClientLine('{"type":"logout"}'), { type: 'logout' });
    t.same(parseClientLine('{"type":"logout","token":"abc"}'), { type: 'logout', token: 'abc' });
    t.same(parseClientLine('{"type":"passwd","old":"a","new":"12345678"}'), { type: 'passwd', old: 'a', new: '12345678' });
    const refused: [string, string][] = [
      ['{"type":"register","nick":"alice","password":"1234567"}', 'bad_password'],
      [`{"type":"register","nick":"alice","password":"${'x'.repeat(1025)}"}`, 'bad_password'],
      ['{"type":"register","nick":"a b","password":"12345678"}', 'bad_nick'],
      ['{"type":"login","nick":"alice"}', 'bad_request'],
      ['{"type":"login","token":"a","password":"b"}', 'bad_request'],
      ['{"type":"passwd","old":"a","new":"short"}', 'bad_password'],
    ];
    for (const [line, code] of refused) t.equal(errorCode(line), code, line.slice(0, 60));
    try {
      parseClientLine('{"type":"register","nick":"alice","password":"secret1"}');
    } catch (error) {
      t.notMatch((error as Error).message, /secret1/, 'the refused password is not in the message');
    }
  });

  t.test('errors carry the request id and an example of a right line', async (t) => {
    try {
      parseClientLine('{"type":"join","id":42}');
      t.fail('should throw');
    } catch (error) {
      t.ok(error instanceof ProtocolError);
      t.equal((error as ProtocolError).id, 42);
      t.match((error as ProtocolError).message, /needs a "room" field.*\{"type":"join","room":"test"/);
    }
  });
});

t.test('names', async (t) => {
  t.equal(nickProblem('alice'), null);
  t.equal(nickProblem('张伟'), null);
  t.equal(nickProblem('[bot]_1'), null);
  t.not(nickProblem(''), null);
  t.not(nickProblem('a'.repeat(33)), null);
  t.not(nickProblem('tab\there'), null);
  t.not(nickProblem('rtl\u202eoverride'), null);
  t.not(nickProblem('#chan'), null);
  t.equal(roomProblem('test'), null);
  t.equal(roomProblem('中文频道'), null);
  t.not(roomProblem('a b'), null);
  t.not(roomProblem('x'.repeat(65)), null);
  t.equal(nickKey('Alice'), nickKey('ALICE'));
  t.equal(canonicalRoom('Test'), 'test');
});

t.test('nick keys: look-alikes of a nick are that nick; other scripts stay apart', async (t) => {
  const alice = nickKey('alice');
  for (const nick of [
    'Alice',
    'ALICE',
    '\u0430lice', // Cyrillic а
    '\uFF41\uFF4C\uFF49\uFF43\uFF45', // fullwidth ａｌｉｃｅ
    '\u{1D5BA}lice', // mathematical sans-serif 𝖺
    'al\u0131ce', // dotless ı
    '\u0410LICE', // Cyrillic capital А
    '\u0391LICE', // Greek capital Α
    '\u0430l\u0456\u0441\u0435', // Cyrillic а і с е around a Latin l
  ]) {
    t.equal(nickKey(nick), alice, `${JSON.stringify(nick)} is alice`);
  }
  t.equal(nickKey('\u0412\u041E\u0412'), nickKey('BOB'), 'Cyrillic capitals ВОВ are BOB (their small letters в о в are b o b)');
  t.equal(nickKey('\u0451\u043B\u043A\u0430'), nickKey('\u0435\u0308\u043B\u043A\u0430'), 'composed and decomposed ё');
  t.equal(nickKey('\u0435\u0308'), nickKey('\u00EB'), 'Cyrillic ё looks like Latin ë');
  t.equal(nickKey('\uFB01sh'), nickKey('fish'), 'ligatures come apart');
  for (const [a, b] of [
    ['张三', '张四'],
    ['José', 'Jose'],
    ['alice0', 'aliceo'],
    ['alice1', 'alicel'],
    ['rn', 'm'],
    ['Вова', 'Вика'],
    ['Ελένη', 'Ελίνα'],
  ]) {
    t.not(nickKey(a!), nickKey(b!), `${a} and ${b} are two nicks`);
  }
  for (const nick of ['alice', 'Bob_1', '[bot]', 'x.y-z', 'A{b}|c^`']) {
    t.equal(nickKey(nick), nick.toLowerCase(), `ASCII is only lower-cased: ${nick}`);
  }
  t.equal(nickKey('张三'), '张三', 'Chinese is kept as it is');
});

t.test('the look-alike table: each entry can be in a nick, is reached as it is and becomes ASCII', async (t) => {
  t.ok(LOOKALIKES.size > 300, `${LOOKALIKES.size} characters`);
  const bad: string[] = [];
  for (const [char, ascii] of LOOKALIKES) {
    const ok =
      !/^[\x00-\x7f]$/.test(char) &&
      nickProblem(`x${char}`) === null &&
      char.normalize('NFKC').toLowerCase().normalize('NFKD') === char &&
      /^[a-z0-9_\-.^]+$/.test(ascii) &&
      skeleton(`x${char}`) === `x${ascii}`;
    if (!ok) bad.push(`U+${char.codePointAt(0)!.toString(16)} -> ${ascii}`);
  }
  t.same(bad, []);
});

t.test('a suggested nick is cut by characters, never inside one', async (t) => {
  const registry = new NickRegistry<string>();
  const long = '\u{1D5BA}'.repeat(32); // 32 characters, 64 UTF-16 units
  t.ok(registry.claim(long, 'owner'));
  const suggest = registry.suggest(long);
  t.equal(suggest, `${'\u{1D5BA}'.repeat(28)}2`);
  t.equal(nickProblem(suggest), null);
  t.equal(registry.owner('a'.repeat(32)), 'owner', 'held under its skeleton');
});

t.test('invisible characters are bad nicks, named in the message', async (t) => {
  const invisible = [0x034f, 0xfe0f, 0x17b4, 0x17b5, 0x3164, 0x115f, 0x1160, 0xffa0, 0x2800, 0x200b, 0x200d, 0x2060, 0xfeff];
  for (const cp of [...invisible, 0x00ad, 0x180e, 0xe0041, 0x1d173]) {
    const name = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    t.match(nickProblem(`al${String.fromCodePoint(cp)}ice`), new RegExp(`invisible.*${name.replace('+', '\\+')}`), name);
  }
  t.not(nickProblem('\u3164'), null, 'a nick of one Hangul filler');
  const line = JSON.stringify({ type: 'hello', nick: 'alice\uFE0F' });
  t.throws(() => parseClientLine(line), { code: 'bad_nick', message: /invisible.*U\+FE0F/ });
});

t.test('guest nicks cannot be asked for; they can still be written to', async (t) => {
  for (const nick of ['guest-7', 'Guest-12', 'guest-1a2b-7', 'gu\u0435st-7', 'guest-']) {
    t.match(chosenNickProblem(nick), /guest-.*server/, nick);
    t.equal(nickProblem(nick), null, `${nick} is still a valid nick to send to`);
  }
  for (const nick of ['guest', 'guestbook', 'guest_7', 'alice']) t.equal(chosenNickProblem(nick), null, nick);
  for (const line of [
    { type: 'hello', nick: 'guest-7' },
    { type: 'nick', nick: 'GUEST-7' },
    { type: 'join', room: 'test', nick: 'guest-7' },
  ]) {
    t.throws(() => parseClientLine(JSON.stringify(line)), { code: 'bad_nick' }, line.type);
  }
  t.same(parseClientLine('{"type":"msg","to":"guest-7","text":"hi"}'), { type: 'msg', to: 'guest-7', text: 'hi' });
});

t.test('encode writes one line, control characters escaped', async (t) => {
  const bytes = encode({ type: 'notice', text: 'two\nlines \u001b[31m' });
  t.equal(bytes.indexOf(0x0a), bytes.length - 1);
  t.same(JSON.parse(bytes.toString()), { type: 'notice', text: 'two\nlines \u001b[31m' });
});

t.test('a room record goes out as its JSON and one newline, byte for byte', async (t) => {
  const ts = '2026-12-02T13:40:00.123Z';
  const texts = ['hi', 'quote " back\\slash', 'two\nlines\ttab \u001b[31m \u007f \u2028 \u2029', 'é 中文 😀 \ud800 lone \udfff', 'x'.repeat(5000)];
  const records: RoomRecord[] = [];
  for (const text of texts) {
    records.push({ type: 'msg', room: 'ünï', from: 'alice', text, ts, seq: 1 });
    records.push({ type: 'msg', room: 'test', from: 'alice', text, ts, me: true, reply: { seq: 1, from: 'bob', text }, seq: 3 });
  }
  for (const record of records) {
    const json = JSON.stringify(record);
    const bytes = lineBytes(json);
    t.ok(bytes.equals(Buffer.from(`${json}\n`, 'utf8')));
    t.equal(bytes.indexOf(0x0a), bytes.length - 1);
  }
});

t.test('a room msg is read into the fields the spread form had, in its order, and its checks come in the same order', async (t) => {
  t.equal(
    JSON.stringify(parseClientLine('{"id":7,"reply_to":3,"me":true,"text":"hi","room":"Test","type":"msg"}')),
    '{"type":"msg","room":"test","text":"hi","me":true,"reply_to":3,"id":7}',
  );
  t.strictSame(Object.keys(parseClientLine('{"type":"msg","room":"test","text":"hi","me":false}')), ['type', 'room', 'text']);
  t.strictSame(parseClientLine('{"type":"msg","room":"test","text":"hi","id":"a"}'), { type: 'msg', room: 'test', text: 'hi', id: 'a' });
  // "me" is read before "room" and "to" are weighed against each other, as for a private msg.
  t.throws(() => parseClientLine('{"type":"msg","room":"a","to":"b","text":"hi","me":"yes"}'), { code: 'bad_request', message: /"me" must be true or false/ });
  t.throws(() => parseClientLine('{"type":"msg","room":"no spaces","text":"","me":1}'), { message: /"me" must be true or false/ });
  t.throws(() => parseClientLine('{"type":"msg","room":"no spaces","text":""}'), { code: 'bad_room' });
  t.throws(() => parseClientLine('{"type":"msg","room":"test","text":"","reply_to":-1}'), { message: /"reply_to" must be a whole number/ });
});

t.test('a room named again is answered as the first time: the same canonical name, the same refusal', async (t) => {
  const parser = new ClientLineParser();
  for (let i = 0; i < 2; i++) {
    t.match(parser.parse('{"type":"msg","room":"Café.Ops","text":"hi"}'), { room: canonicalRoom('Café.Ops') });
    t.match(parser.parse('{"type":"msg","room":"Cafe\u0301.Ops","text":"hi"}'), { room: canonicalRoom('Café.Ops') }, 'decomposed, then NFC');
    t.throws(() => parser.parse('{"type":"msg","room":"no spaces","text":"hi"}'), { code: 'bad_room' });
  }
  t.equal(parser.roomsKnown, 2, 'the two spellings that passed, not the refused one');
  for (let i = 0; i < 5000; i++) parser.parse(`{"type":"join","room":"r${i}"}`); // more names than are remembered
  t.ok(parser.roomsKnown <= 4096, `bounded: ${parser.roomsKnown}`);
  t.match(parser.parse('{"type":"msg","room":"Café.Ops","text":"hi"}'), { room: 'café.ops' });
});

t.test('what a parser remembers of room names is its own: another parser and parseClientLine keep nothing of it', async (t) => {
  const first = new ClientLineParser();
  const second = new ClientLineParser();
  first.parse('{"type":"join","room":"Ops"}');
  t.equal(first.roomsKnown, 1);
  t.equal(second.roomsKnown, 0);
  t.match(parseClientLine('{"type":"join","room":"Ops"}'), { room: 'ops' });
  t.equal(second.roomsKnown, 0);
  t.match(second.parse('{"type":"msg","room":"OPS","text":"a"}'), { room: 'ops' });
  t.equal(second.roomsKnown, 1);
  t.equal(first.roomsKnown, 1);
});
