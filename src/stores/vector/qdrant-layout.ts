import type { Schemas } from '@qdrant/js-client-rest' with { 'resolution-mode': 'import' };
import { AppError } from '../../errors';
import { DENSE_VECTOR, SPARSE_VECTOR } from './qdrant-points';

/** What a ragmem collection looks like (vectors, payload indexes, recorded metadata) and the check that one is ours. */

type CollectionInfo = Schemas['CollectionInfo'];

/**
 * Bump when the payload layout, vector naming or vector values change, so an old collection is refused instead of
 * misread (embedding_mismatch, naming the layout). 2: sparse values are BM25 term weights (1 held raw term frequencies,
 * and mixing the two in one collection would skew keyword ranking). 3: no `idf` modifier (the query carries the tenant's
 * own IDF) and a `terms` payload (the point's term ids, indexed) that the per-tenant document frequencies are counted on.
 */
export const QDRANT_LAYOUT_VERSION = 3;

/** Collection metadata key holding what the vectors are. */
export const METADATA_KEY = 'ragmem';
/** Payload indexes created with the collection: every field our filters use. */
export const PAYLOAD_INDEXES: Array<{ field_name: string; field_schema: Schemas['PayloadFieldSchema'] }> = [
  { field_name: 'tenant', field_schema: { type: 'keyword', is_tenant: true } },
  { field_name: 'collection', field_schema: { type: 'keyword' } },
  { field_name: 'documentId', field_schema: { type: 'keyword' } },
  { field_name: 'documentVersion', field_schema: { type: 'integer' } },
  { field_name: 'chunkIndex', field_schema: { type: 'integer' } },
  { field_name: 'meta', field_schema: { type: 'keyword' } },
  { field_name: 'terms', field_schema: { type: 'integer' } },
];

export interface RecordedEmbedding {
  embeddingModel?: unknown;
  dimensions?: unknown;
  layout?: unknown;
}

export function checkRecordedEmbedding(
  name: string,
  info: CollectionInfo,
  expected: { embeddingModel: string; dimensions: number; alias: string },
  warnNoMetadata: () => void,
): void {
  const metadata = (info.config as { metadata?: Record<string, unknown> | null }).metadata;
  const recorded = (metadata?.[METADATA_KEY] ?? {}) as RecordedEmbedding;
  const vectors = info.config.params.vectors as Record<string, { size?: number; distance?: string } | undefined> | undefined;
  const dense = vectors?.[DENSE_VECTOR];
  const sparse = info.config.params.sparse_vectors?.[SPARSE_VECTOR];
  const problems: string[] = [];
  // The vector config itself: a collection without our named vectors (or of another size) is never written to.
  if (dense?.size !== expected.dimensions || dense?.distance !== 'Cosine') problems.push('dense vector config');
  if (sparse === undefined || (sparse.modifier !== undefined && sparse.modifier !== null && sparse.modifier !== 'none'))
    problems.push('sparse vector config');
  if (metadata === undefined || metadata === null) {
    // Collection metadata exists since Qdrant 1.16; a server that does not report it cannot tell us the model, so
    // only the vector config above is checked. Warn: a model change of the same size would go unnoticed.
    warnNoMetadata();
  } else {
    if (recorded.embeddingModel !== expected.embeddingModel) problems.push('embedding model');
    if (recorded.dimensions !== expected.dimensions) problems.push('dimensions');
    if (recorded.layout !== QDRANT_LAYOUT_VERSION) problems.push('layout');
  }
  if (problems.length === 0) return;
  const configured = { embeddingModel: expected.embeddingModel, dimensions: expected.dimensions, layout: QDRANT_LAYOUT_VERSION };
  throw new AppError(
    'embedding_mismatch',
    `Qdrant collection ${name} holds ${String(recorded.dimensions ?? dense?.size ?? '?')}-dimension vectors from model ` +
      `${JSON.stringify(recorded.embeddingModel ?? '?')} (layout ${String(recorded.layout ?? '?')}), but this service is configured for ` +
      `${configured.dimensions} dimensions from ${JSON.stringify(configured.embeddingModel)} (layout ${configured.layout}); ` +
      `mismatch in: ${problems.join(', ')}. Use another collection base, or re-index into a new collection and switch the alias.`,
    { recorded, configured, collection: name, alias: expected.alias, mismatch: problems },
    { retryable: false },
  );
}
