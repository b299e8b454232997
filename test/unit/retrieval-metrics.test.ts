import { mrrAt, ndcgAt, percentile, recallAt } from '../../scripts/eval/retrieval-metrics';

const qrels = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('ndcgAt', () => {
  test('When the relevant documents lead in ideal order, then it is 1', () => {
    expect(ndcgAt(['a', 'b', 'x'], qrels({ a: 2, b: 1 }), 10)).toBeCloseTo(1, 12);
  });

  test('When the only relevant document is at rank 2, then it is 1/log2(3)', () => {
    expect(ndcgAt(['x', 'a', 'y'], qrels({ a: 1 }), 10)).toBeCloseTo(1 / Math.log2(3), 12);
  });

  test('When grades differ and the order is swapped, then gain is the grade itself (trec_eval), not 2^grade - 1', () => {
    // DCG = 1/log2(2) + 2/log2(3); ideal = 2/log2(2) + 1/log2(3).
    const expected = (1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3));
    expect(ndcgAt(['b', 'a'], qrels({ a: 2, b: 1 }), 10)).toBeCloseTo(expected, 12);
  });

  test('When no relevant document is retrieved, then it is 0', () => {
    expect(ndcgAt(['x', 'y'], qrels({ a: 1 }), 10)).toBe(0);
    expect(ndcgAt([], qrels({ a: 1 }), 10)).toBe(0);
  });

  test('When a relevant document sits below the cut-off, then it adds nothing, and the ideal is cut too', () => {
    expect(ndcgAt(['x', 'a'], qrels({ a: 1 }), 1)).toBe(0);
    // Three relevant, k 2: the ideal holds two, so two relevant at the top is perfect.
    expect(ndcgAt(['a', 'b', 'x'], qrels({ a: 1, b: 1, c: 1 }), 2)).toBeCloseTo(1, 12);
  });

  test('When a judgement has grade 0, then it neither adds gain nor raises the ideal', () => {
    expect(ndcgAt(['z', 'a'], qrels({ a: 1, z: 0 }), 10)).toBeCloseTo(1 / Math.log2(3), 12);
  });
});

describe('recallAt', () => {
  test('When some relevant documents are above the cut-off, then it is their share of all relevant ones', () => {
    const ranked = ['a', 'x', 'b', 'y', 'c'];
    const rel = qrels({ a: 1, b: 1, c: 1, d: 1 });
    expect(recallAt(ranked, rel, 1)).toBeCloseTo(1 / 4, 12);
    expect(recallAt(ranked, rel, 3)).toBeCloseTo(2 / 4, 12);
    expect(recallAt(ranked, rel, 100)).toBeCloseTo(3 / 4, 12);
  });

  test('When nothing relevant is retrieved, then it is 0', () => {
    expect(recallAt(['x'], qrels({ a: 1 }), 10)).toBe(0);
  });

  test('When grades are higher than 1, then a document still counts once', () => {
    expect(recallAt(['a'], qrels({ a: 3, b: 1 }), 10)).toBeCloseTo(0.5, 12);
  });
});

describe('mrrAt', () => {
  test('When the first relevant document is at rank 3, then it is 1/3', () => {
    expect(mrrAt(['x', 'y', 'a', 'b'], qrels({ a: 1, b: 1 }), 10)).toBeCloseTo(1 / 3, 12);
  });

  test('When the first relevant document is below the cut-off, then it is 0', () => {
    expect(mrrAt(['x', 'y', 'a'], qrels({ a: 1 }), 2)).toBe(0);
  });

  test('When the top document is relevant, then it is 1', () => {
    expect(mrrAt(['a', 'x'], qrels({ a: 1 }), 10)).toBe(1);
  });
});

describe('percentile', () => {
  test('When asked for p50 and p95, then it answers the nearest rank without interpolation', () => {
    const xs = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted on purpose
    expect(percentile(xs, 50)).toBe(10);
    expect(percentile(xs, 95)).toBe(19);
    expect(percentile([], 50)).toBeNaN();
  });
});
