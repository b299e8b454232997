/**
 * The vector store boundary. Two implementations pass one contract suite (test/support/vector-store-contract.ts):
 * LanceDB (embedded, the default) and Qdrant (production). Tenant is a required argument of every read and delete:
 * no call can reach another tenant's chunks.
 */

/** What a store logs through (pino's Logger fits). */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export type MetadataValue = string | number | boolean;

export interface ChunkRecord {
  /** Deterministic: derived from document id, document version and chunk index (see src/ingest/chunk-id.ts). */
  id: string;
  tenant: string;
  collection: string;
  documentId: string;
  documentVersion: number;
  chunkIndex: number;
  title: string;
  text: string;
  tokenCount: number;
  /** 1-based page numbers the chunk spans; empty when the source has no pages. */
  pages: number[];
  /** Markdown heading path, outermost first; empty when unknown. */
  headingPath: string[];
  /** The document's metadata (flat: values are strings, numbers or booleans). */
  metadata: Record<string, MetadataValue>;
  vector: Float32Array;
}

export type StoredChunk = Omit<ChunkRecord, 'vector'>;

export type SearchMode = 'hybrid' | 'dense' | 'keyword';

export interface SearchFilter {
  /** Every key must match; an array value matches any of its values. */
  metadata?: Record<string, MetadataValue | MetadataValue[]>;
  documentIds?: string[];
}

export interface VectorSearchRequest {
  tenant: string;
  collection: string;
  /** The query text: used by the keyword side. */
  text: string;
  /** The query embedding: used by the dense side (required unless mode is 'keyword'). */
  vector?: Float32Array;
  mode: SearchMode;
  k: number;
  filter?: SearchFilter;
  /** Hybrid only: how the two sides are fused. Default: equal weights, k = DEFAULT_RRF_K (60). */
  fusion?: HybridFusion;
}

/**
 * Reciprocal rank fusion parameters (Qdrant's formula, see src/core/rrf.ts): the dense side's weight, the keyword
 * side's being 1, and k.
 */
export interface HybridFusion {
  k: number;
  denseWeight: number;
}

export interface ScoredChunk {
  chunk: StoredChunk;
  /** Higher is better; comparable within one response. Hybrid: RRF score; dense: cosine similarity; keyword: BM25. */
  score: number;
}

/** Where a hit sits, without its content: what a caller that keeps the text elsewhere needs (session recall). */
export interface ScoredPosition {
  documentId: string;
  chunkIndex: number;
  /** As ScoredChunk's score: the same search gives the same scores and order. */
  score: number;
}

export interface VectorStore {
  readonly kind: 'lancedb' | 'qdrant';
  /** Creates tables/collections and indexes if missing; safe to call from several processes at once. */
  init(): Promise<void>;
  /** Inserts or overwrites by id: writing the same chunk twice leaves one copy. */
  upsert(chunks: ChunkRecord[]): Promise<void>;
  search(req: VectorSearchRequest): Promise<ScoredChunk[]>;
  /**
   * The same search reading only each hit's document and position: LanceDB then reads two columns instead of every
   * chunk field (a keyword search over a 10,000-message session took 1.8 ms instead of 4.5 ms for 50 hits).
   */
  searchPositions(req: VectorSearchRequest): Promise<ScoredPosition[]>;
  /**
   * Deletes a document's chunks. `onlyVersion` deletes one version; `exceptVersion` deletes every other version
   * (used after a replacement is indexed).
   */
  deleteDocument(tenant: string, documentId: string, opts?: { onlyVersion?: number; exceptVersion?: number }): Promise<void>;
  /** Deletes every chunk of one collection of a tenant (after the collection moved to another index). */
  deleteCollection(tenant: string, collection: string): Promise<void>;
  /** Chunks of one document version ordered by chunkIndex, starting at `fromIndex`. */
  listChunks(tenant: string, documentId: string, version: number, fromIndex: number, limit: number): Promise<StoredChunk[]>;
  count(tenant: string, where?: { collection?: string; documentId?: string }): Promise<number>;
  /**
   * Brings the index's own indexes up to date with every write so far, so the next reads pay nothing for them (LanceDB
   * folds new rows into its full-text and scalar indexes; Qdrant indexes as it goes, so there it only returns).
   */
  optimize(): Promise<void>;
  /** Throws when the backend does not answer (readiness). */
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
  /** Closes the store and deletes its physical index (table or collection) with everything in it. Idempotent. */
  drop(): Promise<void>;
}
