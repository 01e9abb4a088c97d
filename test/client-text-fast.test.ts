// The text fast paths of a busy room (issue 18) give what the segmenter gives: text that needs no segmenter
// (ASCII, Latin, box drawing, kana, CJK ideographs...) is split and measured exactly as Intl.Segmenter would.

import t from 'tap';
import { charWidth, graphemes, graphemeWidth, stringWidth, wrapText } from '../src/client/text/width.js';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const bySegmenter = (text: string) => Array.from(segmenter.segment(text), (s) => s.segment);

// Every range the fast path takes, its edges, and the characters just outside it that do form clusters.
const SAMPLES = [
  'a', ' ', '~', '\n', '\x1b', '\t', '\x7f', '\u0085', 'é', '\u00ad', '\u02ff', '\u2010', '\u2026', '\u2192', '\u2502', '\u2570',
  '\u3000', '\u3029', '\u3042', '\u30ab', '\u30fc', '\u4e2d', '\u9fff', '\uff01', '\uff9d', '\uffa0', '\uffe5',
  // not in it: they join what is before or after them
  '\u0301', '\u200d', '\ufe0f', '\u302a', '\u3099', '\uff9e', '\u1100', '\u1161', '\r', '😀', '🇨', '🇳', '👍', '🏽', '\u0915', '\u094d',
];

t.test('graphemes and widths agree with the segmenter on mixed text', async (t) => {
  let seed = 18;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let round = 0; round < 2000; round++) {
    let text = '';
    const length = 1 + Math.floor(random() * 12);
    for (let i = 0; i < length; i++) text += SAMPLES[Math.floor(random() * SAMPLES.length)]!;
    const expected = bySegmenter(text);
    if (JSON.stringify(graphemes(text)) !== JSON.stringify(expected)) {
      t.fail(`graphemes of ${JSON.stringify(text)}`, { found: graphemes(text), wanted: expected });
      return;
    }
    const width = expected.reduce((sum, g) => sum + graphemeWidth(g), 0);
    if (stringWidth(text) !== width) {
      t.fail(`width of ${JSON.stringify(text)}`, { found: stringWidth(text), wanted: width });
      return;
    }
  }
  t.pass('2000 random texts');
});

t.test('ASCII and CJK take the fast paths with the same results', async (t) => {
  t.same(graphemes('hi 你好'), ['h', 'i', ' ', '你', '好']);
  t.equal(stringWidth('\u2502 3 here'), 8);
  t.equal(stringWidth('你好，世界'), 10);
  t.equal(charWidth('你'.codePointAt(0)!), 2);
  t.same(wrapText('short line', 20), ['short line']);
  t.same(wrapText('a longer line of text', 10), ['a longer', 'line of', 'text']);
  t.equal(stringWidth('\x1b[38;5;245m12:01\x1b[39m <bob> hi'), 14, 'colour codes take no columns');
});
