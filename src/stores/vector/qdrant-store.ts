import type { QdrantClient as QdrantClientType, Schemas } from '@qdrant/js-client-rest' with { 'resolution-mode': 'import' };
import { AppError, invalidRequest } from '../../errors';
import { querySparseVector, termIdf, type SparseVector } from '../../core/keywords/sparse-vector';
import { checkIndexIdentity, checkInt32, checkSearchRequest, checkString, type IndexIdentityOptions } from './chunk-checks';
import {
  checkClusterOptions,
  collectionDistribution,
  distributionDrift,
  effectiveWriteOrdering,
  reportedReplicationFactor,
  type QdrantClusterOptions,
  type QdrantWriteOrdering,
} from './qdrant-cluster';
import { callQdrant, mapQdrantError } from './qdrant-errors';
import { checkRecordedEmbedding, METADATA_KEY, PAYLOAD_INDEXES, QDRANT_LAYOUT_VERSION, type RecordedEmbedding } from './qdrant-layout';

export { QDRANT_LAYOUT_VERSION } from './qdrant-layout';
import { DENSE_VECTOR, SPARSE_VECTOR, matchValue, queryRequest, searchFilter, sortByIndex, toPoint, toStoredChunk } from './qdrant-points';
import type { ChunkRecord, ScoredChunk, ScoredPosition, StoredChunk, VectorSearchRequest, VectorStore } from './vector-store';

/**
 * The production vector store: one Qdrant collection holds every tenant's chunks, and every read and delete carries a
 * tenant condition (the tenant payload index is `is_tenant`, so Qdrant keeps each tenant's points together).
 *
 * One store serves one index: the physical collection `${collectionBase}_v1`, reached through the alias
 * `${collectionBase}` (the default index is `ragmem_chunks`; a reindexed collection gets its own, see src/indexes).
 * Each point holds a dense vector `dense` (cosine) and a sparse vector `sparse` (BM25 term weights from
 * src/core/keywords/sparse-vector.ts), so keyword search matches exactly the terms LanceDB's full-text index matches and scores
 * them as BM25. The IDF is the tenant's own (see tenantIdf): Qdrant's `idf` modifier would compute it over the whole
 * collection, every tenant's points, so one tenant's uploads would move another's keyword scores and rankings. Hybrid search is one Query API call: a dense and a sparse
 * prefetch fused by RRF (Qdrant's formula, as src/core/rrf.ts; k and weights from the request's fusion).
 *
 * The embedding model and vector size are recorded in the collection's metadata at creation and checked by init():
 * vectors of two models never share a collection.
 *
 * On a distributed Qdrant (qdrant-cluster.ts): the collection's shards and replicas are set at creation from
 * `options.cluster`, writes carry `wait` and an `ordering` that follows the collection's replication, reads the configured
 * `consistency`; a shard with no live replica fails calls with a retryable `dependency_unavailable` (qdrant-errors.ts).
 */

export interface QdrantVectorStoreOptions extends IndexIdentityOptions {
  /** Qdrant REST URL, e.g. http://localhost:6333. */
  url: string;
  apiKey?: string;
  /** Alias name; the physical collection is `${collectionBase}_v1`. Default `DEFAULT_COLLECTION_BASE`. */
  collectionBase?: string;
  /** Points per upsert request. Default `DEFAULT_UPSERT_BATCH`. */
  upsertBatchSize?: number;
  /** Per-request timeout in ms. Default `DEFAULT_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Distributed Qdrant: collection layout and write/read consistency (see qdrant-cluster.ts). Unset: one node's defaults. */
  cluster?: QdrantClusterOptions;
}

export const DEFAULT_COLLECTION_BASE = 'ragmem_chunks';
/** Large enough to amortise the request, small enough to stay well below Qdrant's 32 MB request limit at 1024 dims. */
export const DEFAULT_UPSERT_BATCH = 256;
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Page size when listChunks must scan (chunk indices with gaps). */
const SCROLL_PAGE = 256;
/**
 * The client ships CommonJS (`require` condition) but its package is `"type": "module"`, so TypeScript (node16
 * resolution) types it as ESM. The types come from an import-mode type import; the runtime is the CommonJS build.
 */

const { QdrantClient } = require('@qdrant/js-client-rest') as typeof import('@qdrant/js-client-rest', {
  with: { 'resolution-mode': 'import' },
});

type Condition = Schemas['Condition'];
type Filter = Schemas['Filter'];
type CollectionInfo = Schemas['CollectionInfo'];

export class QdrantVectorStore implements VectorStore {
  readonly kind = 'qdrant' as const;
  private readonly client: QdrantClientType;
  /** The alias every data call goes through. */
  readonly alias: string;
  /** The physical collection this store creates when neither it nor the alias exists. */
  readonly physicalCollection: string;
  private readonly upsertBatchSize: number;
  private initialized?: Promise<void>;
  /** The `ordering` of writes, settled by init from the settings and the collection's replication factor. */
  private writeOrdering?: QdrantWriteOrdering;
  private closed = false;
  private warnedNoMetadata = false;

  constructor(private readonly options: QdrantVectorStoreOptions) {
    if (!options.url) throw new Error('QdrantVectorStore: url is required');
    const base = options.collectionBase ?? DEFAULT_COLLECTION_BASE;
    checkIndexIdentity('QdrantVectorStore', options, { what: 'collection base', value: base });
    this.alias = base;
    this.physicalCollection = `${base}_v1`;
    this.upsertBatchSize = options.upsertBatchSize ?? DEFAULT_UPSERT_BATCH;
    if (!Number.isInteger(this.upsertBatchSize) || this.upsertBatchSize <= 0)
      throw new Error('QdrantVectorStore: upsertBatchSize must be a positive integer');
    checkClusterOptions(options.cluster);
    this.client = new QdrantClient({
      url: options.url,
      apiKey: options.apiKey,
      checkCompatibility: false,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  /**
   * Creates the collection, its payload indexes and the alias if missing, then checks the recorded embedding. Safe to
   * race with other processes: "already exists" answers are followed by a re-check. A failed init can be retried.
   */
  init(): Promise<void> {
    this.initialized ??= this.ensureCollection().catch((err) => {
      this.initialized = undefined; // let a later call retry (e.g. once Qdrant is back)
      throw err;
    });
    return this.initialized;
  }

  async upsert(chunks: ChunkRecord[]): Promise<void> {
    if (chunks.length === 0) return;
    // Build (and validate) every point first: a bad chunk fails the call before anything is written. The same id twice
    // keeps the later chunk, as if the chunks had been upserted one by one.
    const points = new Map<string, Schemas['PointStruct']>();
    for (const chunk of chunks) {
      const point = toPoint(chunk, this.options.dimensions);
      points.delete(point.id as string);
      points.set(point.id as string, point);
    }
    await this.ready();
    const all = [...points.values()];
    for (let start = 0; start < all.length; start += this.upsertBatchSize) {
      const batch = all.slice(start, start + this.upsertBatchSize);
      await this.call('upsert', () => this.client.upsert(this.alias, { ...this.writeParams(), points: batch }));
    }
  }

  async search(req: VectorSearchRequest): Promise<ScoredChunk[]> {
    const points = await this.query(req, true);
    return points.map((point) => ({ chunk: toStoredChunk(point.payload), score: point.score }));
  }

  async searchPositions(req: VectorSearchRequest): Promise<ScoredPosition[]> {
    const points = await this.query(req, { include: ['documentId', 'chunkIndex'] });
    return points.map((point) => ({
      documentId: String(point.payload?.documentId),
      chunkIndex: Number(point.payload?.chunkIndex),
      score: point.score,
    }));
  }

  /** One search as one Query API call, with the payload `withPayload` selects. */
  private async query(req: VectorSearchRequest, withPayload: Schemas['WithPayloadInterface']): Promise<Schemas['ScoredPoint'][]> {
    checkSearchRequest(req, this.options.dimensions);
    const filter = searchFilter(req.tenant, req.collection, req.filter);
    if (req.k === 0 || filter === undefined) return [];
    const dense = req.mode === 'keyword' ? undefined : Array.from(req.vector as Float32Array);
    const terms = req.mode === 'dense' ? undefined : querySparseVector(req.text);
    // Only stop words or punctuation: the keyword side cannot match anything.
    const hasSparse = terms !== undefined && terms.indices.length > 0;
    if (req.mode === 'keyword' && !hasSparse) return [];
    await this.ready();
    const sparse = hasSparse ? await this.tenantIdf(req.tenant, terms) : undefined;

    const request = queryRequest(req, { dense, sparse, filter, withPayload });
    const result = await this.call('query', () => this.client.query(this.alias, { ...request, ...this.readParams() }));
    return result.points;
  }

  /**
   * The query's sparse vector weighted by the tenant's own IDF: N and each term's document frequency are counted over
   * the tenant's points only (exact counts on the indexed `tenant` and `terms` payloads, one request per distinct query
   * term, in parallel), so no other tenant's writes or deletes change a score. Counting at query time keeps the figures
   * exact under any write or delete with no bookkeeping to keep in step (the alternative, per-tenant counters kept by
   * every write and delete, must scroll the points a filtered delete removes and can drift after a crash).
   */
  private async tenantIdf(tenant: string, terms: SparseVector): Promise<SparseVector> {
    const count = (must: Condition[]) => this.countWhere({ must });
    const own = matchValue('tenant', tenant);
    const [total, ...df] = await Promise.all([count([own]), ...terms.indices.map((term) => count([own, matchValue('terms', term)]))]);
    return { indices: terms.indices, values: df.map((n) => termIdf(total, n)) };
  }

  async deleteDocument(tenant: string, documentId: string, opts: { onlyVersion?: number; exceptVersion?: number } = {}): Promise<void> {
    const must: Condition[] = [
      matchValue('tenant', checkString(tenant, 'tenant')),
      matchValue('documentId', checkString(documentId, 'documentId')),
    ];
    const mustNot: Condition[] = [];
    if (opts.onlyVersion !== undefined) must.push(matchValue('documentVersion', checkInt32(opts.onlyVersion, 'onlyVersion')));
    if (opts.exceptVersion !== undefined) mustNot.push(matchValue('documentVersion', checkInt32(opts.exceptVersion, 'exceptVersion')));
    await this.deleteWhere(mustNot.length > 0 ? { must, must_not: mustNot } : { must });
  }

  async deleteCollection(tenant: string, collection: string): Promise<void> {
    await this.deleteWhere({
      must: [matchValue('tenant', checkString(tenant, 'tenant')), matchValue('collection', checkString(collection, 'collection'))],
    });
  }

  private async deleteWhere(filter: Filter): Promise<void> {
    await this.ready();
    await this.call('delete', () => this.client.delete(this.alias, { ...this.writeParams(), filter }));
  }

  /**
   * Reads the chunk index range [fromIndex, fromIndex + limit) in one scroll and sorts it: exact and cheap when a
   * document's chunk indices are contiguous (they are: 0..n-1). A short page is checked with a count of anything
   * beyond the range; only if something is there (indices with gaps) does it scan the rest and sort client-side.
   */
  async listChunks(tenant: string, documentId: string, version: number, fromIndex: number, limit: number): Promise<StoredChunk[]> {
    const base: Condition[] = [
      matchValue('tenant', checkString(tenant, 'tenant')),
      matchValue('documentId', checkString(documentId, 'documentId')),
      matchValue('documentVersion', checkInt32(version, 'version')),
    ];
    checkInt32(fromIndex, 'fromIndex');
    if (!Number.isInteger(limit) || limit < 0) throw invalidRequest(`limit must be a non-negative integer, got ${limit}`);
    if (limit === 0) return [];
    await this.ready();
    const end = fromIndex + limit;
    const inRange = await this.scrollAll({ must: [...base, { key: 'chunkIndex', range: { gte: fromIndex, lt: end } }] }, limit);
    if (inRange.length < limit) {
      const beyond = await this.countWhere({ must: [...base, { key: 'chunkIndex', range: { gte: end } }] });
      if (beyond > 0) {
        const rest = await this.scrollAll({ must: [...base, { key: 'chunkIndex', range: { gte: fromIndex } }] }, Number.POSITIVE_INFINITY);
        return sortByIndex(rest).slice(0, limit);
      }
    }
    return sortByIndex(inRange).slice(0, limit);
  }

  async count(tenant: string, where: { collection?: string; documentId?: string } = {}): Promise<number> {
    const must: Condition[] = [matchValue('tenant', checkString(tenant, 'tenant'))];
    if (where.collection !== undefined) must.push(matchValue('collection', checkString(where.collection, 'collection')));
    if (where.documentId !== undefined) must.push(matchValue('documentId', checkString(where.documentId, 'documentId')));
    await this.ready();
    return this.countWhere({ must });
  }

  /** Qdrant indexes points as they arrive (`wait: true` upserts are searchable on return): nothing to do. */
  async optimize(): Promise<void> {
    await this.ready();
  }

  async ping(): Promise<void> {
    const { exists } = await this.call('collectionExists', () => this.client.collectionExists(this.alias));
    if (!exists) {
      throw new AppError(
        'vector_store_error',
        `Qdrant collection alias ${this.alias} does not exist`,
        { dependency: 'qdrant', collection: this.alias },
        { retryable: false },
      );
    }
  }

  /** The REST client holds no connection that needs closing (undici's pool closes idle sockets itself). */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** Deletes the physical collection behind the alias, then the alias if Qdrant kept it. Idempotent. */
  async drop(): Promise<void> {
    this.closed = true;
    const target = (await this.aliasTarget()) ?? this.physicalCollection;
    if (await this.collectionExists(target)) await this.call('deleteCollection', () => this.client.deleteCollection(target));
    if ((await this.aliasTarget()) !== undefined) {
      await this.call('deleteAlias', () =>
        this.client.updateCollectionAliases({ actions: [{ delete_alias: { alias_name: this.alias } }] }),
      );
    }
  }

  // --- init -----------------------------------------------------------------------------------------------------

  private async ready(): Promise<void> {
    if (this.closed) throw new Error('QdrantVectorStore: the store is closed');
    await this.init();
  }

  private async ensureCollection(): Promise<void> {
    // Follow the alias if it exists (after a reindex it points at a later physical collection).
    const aliased = await this.aliasTarget();
    let target = aliased ?? this.physicalCollection;
    if (!(await this.collectionExists(target))) {
      await this.createCollection(target);
    }
    const info = await this.collectionInfo(target);
    this.checkRecorded(target, info);
    this.settleDistribution(target, info);
    await this.ensurePayloadIndexes(target, info);
    // No alias at first: look again (another process may have created it meanwhile) before creating it.
    if (aliased === undefined && (await this.aliasTarget()) === undefined) {
      try {
        await this.client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: target, alias_name: this.alias } }] });
      } catch (err) {
        // Another process created it between our check and our call: fine, if it exists now.
        const now = await this.aliasTarget();
        if (now === undefined) throw mapQdrantError(err, 'createAlias', this.options.logger);
        target = now;
        const winner = await this.collectionInfo(target);
        this.checkRecorded(target, winner);
        this.settleDistribution(target, winner);
      }
      this.options.logger?.info({ alias: this.alias, collection: target }, 'qdrant collection alias ready');
    }
  }

  private async aliasTarget(): Promise<string | undefined> {
    const { aliases } = await this.call('getAliases', () => this.client.getAliases());
    return aliases.find((alias) => alias.alias_name === this.alias)?.collection_name;
  }

  private collectionInfo(name: string): Promise<CollectionInfo> {
    return this.call('getCollection', () => this.client.getCollection(name));
  }

  private async collectionExists(name: string): Promise<boolean> {
    return (await this.call('collectionExists', () => this.client.collectionExists(name))).exists;
  }

  private async createCollection(name: string): Promise<void> {
    const recorded: RecordedEmbedding = {
      embeddingModel: this.options.embeddingModel,
      dimensions: this.options.dimensions,
      layout: QDRANT_LAYOUT_VERSION,
    };
    const body: Schemas['CreateCollection'] = {
      vectors: { [DENSE_VECTOR]: { size: this.options.dimensions, distance: 'Cosine' } },
      // No `idf` modifier: Qdrant's would count every tenant's points (see tenantIdf).
      sparse_vectors: { [SPARSE_VECTOR]: {} },
      metadata: { [METADATA_KEY]: recorded },
      // Only the settings given: an unset one is left to Qdrant (1, or for shards one per peer in a cluster).
      ...collectionDistribution(this.options.cluster),
    };
    try {
      // The high-level createCollection drops `metadata` (client 1.18), so call the generated API directly.
      await this.client.api().createCollection({ collection_name: name, ...body });
      this.options.logger?.info(
        { collection: name, dimensions: this.options.dimensions, embeddingModel: this.options.embeddingModel },
        'qdrant collection created',
      );
    } catch (err) {
      // 409 (or 400 "already exists" from older servers) when another process won the race: fine if it exists now.
      if (!(await this.collectionExists(name))) throw mapQdrantError(err, 'createCollection', this.options.logger);
    }
  }

  /** Creating an existing index is a no-op in Qdrant, but we skip the ones the collection already reports. */
  private async ensurePayloadIndexes(name: string, info: CollectionInfo): Promise<void> {
    const existing = info.payload_schema ?? {};
    for (const index of PAYLOAD_INDEXES) {
      if (existing[index.field_name]) continue;
      try {
        await this.client.createPayloadIndex(name, {
          ...this.writeParams(),
          field_name: index.field_name,
          field_schema: index.field_schema,
        });
      } catch (err) {
        const again = await this.collectionInfo(name);
        if (!again.payload_schema?.[index.field_name]) throw mapQdrantError(err, 'createPayloadIndex', this.options.logger);
      }
    }
  }

  /** Vectors from two models (or two sizes) must never share a collection: their distances would be meaningless. */
  private checkRecorded(name: string, info: CollectionInfo): void {
    const { embeddingModel, dimensions, logger } = this.options;
    checkRecordedEmbedding(name, info, { embeddingModel, dimensions, alias: this.alias }, () => {
      // Once per store: a server without collection metadata says so at every check otherwise.
      if (this.warnedNoMetadata) return;
      this.warnedNoMetadata = true;
      logger?.warn({ collection: name }, 'qdrant reports no collection metadata: the embedding model cannot be checked');
    });
  }

  // --- helpers --------------------------------------------------------------------------------------------------

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return callQdrant(operation, this.options.logger, fn);
  }

  /**
   * Decides the writes' `ordering` from the collection as it is (a collection made elsewhere, or before the settings,
   * keeps its own replication), and warns when its layout differs from the settings, which apply at creation only.
   */
  private settleDistribution(name: string, info: CollectionInfo): void {
    const params = info.config.params;
    this.writeOrdering = effectiveWriteOrdering(this.options.cluster, reportedReplicationFactor(params));
    const drift = distributionDrift(this.options.cluster, params);
    if (drift.length > 0) {
      this.options.logger?.warn(
        { collection: name, drift },
        'qdrant collection layout differs from QDRANT_SHARD_NUMBER / QDRANT_REPLICATION_FACTOR / QDRANT_WRITE_CONSISTENCY_FACTOR, ' +
          'which apply when a collection is created: change an existing one with Qdrant (PATCH /collections/{name}, shard replication)',
      );
    }
  }

  /** Every write waits until it is applied (searchable on return), in the settled order. */
  private writeParams(): { wait: true; ordering?: QdrantWriteOrdering } {
    return this.writeOrdering === undefined ? { wait: true } : { wait: true, ordering: this.writeOrdering };
  }

  /** The configured read consistency, if any (none: Qdrant's default, one replica). */
  private readParams(): { consistency?: Schemas['ReadConsistency'] } {
    const consistency = this.options.cluster?.readConsistency;
    return consistency === undefined ? {} : { consistency };
  }

  /**
   * An exact count of the points matching `filter`. Through the generated API: the client's count() drops
   * `consistency` (client 1.18), which Qdrant takes on counts as on every read.
   */
  private async countWhere(filter: Filter): Promise<number> {
    const response = await this.call('count', () =>
      this.client.api().countPoints({ collection_name: this.alias, filter, exact: true, ...this.readParams() }),
    );
    const result = response.data.result;
    if (!result) throw mapQdrantError(new Error('Qdrant answered a count without a result'), 'count', this.options.logger);
    return result.count;
  }

  /** Scrolls every point matching `filter` (at most `max`), following next_page_offset. */
  private async scrollAll(filter: Filter, max: number): Promise<StoredChunk[]> {
    const chunks: StoredChunk[] = [];
    let offset: Schemas['ExtendedPointId'] | undefined;
    do {
      const page = await this.call('scroll', () =>
        this.client.scroll(this.alias, {
          filter,
          limit: Math.min(SCROLL_PAGE, max - chunks.length),
          with_payload: true,
          with_vector: false,
          ...(offset === undefined ? {} : { offset }),
          ...this.readParams(),
        }),
      );
      for (const point of page.points) chunks.push(toStoredChunk(point.payload));
      const next = page.next_page_offset;
      offset = next === null || next === undefined ? undefined : (next as Schemas['ExtendedPointId']);
    } while (offset !== undefined && chunks.length < max);
    return chunks;
  }
}
