/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): merges ranked lists whose scores are not comparable
 * (cosine similarity vs BM25) by rank alone. The formula is Qdrant's, weights included (its Query API computes
 * `1 / (rank / weight + k - 1)` for `{ rrf: { k, weights } }`, rank from 1), so LanceDB's fusion, done here, ranks and
 * scores exactly as Qdrant's. Unweighted it is the paper's 1 / (k' + rank) with k' = k - 1. A weight scales a list's
 * ranks (weight 0.5 counts its first item as a second), so with a small k a weight acts almost as a factor on the
 * list's contributions, and with k = 60 it barely matters.
 */

/** The constant from the paper; it damps the weight of the very first ranks. */
export const DEFAULT_RRF_K = 60;

export interface FusedItem<T> {
  id: string;
  /** Sum over the lists that contain the item of 1 / (rank / weight + k - 1), rank starting at 1. */
  score: number;
  /** The item as it appeared in the first list that contains it. */
  item: T;
}

/**
 * Fuses ranked lists (each best first) into one list, best first. An id repeated within one list counts once, at its
 * best rank. Ties keep the order in which items were first seen (earlier lists first), so results are deterministic.
 */
export function reciprocalRankFusion<T extends { id: string }>(
  lists: ReadonlyArray<ReadonlyArray<T>>,
  k = DEFAULT_RRF_K,
  /** Per-list weights (a list's ranks are divided by its weight; 0 silences the list); default 1 each. */
  weights?: readonly number[],
): FusedItem<T>[] {
  if (!Number.isFinite(k) || k < 1) throw new RangeError(`RRF k must be a finite number >= 1, got ${k}`);
  if (weights && (weights.length !== lists.length || weights.some((w) => !Number.isFinite(w) || w < 0))) {
    throw new RangeError('RRF weights must be one finite number >= 0 per list');
  }
  const fused = new Map<string, FusedItem<T>>();
  for (const [li, list] of lists.entries()) {
    const weight = weights?.[li] ?? 1;
    const seen = new Set<string>();
    list.forEach((item, index) => {
      if (seen.has(item.id)) return;
      seen.add(item.id);
      const contribution = weight === 0 ? 0 : 1 / ((index + 1) / weight + k - 1);
      const existing = fused.get(item.id);
      if (existing) existing.score += contribution;
      else fused.set(item.id, { id: item.id, score: contribution, item });
    });
  }
  // Array.prototype.sort is stable, so equal scores keep first-seen order.
  return [...fused.values()].sort((a, b) => b.score - a.score);
}
