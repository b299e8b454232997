import { createHash } from 'node:crypto';
import type { Schemas } from '@qdrant/js-client-rest' with { 'resolution-mode': 'import' };
import { AppError } from '../../errors';
import { chunkKeywordText } from '../../core/keywords/keyword-tokenizer';
import { documentSparseVector } from '../../core/keywords/sparse-vector';
import { checkChunk, checkString, hybridDepth, metaTag, metaTagsOf, scalarFieldsOf } from './chunk-checks';
import { DEFAULT_RRF_K } from '../../core/rrf';
import type { SparseVector } from '../../core/keywords/sparse-vector';
import type { ChunkRecord, MetadataValue, SearchFilter, StoredChunk, VectorSearchRequest } from './vector-store';

/** Chunks as Qdrant points and back, and the filters every read and delete goes through. */

type Filter = Schemas['Filter'];
type Condition = Schemas['Condition'];

export const DENSE_VECTOR = 'dense';
export const SPARSE_VECTOR = 'sparse';

/** A chunk as a Qdrant point: dense and BM25 sparse vectors, the chunk in the payload with its filterable fields. */
export function toPoint(chunk: ChunkRecord, dimensions: number): Schemas['PointStruct'] {
  checkChunk(chunk, dimensions);
  const vector: Record<string, Schemas['Vector']> = { [DENSE_VECTOR]: Array.from(chunk.vector) };
  const sparse = documentSparseVector(chunkKeywordText(chunk));
  // A chunk of only stop words has no sparse vector at all (named vectors are optional per point).
  if (sparse.indices.length > 0) vector[SPARSE_VECTOR] = sparse;
  return {
    id: pointId(chunk.tenant, chunk.id),
    vector,
    payload: {
      chunkId: chunk.id,
      ...scalarFieldsOf(chunk),
      pages: [...chunk.pages],
      headingPath: [...chunk.headingPath],
      metadata: { ...chunk.metadata },
      meta: metaTagsOf(chunk.metadata),
      // The chunk's term ids, for the per-tenant document frequencies (tenantIdf).
      terms: sparse.indices,
    },
  };
}

/**
 * The point id of a chunk: sha256(tenant, NUL, chunk id) in UUID form (version nibble 8, "custom", RFC 9562; variant
 * 10). The tenant is part of it, so two tenants writing the same chunk id never overwrite each other.
 */
export function pointId(tenant: string, chunkId: string): string {
  const bytes = createHash('sha256').update(tenant).update('\u0000').update(chunkId).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The Qdrant filter of a search, or undefined when it can match nothing (an empty list of allowed values). */
export function searchFilter(tenant: string, collection: string, filter: SearchFilter = {}): Filter | undefined {
  const must: Condition[] = [
    matchValue('tenant', checkString(tenant, 'tenant')),
    matchValue('collection', checkString(collection, 'collection')),
  ];
  if (filter.documentIds !== undefined) {
    if (filter.documentIds.length === 0) return undefined;
    must.push({ key: 'documentId', match: { any: unique(filter.documentIds.map((id) => checkString(id, 'documentIds entry'))) } });
  }
  for (const [key, wanted] of Object.entries(filter.metadata ?? {})) {
    const values = Array.isArray(wanted) ? wanted : [wanted];
    if (values.length === 0) return undefined;
    must.push({ key: 'meta', match: { any: unique(values.map((value) => metaTag(key, value))) } });
  }
  return { must };
}

export function matchValue(key: string, value: string | number): Condition {
  return { key, match: { value } };
}

/** `match.any` requires unique items. */
function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function sortByIndex(chunks: StoredChunk[]): StoredChunk[] {
  return chunks.sort((a, b) => a.chunkIndex - b.chunkIndex);
}

export function toStoredChunk(payload: Record<string, unknown> | null | undefined): StoredChunk {
  if (!payload)
    throw new AppError('vector_store_error', 'Qdrant returned a point without payload', { dependency: 'qdrant' }, { retryable: false });
  return {
    id: payload.chunkId as string,
    tenant: payload.tenant as string,
    collection: payload.collection as string,
    documentId: payload.documentId as string,
    documentVersion: Number(payload.documentVersion),
    chunkIndex: Number(payload.chunkIndex),
    title: payload.title as string,
    text: payload.text as string,
    tokenCount: Number(payload.tokenCount),
    pages: ((payload.pages ?? []) as unknown[]).map(Number),
    headingPath: ((payload.headingPath ?? []) as unknown[]).map(String),
    metadata: { ...((payload.metadata ?? {}) as Record<string, MetadataValue>) },
  };
}

/**
 * The Query API request of one search: one vector query, or (hybrid) a dense and a sparse prefetch fused by weighted RRF
 * in Qdrant. `sparse` is the query's IDF-weighted sparse vector (undefined: the keyword side has no terms).
 */
export function queryRequest(
  req: VectorSearchRequest,
  q: { dense?: number[]; sparse?: SparseVector; filter: Filter; withPayload: Schemas['WithPayloadInterface'] },
): Schemas['QueryRequest'] {
  const { dense, sparse, filter, withPayload } = q;
  if (req.mode === 'dense') return { query: dense, using: DENSE_VECTOR, filter, limit: req.k, with_payload: withPayload };
  if (req.mode === 'keyword') return { query: sparse, using: SPARSE_VECTOR, filter, limit: req.k, with_payload: withPayload };
  const depth = hybridDepth(req.k);
  const prefetch: Schemas['Prefetch'][] = [{ query: dense, using: DENSE_VECTOR, filter, limit: depth }];
  if (sparse !== undefined) prefetch.push({ query: sparse, using: SPARSE_VECTOR, filter, limit: depth });
  // Qdrant wants one weight per prefetch: weights only with both sides, and only when they are not the default.
  const denseWeight = req.fusion?.denseWeight ?? 1;
  const rrf = { k: req.fusion?.k ?? DEFAULT_RRF_K, ...(sparse !== undefined && denseWeight !== 1 ? { weights: [denseWeight, 1] } : {}) };
  return { prefetch, query: { rrf }, limit: req.k, with_payload: withPayload };
}
