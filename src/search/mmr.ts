/**
 * Maximal marginal relevance: re-ranks search hits so that near-duplicates of what is already chosen give way to
 * other relevant hits. Each step picks the candidate with the best `lambda * relevance - (1 - lambda) * similarity`,
 * where similarity is its highest similarity to an already chosen hit.
 *
 * The stores do not return vectors, so similarity is the cosine of keyword-term frequency vectors (the terms keyword
 * search indexes, from the same tokenizer). Relevance comes from the rank, not the score: 1 for the best, falling
 * evenly to 1/n for the last of n candidates. Scores are only comparable within one response, and their spread
 * depends on the mode and the fusion (a keyword-led fusion with a small RRF k gives the second hit half the first
 * one's score), so min-max normalised scores would let the mode decide how much diversity a lambda buys.
 */
import { chunkKeywordText, keywordTokens } from '../core/keywords/keyword-tokenizer';

/** Leans to relevance: a near-duplicate must be clearly less relevant before a distinct hit takes its place. */
export const DEFAULT_MMR_LAMBDA = 0.7;

export interface MmrCandidate {
  title: string;
  text: string;
  score: number;
}

interface TermVector {
  counts: Map<string, number>;
  norm: number;
}

/**
 * The `k` hits MMR selects from `hits` (best first), in selection order. `lambda` in [0, 1]: 1 ranks by relevance
 * alone (the original order), 0 by novelty alone. Ties go to the hit ranked higher originally, so the result is
 * deterministic.
 */
export function selectMmr<T extends MmrCandidate>(hits: readonly T[], k: number, lambda: number = DEFAULT_MMR_LAMBDA): T[] {
  if (!(lambda >= 0 && lambda <= 1)) throw new RangeError(`lambda must be in [0, 1], got ${lambda}`);
  const relevance = rankRelevance(hits);
  const vectors = hits.map(termVector);
  // Highest similarity of each candidate to anything chosen so far, updated after every pick: k * n similarities.
  const maxSimilarity = new Array<number>(hits.length).fill(0);
  const remaining = hits.map((_, i) => i);
  const chosen: T[] = [];
  while (chosen.length < k && remaining.length > 0) {
    let bestAt = 0;
    let bestValue = -Infinity;
    remaining.forEach((i, at) => {
      const value = lambda * relevance[i] - (1 - lambda) * maxSimilarity[i];
      // `remaining` stays in original order, so strict > keeps the higher-ranked hit on ties.
      if (value > bestValue) {
        bestValue = value;
        bestAt = at;
      }
    });
    const [picked] = remaining.splice(bestAt, 1);
    chosen.push(hits[picked]);
    for (const i of remaining) maxSimilarity[i] = Math.max(maxSimilarity[i], cosine(vectors[i], vectors[picked]));
  }
  return chosen;
}

/** 1 - rank / n, rank from 0 by score (best first); equal scores share the better rank, so all-equal hits are all 1. */
function rankRelevance(hits: readonly MmrCandidate[]): number[] {
  const order = hits.map((h, i) => ({ score: h.score, i })).sort((a, b) => b.score - a.score);
  const relevance = new Array<number>(hits.length);
  let rank = 0;
  order.forEach((entry, position) => {
    if (position > 0 && entry.score !== order[position - 1].score) rank = position;
    relevance[entry.i] = 1 - rank / hits.length;
  });
  return relevance;
}

function termVector(hit: MmrCandidate): TermVector {
  const counts = new Map<string, number>();
  for (const term of keywordTokens(chunkKeywordText(hit))) counts.set(term, (counts.get(term) ?? 0) + 1);
  let squares = 0;
  for (const c of counts.values()) squares += c * c;
  return { counts, norm: Math.sqrt(squares) };
}

/** 0 when either side has no terms: nothing in common to penalise. */
function cosine(a: TermVector, b: TermVector): number {
  if (a.norm === 0 || b.norm === 0) return 0;
  const [small, large] = a.counts.size <= b.counts.size ? [a, b] : [b, a];
  let dot = 0;
  for (const [term, c] of small.counts) dot += c * (large.counts.get(term) ?? 0);
  return dot / (a.norm * b.norm);
}
