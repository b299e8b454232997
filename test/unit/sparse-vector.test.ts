import { keywordTokens } from '../../src/search/keyword-tokenizer';
import { sparseVector, termId } from '../../src/search/sparse-vector';

describe('sparseVector', () => {
  test('When text repeats a term, then its value is the term frequency', () => {
    const vector = sparseVector('anchor anchor anchor chain');
    const anchor = vector.indices.indexOf(termId(keywordTokens('anchor')[0]));
    const chain = vector.indices.indexOf(termId(keywordTokens('chain')[0]));
    expect(vector.values[anchor]).toBe(3);
    expect(vector.values[chain]).toBe(1);
    expect(vector.indices).toHaveLength(2);
  });

  test('When building a vector, then indices are unique, sorted, unsigned 32-bit and aligned with values', () => {
    const vector = sparseVector('The lighthouse keeper polishes the brass lantern; keepers polish lanterns every evening.');
    expect(vector.indices).toEqual([...new Set(vector.indices)].sort((a, b) => a - b));
    expect(vector.values).toHaveLength(vector.indices.length);
    for (const index of vector.indices) {
      expect(Number.isInteger(index)).toBe(true);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(index).toBeLessThan(2 ** 32);
    }
    // keeper/keepers, polishes/polish, lantern/lanterns share stems: 7 distinct terms, 3 of them twice.
    expect(vector.values.reduce((a, b) => a + b, 0)).toBe(keywordTokens('lighthouse keeper polishes brass lantern keepers polish lanterns every evening').length);
    expect(vector.values.filter((value) => value === 2)).toHaveLength(3);
  });

  test('When the text is only stop words or punctuation, then the vector is empty', () => {
    expect(sparseVector('The, and of it!')).toEqual({ indices: [], values: [] });
    expect(sparseVector('')).toEqual({ indices: [], values: [] });
  });

  test('When query and document use other forms and case of a word, then they share the term id (shared tokenizer)', () => {
    expect(sparseVector('KITCHENS').indices).toEqual(sparseVector('kitchen').indices);
    expect(sparseVector('Café').indices).toEqual(sparseVector('cafe').indices);
  });

  test('When hashing, then term ids are stable FNV-1a values', () => {
    // Reference values of 32-bit FNV-1a.
    expect(termId('')).toBe(0x811c9dc5);
    expect(termId('a')).toBe(0xe40c292c);
    expect(termId('foobar')).toBe(0xbf9cf968);
    // Non-ASCII tokens hash their UTF-8 bytes.
    expect(termId('日')).toBe(termId('日'));
    expect(termId('日')).not.toBe(termId('月'));
  });

  test('When the same text is vectorised twice, then the result is identical', () => {
    const text = 'Quarterly revenue grew in the northern sales region';
    expect(sparseVector(text)).toEqual(sparseVector(text));
  });
});
