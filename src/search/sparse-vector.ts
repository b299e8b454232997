import { keywordTokens } from './keyword-tokenizer';

/**
 * Sparse vectors for Qdrant's keyword side. Terms come from `keywordTokens` (the tokenizer LanceDB's full-text index
 * uses too), so both backends match exactly the same terms.
 *
 * - Term id: the 32-bit FNV-1a hash of the token's UTF-8 bytes. Stable across processes and releases (no vocabulary to
 *   store or share); two tokens that collide simply share a dimension, which can only add a little noise to ranking.
 * - Value: the raw term frequency (count of the token). No document-length normalisation: Qdrant's `modifier: 'idf'`
 *   multiplies each query term by its inverse document frequency, so a score is sum(query count x idf x doc count).
 * - The query side uses the same function, so a query term repeated twice weighs twice.
 *
 * Indices are unique and sorted ascending (Qdrant requires unique indices; sorted keeps the output deterministic).
 */
export interface SparseVector {
  indices: number[];
  values: number[];
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** 32-bit FNV-1a of the UTF-8 bytes of `token`, as an unsigned integer. */
export function termId(token: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of encoder.encode(token)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The sparse (term id -> term frequency) vector of `text`; empty when the text holds only stop words or punctuation. */
export function sparseVector(text: string): SparseVector {
  const counts = new Map<number, number>();
  for (const token of keywordTokens(text)) {
    const id = termId(token);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const indices = [...counts.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((index) => counts.get(index) as number) };
}
