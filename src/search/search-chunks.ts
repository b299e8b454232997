import type { Config } from '../config';
import type { Embedder } from '../gateway/embedder';
import { fusionFor } from './hybrid-fusion';
import { servedVersions } from './served-versions';
import type { MergeCandidate } from '../core/passages';
import type { DocumentStore } from '../stores/document/document-store';
import type { VectorIndexes } from '../indexes/vector-indexes';
import type { MetadataValue, ScoredChunk, SearchFilter, SearchMode } from '../stores/vector/vector-store';

export interface SearchInput {
  query: string;
  k: number;
  collection: string;
  mode: SearchMode;
  filter?: SearchFilter;
  /**
   * The query's embedding by the default embedder, shared with another search of the caller (memoised there). Asked
   * for only if the collection's index is of that model; otherwise (and when absent) the query is embedded here with
   * the index's own model.
   */
  vector?: () => Promise<Float32Array>;
}

/** A chunk found, with what merging it into a passage needs (core/passages) and what a client shows. */
export interface SearchHit extends MergeCandidate {
  headingPath: string[];
  metadata: Record<string, MetadataValue>;
}

/**
 * Searches a tenant's chunks and keeps only those of the version each document currently serves, so a deleted
 * document disappears the moment its record goes and a replacement switches over whole, never half old, half new.
 */
export async function searchChunks(
  deps: { config: Readonly<Pick<Config, 'search'>>; documents: DocumentStore; indexes: VectorIndexes; embedder: Embedder },
  tenant: string,
  input: SearchInput,
  signal?: AbortSignal,
): Promise<SearchHit[]> {
  // The route is read on every search: after a reindex switches, the next search reads the new index.
  const index = await deps.indexes.live(tenant, input.collection);
  const shared = index.embedder.model === deps.embedder.model ? input.vector : undefined;
  const vector =
    input.mode === 'keyword' ? undefined : shared ? await shared() : (await index.embedder.embed([input.query], { signal, tenant }))[0];
  const search = async (fetchK: number) => {
    const found = await index.store.search({
      tenant,
      collection: input.collection,
      text: input.query,
      vector,
      mode: input.mode,
      k: fetchK,
      filter: input.filter,
      fusion: fusionFor(index.embedder, deps.config.search.fusion),
    });
    return { hits: await currentVersionsOf(deps.documents, tenant, found, input.k), full: found.length === fetchK };
  };
  // Chunks of documents being replaced or deleted are dropped, so a little more than k is fetched; only when too many
  // were dropped is the search repeated deeper. Always fetching deep cost every search (a hybrid LanceDB search at
  // k 26 cost 17 ms of CPU, at k 12 about 11 ms: under 32 asking clients that was the largest part of an ask).
  let fetchK = input.k + Math.ceil(input.k / 4) + 2;
  for (;;) {
    const page = await search(fetchK);
    if (page.hits.length >= input.k || !page.full || fetchK >= MAX_FETCH) return page.hits;
    fetchK = Math.min(fetchK * 4, MAX_FETCH);
  }
}

/** Searches never fetch more than this many chunks per call (k is at most 100 at the API). */
const MAX_FETCH = 400;

/** The hits (at most k) whose chunk is of the version its document serves (see served-versions), with its current title. */
async function currentVersionsOf(documents: DocumentStore, tenant: string, found: ScoredChunk[], k: number): Promise<SearchHit[]> {
  const docs = await documents.getMany(tenant, [...new Set(found.map((f) => f.chunk.documentId))]);
  const served = servedVersions(docs, found);
  const hits: SearchHit[] = [];
  for (const { chunk, score } of found) {
    const doc = docs.get(chunk.documentId);
    if (!doc || served.get(chunk.documentId) !== chunk.documentVersion) continue;
    hits.push({
      chunkId: chunk.id,
      documentId: chunk.documentId,
      title: doc.title,
      text: chunk.text,
      score,
      chunkIndex: chunk.chunkIndex,
      pages: chunk.pages,
      headingPath: chunk.headingPath,
      metadata: chunk.metadata,
    });
    if (hits.length === k) break;
  }
  return hits;
}
