import { reciprocalRankFusion } from '../../src/search/rrf';

const ids = (...names: string[]) => names.map((id) => ({ id }));

describe('reciprocalRankFusion', () => {
  test('When two lists rank items differently, then scores are the sums of 1/(k + rank)', () => {
    const fused = reciprocalRankFusion([ids('a', 'b', 'c'), ids('b', 'd')], 60);
    // b: 1/62 + 1/61; a: 1/61; d: 1/62; c: 1/63.
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused[0].score).toBeCloseTo(1 / 62 + 1 / 61, 12);
    expect(fused[1].score).toBeCloseTo(1 / 61, 12);
    expect(fused[2].score).toBeCloseTo(1 / 62, 12);
    expect(fused[3].score).toBeCloseTo(1 / 63, 12);
  });

  test('When k is small, then top ranks dominate as the formula says', () => {
    const fused = reciprocalRankFusion([ids('a', 'b'), ids('b', 'c')], 1);
    // a: 1/2; b: 1/3 + 1/2 = 5/6; c: 1/3.
    expect(fused.map((f) => [f.id, Number(f.score.toFixed(6))])).toEqual([
      ['b', Number((5 / 6).toFixed(6))],
      ['a', 0.5],
      ['c', Number((1 / 3).toFixed(6))],
    ]);
  });

  test('When k is omitted, then 60 is used', () => {
    expect(reciprocalRankFusion([ids('a')])[0].score).toBeCloseTo(1 / 61, 12);
  });

  test('When scores tie, then the item seen first comes first', () => {
    const fused = reciprocalRankFusion([ids('x', 'y'), ids('y', 'x')]);
    expect(fused.map((f) => f.id)).toEqual(['x', 'y']);
    expect(fused[0].score).toBe(fused[1].score);
  });

  test('When an id repeats within one list, then it counts once at its best rank', () => {
    const fused = reciprocalRankFusion([ids('a', 'a', 'b')], 60);
    expect(fused.map((f) => f.id)).toEqual(['a', 'b']);
    expect(fused[0].score).toBeCloseTo(1 / 61, 12);
    // b keeps its own rank (3), the duplicate still occupied rank 2.
    expect(fused[1].score).toBeCloseTo(1 / 63, 12);
  });

  test('When items carry data, then the fused entry keeps the item from the first list that has it', () => {
    const dense = [{ id: 'a', from: 'dense' }];
    const keyword = [{ id: 'a', from: 'keyword' }, { id: 'b', from: 'keyword' }];
    const fused = reciprocalRankFusion([dense, keyword]);
    expect(fused[0].item).toBe(dense[0]);
    expect(fused[1].item).toBe(keyword[1]);
  });

  test('When there are no lists or only empty ones, then the result is empty', () => {
    expect(reciprocalRankFusion([])).toEqual([]);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });

  test('When k is negative or not finite, then it throws', () => {
    expect(() => reciprocalRankFusion([ids('a')], -1)).toThrow(RangeError);
    expect(() => reciprocalRankFusion([ids('a')], Number.NaN)).toThrow(RangeError);
  });

  test('When lists are weighted, then each contribution is scaled by its list’s weight', () => {
    // a: first in list 1 (weight 1); b: first in list 2 (weight 0.5) and second in list 1.
    const fused = reciprocalRankFusion([ids('a', 'b'), ids('b', 'c')], 60, [1, 0.5]);
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'c']);
    expect(fused[0].score).toBeCloseTo(1 / 62 + 0.5 / 61, 12);
    expect(fused[1].score).toBeCloseTo(1 / 61, 12);
    expect(fused[2].score).toBeCloseTo(0.5 / 62, 12);
    // A weight of 0 keeps a list's items (at score 0) but never lets them outrank the others.
    expect(reciprocalRankFusion([ids('a'), ids('z')], 60, [1, 0]).map((f) => f.id)).toEqual(['a', 'z']);
  });

  test('When weights do not match the lists or are negative, then it throws', () => {
    expect(() => reciprocalRankFusion([ids('a'), ids('b')], 60, [1])).toThrow(RangeError);
    expect(() => reciprocalRankFusion([ids('a')], 60, [-1])).toThrow(RangeError);
  });
});
