import { LEXICAL_FUSION, SEMANTIC_FUSION, fusionFor } from '../../src/search/hybrid-fusion';

describe('fusionFor', () => {
  test('When the embedder is lexical, then the fusion is keyword-led; otherwise equal weights at k 60', () => {
    expect(fusionFor({ lexical: true })).toEqual(LEXICAL_FUSION);
    expect(fusionFor({})).toEqual(SEMANTIC_FUSION);
    expect(SEMANTIC_FUSION).toEqual({ k: 60, denseWeight: 1 });
    expect(LEXICAL_FUSION.denseWeight).toBeLessThan(1);
  });

  test('When values are configured, then each one overrides the embedder’s default on its own', () => {
    expect(fusionFor({ lexical: true }, { denseWeight: 1 })).toEqual({ k: LEXICAL_FUSION.k, denseWeight: 1 });
    expect(fusionFor({}, { k: 5 })).toEqual({ k: 5, denseWeight: 1 });
  });
});
