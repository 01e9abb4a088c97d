// Nick skeletons (docs/protocol.md, "Names"): the key under which nicks that look alike are one nick, in the
// spirit of the skeleton of Unicode's UTS #39 ("Unicode Security Mechanisms"). `alice`, Cyrillic `аlice`,
// fullwidth `ａｌｉｃｅ`, mathematical `𝖺lice`, `alıce` and `ALICE` all have the skeleton `alice`; 张三 and 张四 stay
// two nicks. Pure: no I/O.
//
// The steps, each for a reason:
// 1. NFKC: compatibility forms become the letters they are drawn as: fullwidth and halfwidth forms, mathematical
//    alphanumerics (𝖺 𝐚 𝒂), ligatures (ﬁ), Hangul compatibility jamo, superscripts, circled digits.
// 2. Lower case: nicks are case-insensitive.
// 3. NFKD: accents come apart from their letters, so that Cyrillic ё (е + ◌̈) meets Latin ë below.
// 4. Every character of LOOKALIKES becomes the ASCII text it is drawn like (Cyrillic а → a, ı → i, ꜳ → aa).
// 5. NFC, so that a mapped letter and its accent compose again as a Latin letter typed directly would.
//
// ASCII is never mapped: two ASCII nicks are one nick exactly when they were before (case-insensitively). So,
// unlike UTS #39, 0 and o, 1 and l, rn and m stay different nicks, and so do the characters that only look like
// those ASCII pairs (𝟎 is 0, not o; 𝐈 is i, not l).
//
// Where LOOKALIKES comes from: Unicode's confusables.txt, version 13.0.0 (the data of UTS #39; read from the
// data.json that the npm package unhomoglyph@1.0.6 ships, a plain conversion of that file). Kept from it: each
// entry whose source is a character a nick may contain (a non-ASCII letter, digit or mark, not default-ignorable)
// that reaches step 4 as it is (already NFKC, lower case and decomposed), and whose prototype spells ASCII
// letters, digits or nick symbols (the prototype of m being rn, rn counts as m; a prototype is read as lower
// case). Then, because a nick typed in capitals is the same nick: when a capital looks like ASCII but its small
// letter looks like nothing in ASCII (Cyrillic В Н К М Т З Ы Ю, Greek Β Ε Η Κ Μ Τ Χ Ζ, Cherokee, Coptic), the small
// letter takes the capital's look-alike (в → b, so ВОВ and BOB are one nick). 384 characters in all.
//
// What it misses, knowingly: capitals whose small letter looks like other ASCII (Greek Ν is ν → v, Υ is υ → u:
// so ΝΥ is not NY); look-alikes with no ASCII counterpart (katakana カ and kanji 力, ー and 一), and letters
// with marks whose prototype keeps the mark (ɨ is not i); entries added to confusables.txt after 13.0.0 (17.0.0
// would add 24 more, such as ш → w, þ → p and ƒ → f).

/** ASCII text, and the characters drawn like it (escaped: many are right-to-left or combining). */
const GROUPS: readonly (readonly [string, string])[] = [
  ['-', '\u{2CBB}'], // ⲻ
  ['.', '\u{660}\u{6F0}\u{A4F8}\u{1D16D}'], // ꓸ
  ['..', '\u{A4FA}'], // ꓺ
  ['2', '\u{1A8}\u{3E9}\u{14BF}\u{A645}\u{A6EF}\u{A75B}'], // ƨ ϩ ᒿ ꙅ ꝛ
  ['3', '\u{21D}\u{25C}\u{292}\u{437}\u{4E1}\u{2CCD}\u{A76B}\u{118CA}\u{16F3B}'], // ȝ ɜ ʒ з ӡ ⳍ ꝫ 𑣊 𖼻
  ['4', '\u{AB9E}\u{118CF}'], // ꮞ 𑣏
  ['5', '\u{118DB}'], // 𑣛
  ['6', '\u{431}\u{2CD3}\u{ABBE}\u{118D5}'], // б ⳓ ꮾ 𑣕
  ['7', '\u{104FA}\u{118C6}'], // 𐓺 𑣆
  ['8', '\u{223}\u{9EA}\u{A6A}\u{B03}\u{1031A}\u{1E8CB}'], // ȣ 𐌚
  ['9', '\u{9ED}\u{A67}\u{B68}\u{D6D}\u{2CCB}\u{A76F}\u{118CC}\u{118D6}'], // ⳋ ꝯ 𑣌 𑣖
  ['^', '\u{2C6}'], // ˆ
  ['_', '\u{7FA}'],
  ['a', '\u{251}\u{3B1}\u{430}\u{15C5}\u{A4EE}\u{AB7A}\u{102A0}\u{16F40}'], // ɑ α а ᗅ ꓮ ꭺ 𐊠 𖽀
  ['aa', '\u{A733}'], // ꜳ
  ['ae', '\u{E6}\u{4D5}'], // æ ӕ
  ['ao', '\u{A735}'], // ꜵ
  ['au', '\u{A737}'], // ꜷ
  ['av', '\u{A739}\u{A73B}'], // ꜹ ꜻ
  ['ay', '\u{A73D}'], // ꜽ
  // ƅ β в ь ᏼ ᑲ ᖯ ᗷ ꓐ ꞵ ꮟ 𐊂 𐊡 𐌁
  [
    'b',
    '\u{185}\u{3B2}\u{432}\u{44C}\u{13FC}\u{1472}\u{15AF}\u{15F7}\u{A4D0}\u{A7B5}\u{AB9F}\u{10282}' +
      '\u{102A1}\u{10301}',
  ],
  ['bi', '\u{44B}'], // ы
  // с ᴄ ⲥ ꓚ ꮯ 𐊢 𐌂 𐐽 𐔜
  [
    'c',
    '\u{441}\u{1D04}\u{2CA5}\u{A4DA}\u{ABAF}\u{102A2}\u{10302}\u{1043D}\u{1051C}\u{118E9}\u{118F2}',
  ],
  ['d', '\u{501}\u{146F}\u{15DE}\u{15EA}\u{A4D2}\u{A4D3}\u{AB70}\u{ABB7}'], // ԁ ᑯ ᗞ ᗪ ꓒ ꓓ ꭰ ꮷ
  ['dz', '\u{2A3}'], // ʣ
  ['e', '\u{3B5}\u{435}\u{4BD}\u{2D39}\u{A4F0}\u{AB32}\u{AB7C}\u{10286}\u{118CE}'], // ε е ҽ ⴹ ꓰ ꬲ ꭼ 𐊆 𑣎
  // ϝ ք ᖴ ẝ ꓝ ꞙ ꬵ 𐊇 𐊥 𐔥 𑣂
  [
    'f',
    '\u{3DD}\u{584}\u{15B4}\u{1E9D}\u{A4DD}\u{A799}\u{AB35}\u{10287}\u{102A5}\u{10525}\u{118C2}',
  ],
  ['g', '\u{18D}\u{261}\u{50D}\u{581}\u{13FB}\u{1D83}\u{A4D6}\u{AB90}'], // ƍ ɡ ԍ ց ᏻ ᶃ ꓖ ꮐ
  ['h', '\u{3B7}\u{43D}\u{4BB}\u{570}\u{157C}\u{2C8F}\u{A4E7}\u{AB8B}\u{AB92}\u{102CF}'], // η н һ հ ᕼ ⲏ ꓧ ꮋ ꮒ 𐋏
  ['i', '\u{131}\u{269}\u{26A}\u{3B9}\u{456}\u{4CF}\u{2C93}\u{A647}\u{AB75}\u{118C3}'], // ı ɩ ɪ ι і ӏ ⲓ ꙇ ꭵ 𑣃
  ['io', '\u{44E}'], // ю
  ['j', '\u{29D}\u{3F3}\u{458}\u{148D}\u{A4D9}\u{AB7B}'], // ʝ ϳ ј ᒍ ꓙ ꭻ
  ['k', '\u{3BA}\u{43A}\u{16D5}\u{2C95}\u{A4D7}\u{ABB6}\u{10518}'], // κ к ᛕ ⲕ ꓗ ꮶ 𐔘
  // ǀ ᒪ ᛁ ⳑ ⵏ ꓡ ꓲ ꮮ 𐊊 𐌉 𐑃 𐔦 𑣒 𖼖 𖼨
  [
    'l',
    '\u{1C0}\u{5D5}\u{5DF}\u{627}\u{661}\u{6F1}\u{7CA}\u{14AA}\u{16C1}\u{2CD1}\u{2D4F}\u{A4E1}\u{A4F2}' +
      '\u{ABAE}\u{1028A}\u{10309}\u{10320}\u{10443}\u{10526}\u{118D2}\u{16F16}\u{16F28}\u{1E8C7}',
  ],
  ['ll', '\u{1C1}\u{5F0}'], // ǁ
  ['ls', '\u{2AA}'], // ʪ
  ['lz', '\u{2AB}'], // ʫ
  // μ ϻ м ᗰ ᛖ ⲙ ꓟ ꮇ 𐊰 𐌑 𑜀
  [
    'm',
    '\u{3BC}\u{3FB}\u{43C}\u{15F0}\u{16D6}\u{2C99}\u{A4DF}\u{AB87}\u{102B0}\u{10311}\u{11700}\u{118E3}',
  ],
  ['n', '\u{578}\u{57C}\u{2C9B}\u{A4E0}\u{10513}'], // ո ռ ⲛ ꓠ 𐔓
  // ο σ о օ ଠ ഠ ဝ ჿ ዐ ᴏ ᴑ ⲟ ⵔ ꓳ ꬽ 𐊒 𐊫 𐐬 𐓪 𐔖 𑣈 𑣗
  [
    'o',
    '\u{3BF}\u{3C3}\u{43E}\u{585}\u{5E1}\u{647}\u{665}\u{6BE}\u{6C1}\u{6D5}\u{6F5}\u{7C0}\u{966}\u{9E6}' +
      '\u{A66}\u{AE6}\u{B20}\u{B66}\u{BE6}\u{C02}\u{C66}\u{C82}\u{CE6}\u{D02}\u{D20}\u{D66}\u{D82}\u{E50}' +
      '\u{ED0}\u{101D}\u{1040}\u{10FF}\u{12D0}\u{1D0F}\u{1D11}\u{2C9F}\u{2D54}\u{3007}\u{A4F3}\u{AB3D}' +
      '\u{10292}\u{102AB}\u{1042C}\u{104EA}\u{10516}\u{114D0}\u{118C8}\u{118D7}\u{118E0}',
  ],
  ['oe', '\u{153}'], // œ
  ['oo', '\u{A699}\u{A74F}'], // ꚙ ꝏ
  ['p', '\u{3C1}\u{440}\u{146D}\u{2CA3}\u{A4D1}\u{ABB2}\u{10295}'], // ρ р ᑭ ⲣ ꓑ ꮲ 𐊕
  ['q', '\u{51B}\u{563}\u{566}\u{2D55}'], // ԛ գ զ ⵕ
  // ʀ г ᖇ ᴦ ⲅ ꓣ ꭇ ꭈ ꭱ ꮁ ꮢ 𐓜 𖼵
  [
    'r',
    '\u{280}\u{433}\u{1587}\u{1D26}\u{2C85}\u{A4E3}\u{AB47}\u{AB48}\u{AB71}\u{AB81}\u{ABA2}\u{104DC}' +
      '\u{16F35}',
  ],
  // ƽ ѕ տ ꓢ ꜱ ꮥ ꮪ 𐊖 𐑈 𑣁 𖼺
  [
    's',
    '\u{1BD}\u{455}\u{57F}\u{A4E2}\u{A731}\u{ABA5}\u{ABAA}\u{10296}\u{10448}\u{118C1}\u{16F3A}',
  ],
  ['t', '\u{3C4}\u{442}\u{2CA7}\u{A4D4}\u{AB72}\u{10297}\u{102B1}\u{10315}\u{16F0A}'], // τ т ⲧ ꓔ ꭲ 𐊗 𐊱 𐌕 𖼊
  ['t3', '\u{A729}'], // ꜩ
  ['tf', '\u{A777}'], // ꝷ
  ['ts', '\u{2A6}'], // ʦ
  // ʋ υ ս ሀ ᑌ ᴜ ꓴ ꞟ ꭎ ꭒ 𐓶 𑣘 𖽂
  [
    'u',
    '\u{28B}\u{3C5}\u{57D}\u{1200}\u{144C}\u{1D1C}\u{A4F4}\u{A79F}\u{AB4E}\u{AB52}\u{104F6}\u{118D8}' +
      '\u{16F42}',
  ],
  ['ue', '\u{1D6B}'], // ᵫ
  ['uo', '\u{AB63}'], // ꭣ
  // ν ѵ ᐯ ᴠ ⴸ ꓦ ꛟ ꮩ 𐔝 𑜆 𑣀 𖼈
  [
    'v',
    '\u{3BD}\u{475}\u{5D8}\u{667}\u{6F7}\u{142F}\u{1D20}\u{2D38}\u{A4E6}\u{A6DF}\u{ABA9}\u{1051D}' +
      '\u{11706}\u{118C0}\u{16F08}',
  ],
  // ɯ ѡ ԝ ա ᴡ ꓪ ꮃ ꮤ 𑜊 𑜎 𑜏
  [
    'w',
    '\u{26F}\u{461}\u{51D}\u{561}\u{1D21}\u{A4EA}\u{AB83}\u{ABA4}\u{1170A}\u{1170E}\u{1170F}\u{118E6}' +
      '\u{118EF}',
  ],
  // χ х ᕁ ᕽ ᚷ ⲭ ⵝ ꓫ ꭓ 𐊐 𐊴 𐌗 𐔧
  [
    'x',
    '\u{3C7}\u{445}\u{1541}\u{157D}\u{16B7}\u{2CAD}\u{2D5D}\u{A4EB}\u{AB53}\u{10290}\u{102B4}\u{10317}' +
      '\u{10322}\u{10527}\u{118EC}',
  ],
  // ɣ ʏ γ у ү ყ ᶌ ỿ ⲩ ꓬ ꭚ ꭹ ꮍ 𐊲 𑣜 𖽃
  [
    'y',
    '\u{263}\u{28F}\u{3B3}\u{443}\u{4AF}\u{10E7}\u{1D8C}\u{1EFF}\u{2CA9}\u{A4EC}\u{AB5A}\u{AB79}\u{AB8D}' +
      '\u{102B2}\u{118DC}\u{16F43}',
  ],
  ['z', '\u{3B6}\u{1D22}\u{A4DC}\u{AB93}\u{102F5}\u{118C4}\u{118C9}\u{118E5}'], // ζ ᴢ ꓜ ꮓ 𑣄 𑣉
];

/** Each look-alike character, and the ASCII text it becomes. */
export const LOOKALIKES: ReadonlyMap<string, string> = new Map(
  GROUPS.flatMap(([ascii, chars]) => [...chars].map((char) => [char, ascii] as const)),
);

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** The skeleton of `text`: what it looks like, in lower case (the steps above). */
export function skeleton(text: string): string {
  // The common case, and the same answer as the steps would give: ASCII is only lower-cased.
  if (ASCII_ONLY.test(text)) return text.toLowerCase();
  let mapped = '';
  for (const char of text.normalize('NFKC').toLowerCase().normalize('NFKD')) mapped += LOOKALIKES.get(char) ?? char;
  return mapped.normalize('NFC');
}
