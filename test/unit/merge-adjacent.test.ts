import fc from 'fast-check';
import { mergeAdjacent } from '../../src/search/merge-adjacent';
import type { SearchHit } from '../../src/search/search-chunks';
import { searchHit } from '../support/context-builders';

const hit = searchHit;

describe('merging adjacent chunks', () => {
  test('When two consecutive chunks overlap, then they become one hit with the overlap once', () => {
    const merged = mergeAdjacent([
      hit({ chunkId: 'c4', chunkIndex: 4, score: 0.9, pages: [2], text: 'Annual billing gives two months free. Refunds take 14 days.' }),
      hit({
        chunkId: 'c3',
        chunkIndex: 3,
        score: 0.7,
        pages: [1, 2],
        text: 'The Pro plan costs 20 euros per month. Annual billing gives two months free.',
      }),
    ]);
    expect(merged).toEqual([
      expect.objectContaining({
        chunkId: 'c3',
        chunkIds: ['c3', 'c4'],
        chunkIndex: 3,
        lastChunkIndex: 4,
        score: 0.9,
        pages: [1, 2],
        text: 'The Pro plan costs 20 euros per month. Annual billing gives two months free. Refunds take 14 days.',
      }),
    ]);
  });

  test('When consecutive chunks share only a few characters, then they are joined with a newline, nothing cut', () => {
    const [merged] = mergeAdjacent([
      hit({ chunkId: 'c0', chunkIndex: 0, text: 'It ends in tea' }),
      hit({ chunkId: 'c1', chunkIndex: 1, text: 'tea time.' }),
    ]);
    expect(merged.text).toBe('It ends in tea\ntea time.');
  });

  test('When a run merges, then it takes the place of its highest-ranked hit and the others keep their order', () => {
    const merged = mergeAdjacent([
      hit({ chunkId: 'b0', documentId: 'doc-b', chunkIndex: 0, score: 0.95 }),
      hit({ chunkId: 'a5', chunkIndex: 5, score: 0.9 }),
      hit({ chunkId: 'a9', chunkIndex: 9, score: 0.8 }),
      hit({ chunkId: 'a6', chunkIndex: 6, score: 0.7 }),
    ]);
    expect(merged.map((h) => h.chunkIds)).toEqual([['b0'], ['a5', 'a6'], ['a9']]);
  });

  test('When a hit merges with nothing, then it comes back unchanged with its own id as chunkIds', () => {
    const alone = hit({ chunkId: 'c2', chunkIndex: 2, text: '  padded text  ', pages: [3] });
    expect(mergeAdjacent([alone])).toEqual([{ ...alone, chunkIds: ['c2'], lastChunkIndex: 2 }]);
  });

  // Texts made of a few words, and chunks that repeat their predecessor's tail (as the chunker's overlap does).
  const words = fc
    .array(fc.constantFrom('river', 'quartz', 'harbor', 'lantern', 'orchard', 'signal', '.'), { minLength: 1, maxLength: 30 })
    .map((w) => w.join(' '));
  const hitsArb = fc
    .array(
      fc.record({
        doc: fc.integer({ min: 0, max: 2 }),
        chunkIndex: fc.integer({ min: 0, max: 6 }),
        text: words,
        overlap: fc.boolean(),
        score: fc.integer({ min: 0, max: 100 }),
      }),
      { maxLength: 15 },
    )
    .map((list) => {
      const seen = new Set<string>();
      const hits: SearchHit[] = [];
      for (const h of list) {
        const chunkId = `d${h.doc}-c${h.chunkIndex}`;
        if (seen.has(chunkId)) continue;
        seen.add(chunkId);
        const prev = hits.find((x) => x.documentId === `d${h.doc}` && x.chunkIndex === h.chunkIndex - 1);
        const text = h.overlap && prev ? `${prev.text.slice(-20)} ${h.text}` : h.text;
        hits.push(hit({ chunkId, documentId: `d${h.doc}`, chunkIndex: h.chunkIndex, text, score: h.score / 100 }));
      }
      return hits;
    });

  test('When any hits merge, then no text is lost and only consecutive chunks of one document are merged', () => {
    fc.assert(
      fc.property(hitsArb, (hits) => {
        const merged = mergeAdjacent(hits);
        const byId = new Map(hits.map((h) => [h.chunkId, h]));
        // Every chunk is in exactly one result.
        expect(merged.flatMap((m) => m.chunkIds).sort()).toEqual(hits.map((h) => h.chunkId).sort());
        for (const m of merged) {
          const parts = m.chunkIds.map((id) => byId.get(id)!);
          expect(m.chunkId).toBe(m.chunkIds[0]);
          for (const [i, p] of parts.entries()) {
            expect(p.documentId).toBe(m.documentId);
            expect(p.chunkIndex).toBe(m.chunkIndex + i);
            expect(m.text).toContain(p.text.trim());
          }
          expect(m.lastChunkIndex).toBe(m.chunkIndex + parts.length - 1);
          expect(m.score).toBe(Math.max(...parts.map((p) => p.score)));
        }
        // Runs are maximal: what stays apart is another document or a gap.
        for (const a of merged) {
          for (const b of merged) expect(a.documentId === b.documentId && b.chunkIndex === a.lastChunkIndex + 1).toBe(false);
        }
      }),
    );
  });
});
