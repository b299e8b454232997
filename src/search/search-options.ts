/**
 * Per-request retrieval options on top of searchChunks, shared by POST /search and the session context: diversity
 * (maximal marginal relevance over a deeper candidate list) and merging of adjacent chunks.
 */
import { mergeAdjacent, type MergedHit } from './merge-adjacent';
import { selectMmr } from './mmr';
import { searchChunks, type SearchHit, type SearchInput } from './search-chunks';

/** MMR can only promote what was fetched: it picks k of this many candidates, max(3k, MIN) capped at MAX. */
const MMR_CANDIDATE_FACTOR = 3;
const MMR_MIN_CANDIDATES = 20;
export const MMR_MAX_CANDIDATES = 100;

export interface SearchOptions {
  /** MMR on: lambda in [0, 1] (1 = relevance only). Absent: hits keep the search's order. */
  diversity?: { lambda: number };
  mergeAdjacent?: boolean;
}

/** How many hits to fetch so that the options can still return k. */
export function candidateCount(k: number, opts: SearchOptions): number {
  if (opts.diversity === undefined) return k;
  return Math.max(k, Math.min(MMR_MAX_CANDIDATES, Math.max(MMR_CANDIDATE_FACTOR * k, MMR_MIN_CANDIDATES)));
}

/** At most k hits: MMR over the candidates first, then runs of consecutive chunks merged (so possibly fewer than k). */
function applySearchOptions(candidates: readonly SearchHit[], k: number, opts: SearchOptions): Array<SearchHit | MergedHit> {
  const selected = opts.diversity === undefined ? candidates.slice(0, k) : selectMmr(candidates, k, opts.diversity.lambda);
  return opts.mergeAdjacent ? mergeAdjacent(selected) : selected;
}

/** searchChunks with the options applied. */
export async function searchWithOptions(
  deps: Parameters<typeof searchChunks>[0],
  tenant: string,
  input: SearchInput,
  opts: SearchOptions,
  signal?: AbortSignal,
): Promise<Array<SearchHit | MergedHit>> {
  const candidates = await searchChunks(deps, tenant, { ...input, k: candidateCount(input.k, opts) }, signal);
  return applySearchOptions(candidates, input.k, opts);
}
