import fc from 'fast-check';
import { selectMmr } from '../../src/search/mmr';
import { candidateCount, MMR_MAX_CANDIDATES } from '../../src/search/search-options';

interface Hit {
  id: string;
  title: string;
  text: string;
  score: number;
}

const hit = (id: string, text: string, score: number): Hit => ({ id, title: '', text, score });
const ids = (hits: readonly Hit[]) => hits.map((h) => h.id);

describe('maximal marginal relevance', () => {
  const nearDuplicates = [
    hit('a1', 'Refunds are paid within 14 days of a cancelled order.', 0.9),
    hit('a2', 'Refunds are paid within 14 days of any cancelled order.', 0.88),
    hit('a3', 'Refunds are paid within fourteen days of a cancelled order.', 0.86),
    hit('b', 'Shipping to Norway takes five working days by courier.', 0.8),
  ];

  test('When near-duplicates lead the list, then with diversity a distinct hit comes second', () => {
    expect(ids(selectMmr(nearDuplicates, 2, 0.5))).toEqual(['a1', 'b']);
  });

  test('When lambda is 1, then the hits keep their order', () => {
    expect(ids(selectMmr(nearDuplicates, 4, 1))).toEqual(['a1', 'a2', 'a3', 'b']);
  });

  test('When every score is equal, then the first pick is the first hit and the rest follow by novelty', () => {
    const flat = nearDuplicates.map((h) => ({ ...h, score: 1 }));
    expect(ids(selectMmr(flat, 2, 0.7))).toEqual(['a1', 'b']);
  });

  test('When hits have no keyword terms, then they count as dissimilar and order stays by relevance', () => {
    const empty = [hit('x', '', 3), hit('y', 'the of and', 2), hit('z', '', 1)];
    expect(ids(selectMmr(empty, 3, 0.2))).toEqual(['x', 'y', 'z']);
  });

  test('When lambda is outside [0, 1], then it is refused', () => {
    expect(() => selectMmr(nearDuplicates, 2, 1.5)).toThrow(RangeError);
    expect(() => selectMmr(nearDuplicates, 2, Number.NaN)).toThrow(RangeError);
  });

  test('When diversity is on, then it over-fetches max(3k, 20) candidates, at most 100 and never fewer than k', () => {
    expect(candidateCount(5, {})).toBe(5);
    expect(candidateCount(5, { diversity: { lambda: 0.7 } })).toBe(20);
    expect(candidateCount(10, { diversity: { lambda: 0.7 } })).toBe(30);
    expect(candidateCount(50, { diversity: { lambda: 0.7 } })).toBe(MMR_MAX_CANDIDATES);
    expect(candidateCount(100, { diversity: { lambda: 0.7 } })).toBe(100);
  });

  const words = ['refund', 'order', 'courier', 'norway', 'invoice', 'plan', 'annual', 'billing'];
  const hitsArb = fc
    .array(
      fc.record({
        text: fc.array(fc.constantFrom(...words), { maxLength: 12 }).map((w) => w.join(' ')),
        // Tenths: distinct scores stay distinct after normalisation, so "the best" is unambiguous.
        score: fc.integer({ min: -50, max: 50 }).map((n) => n / 10),
      }),
      { maxLength: 30 },
    )
    .map((list) => list.map((h, i) => hit(`h${i}`, h.text, h.score)));

  // Hundredths: a subnormal lambda would round lambda * relevance to one value for every hit.
  const lambdaArb = fc.integer({ min: 0, max: 100 }).map((n) => n / 100);

  test('When any lambda and k are given, then the result is min(k, n) distinct hits of the input', () => {
    fc.assert(
      fc.property(hitsArb, fc.integer({ min: 0, max: 40 }), lambdaArb, (hits, k, lambda) => {
        const out = selectMmr(hits, k, lambda);
        expect(out).toHaveLength(Math.min(k, hits.length));
        expect(new Set(out).size).toBe(out.length);
        for (const h of out) expect(hits).toContain(h);
        // Deterministic, and unless relevance is ignored the best-scored hit (the first on ties) comes first.
        expect(selectMmr(hits, k, lambda)).toEqual(out);
        if (out.length > 0 && lambda > 0) expect(out[0]).toBe(hits.find((h) => h.score === Math.max(...hits.map((x) => x.score))));
      }),
    );
  });

  test('When lambda is 1 and hits are ranked best first, then MMR returns the first k unchanged', () => {
    fc.assert(
      fc.property(hitsArb, fc.integer({ min: 0, max: 40 }), (hits, k) => {
        const ranked = [...hits].sort((a, b) => b.score - a.score);
        expect(selectMmr(ranked, k, 1)).toEqual(ranked.slice(0, k));
      }),
    );
  });
});
