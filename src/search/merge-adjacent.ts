/**
 * Merges hits that are consecutive chunks of one document into one passage, so a client reads the run once instead of
 * twice the chunker's overlap. The rules are the context builder's (core/passages.ts, `mergeCandidates`): only
 * chunks of the same document with consecutive chunkIndex merge, the overlap is kept once (or the texts are joined
 * with a newline when they do not overlap), pages are united and the passage keeps the best score of its chunks.
 */
import { mergeCandidates, type MergeOptions } from '../core/passages';
import type { SearchHit } from './search-chunks';

export interface MergedHit extends SearchHit {
  /** The run's chunks in chunkIndex order; `chunkId` and `chunkIndex` are its first. */
  chunkIds: string[];
  lastChunkIndex: number;
}

/**
 * The hits with each run of consecutive chunks merged, placed where the run's highest-ranked hit was (for hits ranked
 * by score, that is the best score). A hit that merges with nothing is returned unchanged, with `chunkIds: [chunkId]`.
 */
export function mergeAdjacent(hits: readonly SearchHit[], opts?: MergeOptions): MergedHit[] {
  const byChunkId = new Map(hits.map((h) => [h.chunkId, h]));
  return mergeCandidates(hits, opts)
    .sort((a, b) => a.order - b.order)
    .map((p) => {
      const first = byChunkId.get(p.chunkId)!;
      const merged: MergedHit = { ...first, chunkIds: p.chunkIds, lastChunkIndex: p.lastChunkIndex };
      if (p.chunkIds.length === 1) return merged;
      return { ...merged, text: p.text, score: p.score, pages: p.pages };
    });
}
