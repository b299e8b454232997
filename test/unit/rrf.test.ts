import { reciprocalRankFusion } from '../../src/core/rrf';

const ids = (...names: string[]) => names.map((id) => ({ id }));

/** Qdrant's formula: 1 / (rank / weight + k - 1), rank from 1. */
const q = (rank: number, k: number, weight = 1) => 1 / (rank / weight + k - 1);

describe('reciprocalRankFusion', () => {
  test('When two lists rank items differently, then scores are the sums of 1/(k - 1 + rank)', () => {
    const fused = reciprocalRankFusion([ids('a', 'b', 'c'), ids('b', 'd')], 60);
    // b: 1/61 + 1/60; a: 1/60; d: 1/61; c: 1/62.
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused[0].score).toBeCloseTo(1 / 61 + 1 / 60, 12);
    expect(fused[1].score).toBeCloseTo(1 / 60, 12);
    expect(fused[2].score).toBeCloseTo(1 / 61, 12);
    expect(fused[3].score).toBeCloseTo(1 / 62, 12);
  });

  test('When k is 1, then scores are plain reciprocal ranks', () => {
    const fused = reciprocalRankFusion([ids('a', 'b'), ids('b', 'c')], 1);
    // a: 1; b: 1/2 + 1 = 3/2; c: 1/2.
    expect(fused.map((f) => [f.id, f.score])).toEqual([
      ['b', 1.5],
      ['a', 1],
      ['c', 0.5],
    ]);
  });

  test('When k is omitted, then 60 is used', () => {
    expect(reciprocalRankFusion([ids('a')])[0].score).toBeCloseTo(1 / 60, 12);
  });

  test('When scores tie, then the item seen first comes first', () => {
    const fused = reciprocalRankFusion([ids('x', 'y'), ids('y', 'x')]);
    expect(fused.map((f) => f.id)).toEqual(['x', 'y']);
    expect(fused[0].score).toBe(fused[1].score);
  });

  test('When an id repeats within one list, then it counts once at its best rank', () => {
    const fused = reciprocalRankFusion([ids('a', 'a', 'b')], 60);
    expect(fused.map((f) => f.id)).toEqual(['a', 'b']);
    expect(fused[0].score).toBeCloseTo(q(1, 60), 12);
    // b keeps its own rank (3), the duplicate still occupied rank 2.
    expect(fused[1].score).toBeCloseTo(q(3, 60), 12);
  });

  test('When items carry data, then the fused entry keeps the item from the first list that has it', () => {
    const dense = [{ id: 'a', from: 'dense' }];
    const keyword = [
      { id: 'a', from: 'keyword' },
      { id: 'b', from: 'keyword' },
    ];
    const fused = reciprocalRankFusion([dense, keyword]);
    expect(fused[0].item).toBe(dense[0]);
    expect(fused[1].item).toBe(keyword[1]);
  });

  test('When there are no lists or only empty ones, then the result is empty', () => {
    expect(reciprocalRankFusion([])).toEqual([]);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });

  test('When k is below 1 or not finite, then it throws', () => {
    expect(() => reciprocalRankFusion([ids('a')], 0)).toThrow(RangeError);
    expect(() => reciprocalRankFusion([ids('a')], Number.NaN)).toThrow(RangeError);
  });

  test('When lists are weighted, then each list’s ranks are divided by its weight', () => {
    // a: first in list 1 (weight 1); b: second in list 1 and first in list 2 (weight 0.5).
    const fused = reciprocalRankFusion([ids('a', 'b'), ids('b', 'c')], 60, [1, 0.5]);
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'c']);
    expect(fused[0].score).toBeCloseTo(q(2, 60) + q(1, 60, 0.5), 12);
    expect(fused[1].score).toBeCloseTo(q(1, 60), 12);
    expect(fused[2].score).toBeCloseTo(q(2, 60, 0.5), 12);
    // With k = 1 a small weight makes a list's first place worth less than the other list's tenth.
    const small = reciprocalRankFusion([ids('d'), ids(...'abcdefghij'.split(''))], 1, [0.05, 1]);
    expect(small[0].id).toBe('a');
    expect(small.find((f) => f.id === 'd')!.score).toBeCloseTo(q(1, 1, 0.05) + q(4, 1), 12);
    // A weight of 0 keeps a list's items (at score 0) but never lets them outrank the others.
    expect(reciprocalRankFusion([ids('a'), ids('z')], 60, [1, 0]).map((f) => f.id)).toEqual(['a', 'z']);
  });

  test('When weights do not match the lists or are negative, then it throws', () => {
    expect(() => reciprocalRankFusion([ids('a'), ids('b')], 60, [1])).toThrow(RangeError);
    expect(() => reciprocalRankFusion([ids('a')], 60, [-1])).toThrow(RangeError);
  });
});
