import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TekkenPieces, pieceAlignedParts } from '../../src/core/tokens/tekken-pieces';
import { TokenCounter, tekkenPattern } from '../../src/core/tokens/token-counter';
import { rng } from '../../bench/corpus';

const SHARED = path.resolve(__dirname, '../../../shared/data');

const scanned = (pieces: TekkenPieces, text: string) => {
  const out: string[] = [];
  for (let end = pieces.next(text, 0); end >= 0; end = pieces.next(text, end)) out.push(text.slice(pieces.start, end));
  return out;
};

/**
 * Characters chosen to sit on every edge of the pattern: each ASCII class, the characters alternatives 4 and 5 name
 * (space, \r, \n, '/'), \s beyond \n (\t \v \f), and non-ASCII letters, marks, digits, symbols and spaces.
 */
const ALPHABET = [
  ...'aZqB09 /\r\n\t\v\f.,;(!-_\'"#\u0000\u001f\u007f',
  'é',
  'É',
  'ǅ',
  'ʰ',
  '中',
  '\u0301',
  '٣',
  '½',
  '—',
  '€',
  '\u00a0',
  '\u2003',
  '\u2028',
  '\ufeff',
  '😀',
];

describe('TekkenPieces', () => {
  const pattern = tekkenPattern();
  const pieces = new TekkenPieces(pattern);
  const viaRegex = (text: string) => [...text.matchAll(new RegExp(pattern, 'gu'))].map((m) => m[0]);

  it('When cutting random strings over every class edge, Then the pieces are exactly the regex’s', () => {
    const rand = rng(20261126);
    for (let n = 0; n < 20_000; n++) {
      const length = 1 + Math.floor(rand() * 24);
      const text = Array.from({ length }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]).join('');
      expect({ text, pieces: scanned(pieces, text) }).toEqual({ text, pieces: viaRegex(text) });
    }
  });

  it('When cutting real text in several languages and code-like text, Then the pieces are exactly the regex’s', () => {
    const xquad = JSON.parse(readFileSync(path.join(SHARED, 'xquad/xquad.en.json'), 'utf8')) as {
      data: { paragraphs: { context: string }[] }[];
    };
    const texts = [
      ...xquad.data.flatMap((a) => a.paragraphs.map((p) => p.context)),
      readFileSync(path.join(SHARED, 'scifact/corpus.jsonl'), 'utf8').slice(0, 400_000),
      readFileSync(path.resolve(__dirname, '../../src/core/tokens/tekken-pieces.ts'), 'utf8'),
      'Ünïcödé café naïve straße İstanbul Привет, мир! 東京は日本の首都です。 e\u0301 😀👍🏽 1️⃣ \r\n\r\n  x  \n\t y/\n/z   ',
    ];
    for (const text of texts) expect(scanned(pieces, text)).toEqual(viaRegex(text));
  });

  it('When the text is empty, Then there are no pieces', () => {
    expect(scanned(pieces, '')).toEqual([]);
  });
});

describe('pieceAlignedParts', () => {
  const counter = new TokenCounter();
  const sum = (parts: string[]) => parts.reduce((n, part) => n + counter.count(part), 0);

  it('When random strings over every class edge are cut, Then the parts join to the text and their counts add up to its count', () => {
    const rand = rng(20261206);
    const withNewlines = [...ALPHABET, '\n', '\n', '\n', '/'];
    for (let n = 0; n < 20_000; n++) {
      const length = 1 + Math.floor(rand() * 32);
      const text = Array.from({ length }, () => withNewlines[Math.floor(rand() * withNewlines.length)]).join('');
      const parts = pieceAlignedParts(text);
      expect(parts.join('')).toBe(text);
      expect({ text, count: sum(parts) }).toEqual({ text, count: counter.count(text) });
    }
  });

  it('When a real prompt-like text is cut, Then it is cut at many lines and the counts add up', () => {
    const lines = readFileSync(path.join(SHARED, 'scifact/corpus.jsonl'), 'utf8').slice(0, 200_000).split('\n');
    const text = lines.map((line, i) => (i % 7 === 0 ? `[#${i} · 2024-01-0${i % 9}] user: ${line}` : line)).join('\n\n');
    const parts = pieceAlignedParts(text);
    expect(parts.length).toBeGreaterThan(lines.length / 2);
    expect(sum(parts)).toBe(counter.count(text));
  });

  it('When a newline is followed by whitespace or a slash, Then the text is not cut there', () => {
    expect(pieceAlignedParts('a.\n/b\n c\n\td\ne')).toEqual(['a.\n/b\n c\n\td\n', 'e']);
    expect(pieceAlignedParts('')).toEqual(['']);
    expect(pieceAlignedParts('x\n')).toEqual(['x\n']);
  });
});
