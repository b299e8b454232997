import fc from 'fast-check';
import { keywordTokens } from '../../src/core/keywords/keyword-tokenizer';
import {
  AVERAGE_DOCUMENT_TERMS,
  BM25_B,
  BM25_K1,
  documentSparseVector,
  querySparseVector,
  termId,
} from '../../src/core/keywords/sparse-vector';

/** BM25's term-frequency part for a term seen `tf` times in a document of `length` terms. */
const bm25Tf = (tf: number, length: number) =>
  (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + (BM25_B * length) / AVERAGE_DOCUMENT_TERMS));
const valueOf = (vector: { indices: number[]; values: number[] }, word: string) =>
  vector.values[vector.indices.indexOf(termId(keywordTokens(word)[0]))];

describe('documentSparseVector', () => {
  test('When text repeats a term, then its value is BM25’s saturated term frequency for the document’s length', () => {
    const vector = documentSparseVector('anchor anchor anchor chain');
    expect(vector.indices).toHaveLength(2);
    expect(valueOf(vector, 'anchor')).toBeCloseTo(bm25Tf(3, 4), 12);
    expect(valueOf(vector, 'chain')).toBeCloseTo(bm25Tf(1, 4), 12);
  });

  test('When term counts grow, then values grow but never reach k1 + 1, and longer documents weigh a term less', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 2000 }), (tf, length) => {
        fc.pre(tf <= length);
        expect(bm25Tf(tf + 1, length + 1)).toBeGreaterThan(bm25Tf(tf, length + 1));
        expect(bm25Tf(tf, length)).toBeLessThan(BM25_K1 + 1);
        expect(bm25Tf(tf, length + 100)).toBeLessThan(bm25Tf(tf, length));
      }),
    );
    const short = documentSparseVector('anchor chain');
    const long = documentSparseVector(`anchor chain ${'harbour '.repeat(300)}`);
    expect(valueOf(long, 'anchor')).toBeLessThan(valueOf(short, 'anchor'));
  });

  test('When building a vector, then indices are unique, sorted, unsigned 32-bit and aligned with values', () => {
    const vector = documentSparseVector('The lighthouse keeper polishes the brass lantern; keepers polish lanterns every evening.');
    expect(vector.indices).toEqual([...new Set(vector.indices)].sort((a, b) => a - b));
    expect(vector.values).toHaveLength(vector.indices.length);
    for (const index of vector.indices) {
      expect(Number.isInteger(index)).toBe(true);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(index).toBeLessThan(2 ** 32);
    }
    // keeper/keepers, polishes/polish, lantern/lanterns share stems: 7 distinct terms in 10, 3 of them twice.
    const length = keywordTokens('lighthouse keeper polishes brass lantern keepers polish lanterns every evening').length;
    expect(vector.indices).toHaveLength(7);
    expect(vector.values.filter((value) => Math.abs(value - bm25Tf(2, length)) < 1e-12)).toHaveLength(3);
    expect(vector.values.filter((value) => Math.abs(value - bm25Tf(1, length)) < 1e-12)).toHaveLength(4);
  });

  test('When the text is only stop words or punctuation, then the vector is empty', () => {
    expect(documentSparseVector('The, and of it!')).toEqual({ indices: [], values: [] });
    expect(documentSparseVector('')).toEqual({ indices: [], values: [] });
    expect(querySparseVector('The, and of it!')).toEqual({ indices: [], values: [] });
  });

  test('When the same text is vectorised twice, then the result is identical', () => {
    const text = 'Quarterly revenue grew in the northern sales region';
    expect(documentSparseVector(text)).toEqual(documentSparseVector(text));
  });
});

describe('querySparseVector', () => {
  test('When a query repeats a term, then it still counts once (value 1 per distinct term)', () => {
    const vector = querySparseVector('anchor anchor chain');
    expect(vector.values).toEqual([1, 1]);
    expect(vector.indices).toEqual(documentSparseVector('anchor chain').indices);
  });

  test('When query and document use other forms and case of a word, then they share the term id (shared tokenizer)', () => {
    expect(querySparseVector('KITCHENS').indices).toEqual(documentSparseVector('kitchen').indices);
    expect(querySparseVector('Café').indices).toEqual(documentSparseVector('cafe').indices);
  });
});

describe('termId', () => {
  test('When hashing, then term ids are stable FNV-1a values', () => {
    // Reference values of 32-bit FNV-1a.
    expect(termId('')).toBe(0x811c9dc5);
    expect(termId('a')).toBe(0xe40c292c);
    expect(termId('foobar')).toBe(0xbf9cf968);
    // Non-ASCII tokens hash their UTF-8 bytes.
    expect(termId('日')).toBe(termId('日'));
    expect(termId('日')).not.toBe(termId('月'));
  });
});
