/**
 * What a physical vector index is built with. Every (tenant, collection) is served by exactly one index at a time
 * (its route, see IndexCatalog); an index holds vectors of one embedding model only, and its chunks were cut with one
 * chunking, so a collection reindexed with another model or chunking moves to a new index instead of mixing.
 */
export interface ChunkingSpec {
  chunkSize: number;
  chunkOverlap: number;
}

export interface IndexSpec {
  /** The physical index: a LanceDB table name, or the Qdrant collection base `ragmem_<name>` (see vector-indexes.ts). */
  name: string;
  embeddingModel: string;
  dimensions: number;
  chunking: ChunkingSpec;
}

/** The shared index every collection starts on (also the home of session memory). */
export const DEFAULT_INDEX_NAME = 'chunks';

/** A reindex builds a dedicated index named after its job, so two builds never share one. */
export const reindexIndexName = (jobId: string) => `chunks_r${jobId}`;

export const isDefaultIndex = (spec: Pick<IndexSpec, 'name'>) => spec.name === DEFAULT_INDEX_NAME;
