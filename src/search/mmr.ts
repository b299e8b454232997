/**
 * Maximal marginal relevance: re-ranks search hits so that near-duplicates of what is already chosen give way to
 * other relevant hits. Each step picks the candidate with the best `lambda * relevance - (1 - lambda) * similarity`,
 * where similarity is its highest similarity to an already chosen hit.
 *
 * The stores do not return vectors, so similarity is the cosine of keyword-term frequency vectors (the terms keyword
 * search indexes, from the same tokenizer). Relevance is the score min-max normalised within the candidates: scores
 * are only comparable within one response, and normalising puts them on the same [0, 1] scale as the similarity.
 */
import { chunkKeywordText, keywordTokens } from './keyword-tokenizer';

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
  const relevance = normalisedScores(hits);
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

/** Scores mapped to [0, 1] within the list; all 1 when they are equal (no hit is more relevant than another). */
function normalisedScores(hits: readonly MmrCandidate[]): number[] {
  const scores = hits.map((h) => h.score);
  const min = Math.min(...scores);
  const range = Math.max(...scores) - min;
  return scores.map((s) => (range > 0 ? (s - min) / range : 1));
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
