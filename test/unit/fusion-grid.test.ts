import { GRID_DENSE_WEIGHT, GRID_K, fusionGrid } from '../../scripts/eval/fusion-grid';

describe('fusionGrid', () => {
  test('When the keyword ranking is right and the dense one wrong, then the best fusions weigh the dense side least', () => {
    // The relevant document is first by keyword and last by dense; dense puts two wrong ones first.
    const queries = [{ qrels: new Map([['rel', 1]]), dense: ['x', 'y', 'rel'], keyword: ['rel', 'x'] }];
    const grid = fusionGrid(queries);
    expect(grid).toHaveLength(GRID_K.length * GRID_DENSE_WEIGHT.length);
    expect(grid[0].ndcg10).toBe(1);
    expect(grid[0].denseWeight).toBeLessThan(1);
    // Sorted best first, every point scored in [0, 1].
    for (let i = 1; i < grid.length; i++) expect(grid[i].ndcg10).toBeLessThanOrEqual(grid[i - 1].ndcg10);
    for (const point of grid) expect(point.recall100).toBe(1);
    // Equal weights at k = 60 put a dense-only document first: "x" is first by dense and second by keyword.
    const equal = grid.find((p) => p.k === 60 && p.denseWeight === 1)!;
    expect(equal.ndcg10).toBeLessThan(1);
  });
});
