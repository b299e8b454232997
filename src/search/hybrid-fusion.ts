import type { Embedder } from '../gateway/embedder';
import { DEFAULT_RRF_K } from '../core/rrf';
import type { HybridFusion } from '../stores/vector/vector-store';

/** Equal weights, k = 60 (the paper's constant): for an embedding model that understands meaning. */
export const SEMANTIC_FUSION: HybridFusion = { k: DEFAULT_RRF_K, denseWeight: 1 };

/**
 * For a lexical embedder (the offline hashing one), whose vectors know only the words BM25 already scores: its dense
 * side adds little, and with equal weights it drags good keyword hits down (SciFact nDCG@10 0.58 against keyword's
 * 0.69). With k = 2 and the dense side at 0.1 the fusion stays keyword-led and uses the dense ranking to break near-
 * ties and add recall. Chosen on SciFact's train queries (809), never its test ones: see docs/evaluation.md, Retrieval quality.
 */
export const LEXICAL_FUSION: HybridFusion = { k: 2, denseWeight: 0.1 };

/** The fusion for an index's embedder, with configured values (HYBRID_RRF_K, HYBRID_DENSE_WEIGHT) taking precedence. */
export function fusionFor(embedder: Pick<Embedder, 'lexical'>, configured: Partial<HybridFusion> = {}): HybridFusion {
  const base = embedder.lexical ? LEXICAL_FUSION : SEMANTIC_FUSION;
  return { k: configured.k ?? base.k, denseWeight: configured.denseWeight ?? base.denseWeight };
}
