/**
 * How the hybrid fusion's parameters were chosen, reproducibly: given each query's dense and keyword rankings (from
 * POST /search in those modes), fuse them with the product's own RRF (src/core/rrf.ts, Qdrant's formula) over a grid
 * of (k, dense weight) and score each fusion. Run it on a training split (`--split train`), never on the test queries
 * docs/evaluation.md reports.
 */
import { reciprocalRankFusion } from '../../src/core/rrf';
import { mean, ndcgAt, recallAt } from './retrieval-metrics';

export const GRID_K = [1, 2, 5, 10, 20, 60];
export const GRID_DENSE_WEIGHT = [0.05, 0.1, 0.2, 0.3, 0.5, 1];

export interface RankedQuery {
  qrels: ReadonlyMap<string, number>;
  dense: string[];
  keyword: string[];
}

export interface GridPoint {
  k: number;
  denseWeight: number;
  ndcg10: number;
  recall100: number;
}

/** Every grid point, best nDCG@10 first. */
export function fusionGrid(queries: readonly RankedQuery[]): GridPoint[] {
  const points: GridPoint[] = [];
  for (const k of GRID_K) {
    for (const denseWeight of GRID_DENSE_WEIGHT) {
      const fused = queries.map((q) => {
        const lists = [q.dense, q.keyword].map((ids) => ids.map((id) => ({ id })));
        return reciprocalRankFusion(lists, k, [denseWeight, 1]).map((f) => f.id);
      });
      points.push({
        k,
        denseWeight,
        ndcg10: mean(fused.map((ranked, i) => ndcgAt(ranked, queries[i].qrels, 10))),
        recall100: mean(fused.map((ranked, i) => recallAt(ranked, queries[i].qrels, 100))),
      });
    }
  }
  return points.sort((a, b) => b.ndcg10 - a.ndcg10);
}
