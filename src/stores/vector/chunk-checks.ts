import { invalidRequest } from '../../errors';
import type { ChunkRecord, MetadataValue, StoreLogger, VectorSearchRequest } from './vector-store';

/**
 * Checks, encodings and search parameters both vector stores share, so the two behave alike on the contract suite's
 * edge cases.
 */

/** A vector of the store's size with only finite values. */
export function checkVector(vector: Float32Array | undefined, dimensions: number, what: string): asserts vector is Float32Array {
  if (!(vector instanceof Float32Array)) throw invalidRequest(`${what} is required (a Float32Array)`);
  if (vector.length !== dimensions) throw invalidRequest(`${what} has ${vector.length} dimensions; the store holds ${dimensions}`);
  for (const value of vector) if (!Number.isFinite(value)) throw invalidRequest(`${what} holds a non-finite value`);
}

/**
 * One metadata pair as an exact, type-strict tag (`key=<JSON value>`): filters match tags with "any of", so
 * `2024` and `"2024"` stay different values, in both stores.
 */
export function metaTag(key: string, value: MetadataValue): string {
  if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string' && typeof value !== 'boolean') {
    throw invalidRequest(`metadata ${JSON.stringify(key)} must be a string, a finite number or a boolean`);
  }
  return `${key}=${JSON.stringify(value)}`;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Versions and chunk indexes are stored as 32-bit integers. */
export function checkInt32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX)
    throw invalidRequest(`${what} must be a 32-bit integer, got ${value}`);
  return value;
}

/** A string (values reach the stores from JSON, so the static type is not a guarantee). Message names `what` if given. */
export function checkString(value: string, what?: string): string {
  if (typeof value !== 'string') {
    throw invalidRequest(`${what === undefined ? 'expected a string' : `${what} must be a string`}, got ${typeof value}`);
  }
  return value;
}

/** A chunk either store can hold: non-empty ids, 32-bit integers, and a finite vector of the store's size. */
export function checkChunk(chunk: ChunkRecord, dimensions: number): void {
  for (const field of ['id', 'tenant', 'collection', 'documentId'] as const) {
    if (typeof chunk[field] !== 'string' || chunk[field] === '')
      throw invalidRequest(`chunk ${field} must be a non-empty string`, { id: chunk.id });
  }
  for (const field of ['documentVersion', 'chunkIndex', 'tokenCount'] as const) checkInt32(chunk[field], `chunk ${field}`);
  for (const page of chunk.pages) checkInt32(page, 'chunk page');
  checkVector(chunk.vector, dimensions, `chunk ${chunk.id} vector`);
}

/** The request-level checks of a search: a non-negative integer k, a known mode, and a query vector unless keyword. */
export function checkSearchRequest(req: VectorSearchRequest, dimensions: number): void {
  if (req.fusion !== undefined) {
    const { k, denseWeight } = req.fusion;
    if (!(Number.isInteger(k) && k >= 1)) throw invalidRequest(`fusion.k must be an integer >= 1, got ${k}`);
    if (!(Number.isFinite(denseWeight) && denseWeight > 0))
      throw invalidRequest(`fusion.denseWeight must be a finite number > 0, got ${denseWeight}`);
  }
  if (!Number.isInteger(req.k) || req.k < 0) throw invalidRequest(`k must be a non-negative integer, got ${req.k}`);
  if (req.mode !== 'keyword' && req.mode !== 'dense' && req.mode !== 'hybrid')
    throw invalidRequest(`unknown search mode ${JSON.stringify(req.mode)}`);
  if (req.mode !== 'keyword') checkVector(req.vector, dimensions, 'query vector');
}

/** Hybrid search fetches deeper than k on each side so that a chunk ranked moderately by both can win the fusion. */
export function hybridDepth(k: number): number {
  return Math.max(k * 3, 30);
}

/** What every store is built with: the vectors of the one index it serves, and where to log. */
export interface IndexIdentityOptions {
  /** Vector size; recorded with the index, and an index with another size is refused. */
  dimensions: number;
  /** Embedding model name; recorded with the index, and an index from another model is refused. */
  embeddingModel: string;
  logger?: StoreLogger;
}

/** Checks a store's construction options: the index identity, and the name of its table or collection. */
export function checkIndexIdentity(store: string, opts: IndexIdentityOptions, name: { what: string; value: string }): void {
  if (!Number.isInteger(opts.dimensions) || opts.dimensions <= 0) {
    throw new Error(`${store}: dimensions must be a positive integer, got ${opts.dimensions}`);
  }
  if (!opts.embeddingModel) throw new Error(`${store}: embeddingModel is required`);
  if (!/^[A-Za-z0-9_-]+$/.test(name.value)) throw new Error(`${store}: bad ${name.what} ${JSON.stringify(name.value)}`);
}

/** The scalar fields of a chunk both stores keep as they are (each adds its own id, lists, metadata and vectors). */
export function scalarFieldsOf(chunk: ChunkRecord) {
  const { tenant, collection, documentId, documentVersion, chunkIndex, title, text, tokenCount } = chunk;
  return { tenant, collection, documentId, documentVersion, chunkIndex, title, text, tokenCount };
}

/** The metadata as filterable tags, one per key and value (see metaTag). */
export const metaTagsOf = (metadata: ChunkRecord['metadata']) => Object.entries(metadata).map(([key, value]) => metaTag(key, value));
