/**
 * Ranking metrics as BEIR reports them (pytrec_eval, i.e. trec_eval's definitions). `ranked` is a list of document
 * ids, best first, without repeats; `qrels` maps a document id to its graded relevance, where only grades > 0 count.
 */
export type Qrels = ReadonlyMap<string, number>;

const gain = (qrels: Qrels, id: string) => Math.max(0, qrels.get(id) ?? 0);

/** trec_eval's ndcg_cut: gain = grade (not 2^grade - 1), discount log2(rank + 1), ideal from the grades sorted. */
export function ndcgAt(ranked: readonly string[], qrels: Qrels, k: number): number {
  const dcg = ranked.slice(0, k).reduce((sum, id, i) => sum + gain(qrels, id) / Math.log2(i + 2), 0);
  const ideal = [...qrels.values()]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  return ideal > 0 ? dcg / ideal : 0;
}

/** Share of the relevant documents found in the top k. */
export function recallAt(ranked: readonly string[], qrels: Qrels, k: number): number {
  const relevant = [...qrels.values()].filter((g) => g > 0).length;
  if (relevant === 0) return 0;
  return ranked.slice(0, k).filter((id) => gain(qrels, id) > 0).length / relevant;
}

/** Reciprocal rank of the first relevant document within the top k, 0 when there is none. */
export function mrrAt(ranked: readonly string[], qrels: Qrels, k: number): number {
  const i = ranked.slice(0, k).findIndex((id) => gain(qrels, id) > 0);
  return i < 0 ? 0 : 1 / (i + 1);
}

/** Nearest-rank percentile (no interpolation), NaN for no values. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const mean = (xs: readonly number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
