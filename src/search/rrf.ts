/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): merges ranked lists whose scores are not comparable
 * (cosine similarity vs BM25) by rank alone. Qdrant's Query API computes the same formula when given
 * `{ rrf: { k: DEFAULT_RRF_K } }` (pass k explicitly: its default may differ), so both stores rank hybrid results alike.
 */

/** The constant from the paper; it damps the weight of the very first ranks. */
export const DEFAULT_RRF_K = 60;

export interface FusedItem<T> {
  id: string;
  /** Sum over the lists that contain the item of 1 / (k + rank), rank starting at 1. */
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
  /** Per-list weights (weighted RRF: a list's contributions are multiplied by its weight); default 1 each. */
  weights?: readonly number[],
): FusedItem<T>[] {
  if (!Number.isFinite(k) || k < 0) throw new RangeError(`RRF k must be a finite number >= 0, got ${k}`);
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
      const contribution = weight / (k + index + 1);
      const existing = fused.get(item.id);
      if (existing) existing.score += contribution;
      else fused.set(item.id, { id: item.id, score: contribution, item });
    });
  }
  // Array.prototype.sort is stable, so equal scores keep first-seen order.
  return [...fused.values()].sort((a, b) => b.score - a.score);
}
