import { availableParallelism } from 'node:os';
import * as lancedb from '@lancedb/lancedb';
import { AppError, invalidRequest } from '../../errors';
import { keywordString } from '../../core/keywords/keyword-tokenizer';
import { DEFAULT_RRF_K, reciprocalRankFusion } from '../../core/rrf';
import { callLanceDb } from './lancedb-errors';
import { TableWriter } from './lancedb-writer';
import { openOrCreateTable, type OpenedTable } from './lancedb-table';
import {
  CHUNK_COLUMNS,
  FTS_COLUMN,
  chunkFilter,
  numbersOf,
  positionsOf,
  sqlInt,
  sqlString,
  storedChunksOf,
  toRow,
  unitVector,
} from './lancedb-layout';
import type { ChunkRecord, ScoredChunk, ScoredPosition, StoredChunk, VectorSearchRequest, VectorStore } from './vector-store';
import { checkIndexIdentity, checkSearchRequest, hybridDepth, type IndexIdentityOptions } from './chunk-checks';

/** What a search reads of each hit: its columns, how to turn them into items, and an item's identity for fusion. */
interface RowRead<T> {
  columns: string[];
  rows(table: Awaited<ReturnType<lancedb.Query['toArrow']>>): T[];
  key(item: T): string;
}

const CHUNK_READ: RowRead<StoredChunk> = { columns: CHUNK_COLUMNS, rows: storedChunksOf, key: (chunk) => chunk.id };
const POSITION_READ: RowRead<{ documentId: string; chunkIndex: number }> = {
  columns: ['documentId', 'chunkIndex'],
  rows: positionsOf,
  key: (p) => `${p.documentId}\u0000${p.chunkIndex}`,
};

/**
 * The embedded vector store: one LanceDB table in a local directory holds every tenant's chunks, and every read and
 * delete is filtered by the tenant column. Dense search is exact (flat) cosine search (dot distance over stored unit
 * vectors, see META_UNIT_VECTORS in lancedb-layout.ts), prefiltered through scalar indexes (SCALAR_INDEXES there); keyword search is LanceDB's
 * BM25 full-text search over the `keywords` column, which holds our own tokenizer's output (see keyword-tokenizer.ts)
 * so that LanceDB and Qdrant match the same terms.
 *
 * Upserts merge on (tenant, id), so a retried job never duplicates a chunk. Writes from one store run one at a time.
 * Each write leaves a small fragment that the full-text index does not cover yet; `optimize` (compaction + index
 * update + pruning of old versions) runs every `optimizeAfterWrites` writes, after `optimizeIdleMs` of quiet, and
 * before a keyword search on a small table that still has unindexed rows (see freshenKeywordIndex for why).
 */

export interface LanceDbVectorStoreOptions extends IndexIdentityOptions {
  /** Directory of the LanceDB database (created if missing). */
  dir: string;
  /** Default `DEFAULT_TABLE_NAME`. */
  tableName?: string;
  /**
   * The table is this tenant's alone (a partition, see lancedb-partitions.ts): writes for any other tenant are refused,
   * searches for another tenant answer nothing, and searches leave out the `tenant =` predicate, which every row would
   * pass (without an index on `tenant` it was evaluated row by row: a keyword search of a 10,000-message session took
   * 3.0 ms p50 with it and 1.5-1.8 ms without).
   */
  onlyTenant?: string;
  /** Compact and re-index after this many writes (upserts or deletes). Default `DEFAULT_OPTIMIZE_AFTER_WRITES`. */
  optimizeAfterWrites?: number;
  /** Compact and re-index once writes have paused this long; 0 turns it off. Default `DEFAULT_OPTIMIZE_IDLE_MS`. */
  optimizeIdleMs?: number;
  /** Old table versions are kept this long for readers in other processes. Default `DEFAULT_KEEP_VERSIONS_MS`. */
  keepVersionsMs?: number;
  /**
   * Keyword searches first fold unindexed rows into the full-text index (see `search`) while the index holds fewer rows
   * than this; above it, searches scan the new rows unindexed and leave folding to the writer (write count and idle
   * timer). Default `DEFAULT_FRESH_INDEX_MAX_ROWS`.
   */
  freshIndexMaxRows?: number;
  /**
   * Who folds new rows into a small table's full-text index (see freshenKeywordIndex): `search` (default) waits for it
   * before a keyword search; `write` waits for it after each upsert instead, so searches never do. `write` suits a
   * table written in small pieces all the time and searched by another process (session memory): folding on every
   * search there meant an optimize per question in the API, and every query then reloading the changed index.
   */
  freshenOn?: 'search' | 'write';
  /**
   * With `freshenOn: 'write'`, a fold starts no sooner than this many times the last fold's duration after it (capped
   * at MAX_FOLD_PAUSE_MS): writes meanwhile wait for the next fold and share it, and folding takes at most about
   * 1/(1 + pacing) of the writer's time. Default 0: a write waits for a fold of its own as soon as the previous ends.
   */
  foldPacing?: number;
  /** Called after each fold (compaction and index update) with its duration in seconds. */
  onFold?: (seconds: number) => void;
  /**
   * Size of Lance's CPU thread pool (LANCE_CPU_THREADS), applied when this process has not set it. Lance 0.31 sizes it
   * from the core count, and on a 2-core machine its full-text index build deadlocks once the index has more than one
   * posting batch (measured: 30k chunks of 220 words hang forever at 0% CPU; lance-format/lance#7423 fixed it later).
   * The pool needs more threads than the index builder has producers. Default `defaultLanceCpuThreads()`.
   */
  lanceCpuThreads?: number;
  /**
   * How stale a read may be with respect to writes from other processes (API and workers share the directory).
   * 0 checks for a newer table version on every read (cheap on a local disk). Default 0.
   */
  readConsistencySeconds?: number;
  /**
   * LanceDB's caches (index data, file metadata), shared by every table of a process. Without one each connection (one
   * per tenant table) gets LanceDB's defaults, 6 GB of index cache and 1 GB of metadata cache, so a process's memory
   * had no bound but its tenants' data. See `lanceDbSession`.
   */
  session?: lancedb.Session;
}

/** One cache budget for every LanceDB table this process opens. */
export function lanceDbSession(limits: { indexCacheBytes: number; metadataCacheBytes: number }): lancedb.Session {
  return new lancedb.Session(BigInt(limits.indexCacheBytes), BigInt(limits.metadataCacheBytes));
}

export const DEFAULT_TABLE_NAME = 'chunks';
/**
 * Every write adds a small fragment. Merge-insert and unindexed full-text search both slow down with the number of
 * fragments (measured: ~5,000 chunks/s into a compacted 40k table, ~1,300/s with 500 fragments), so writes are
 * compacted regularly. Compaction rewrites fragments below 1M rows, so it costs time proportional to the table:
 * running it every 64 writes keeps that share of ingestion time small.
 */
export const DEFAULT_OPTIMIZE_AFTER_WRITES = 64;
/**
 * After a burst of writes (one document, one bulk request), fold the new rows into the full-text index once things are
 * quiet: soon, because above DEFAULT_FRESH_INDEX_MAX_ROWS searches no longer wait for it.
 */
export const DEFAULT_OPTIMIZE_IDLE_MS = 1_000;
/** Long enough for any query started on an older version in another process to finish. */
export const DEFAULT_KEEP_VERSIONS_MS = 10 * 60_000;
/**
 * Folding new rows into the index compacts the table too, so it costs time proportional to the table (measured on
 * 2 cores, 384 dims: ~0.5 s at 10k chunks, ~3 s at 40k). Below this size a search waits for it (cheap, and where
 * LanceDB's misranking of unindexed rows is worst). It was 20,000: with documents ingesting, every search of a table
 * of a few thousand rows then waited for a fold run by the API itself, and asks fell from 30 to 13 per second (search
 * p50 3.7 s; `npm run bench -- --only load`).
 */
export const DEFAULT_FRESH_INDEX_MAX_ROWS = 2_000;

/** Two more threads than cores: the index builder runs one producer per core and its consumer needs a free thread. */
export function defaultLanceCpuThreads(): number {
  return Math.max(4, availableParallelism() + 2);
}

export class LanceDbVectorStore implements VectorStore {
  readonly kind = 'lancedb' as const;
  private readonly tableName: string;
  private readonly readConsistencySeconds: number;
  private readonly freshIndexMaxRows: number;
  private readonly freshenOn: 'search' | 'write';
  private readonly writer: TableWriter;
  private opened?: Promise<OpenedTable>;
  private closed = false;

  constructor(private readonly options: LanceDbVectorStoreOptions) {
    if (!options.dir) throw new Error('LanceDbVectorStore: dir is required');
    this.tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    checkIndexIdentity('LanceDbVectorStore', options, { what: 'table name', value: this.tableName });
    this.readConsistencySeconds = options.readConsistencySeconds ?? 0;
    this.freshIndexMaxRows = options.freshIndexMaxRows ?? DEFAULT_FRESH_INDEX_MAX_ROWS;
    this.freshenOn = options.freshenOn ?? 'search';
    this.writer = new TableWriter({
      tableName: this.tableName,
      optimizeAfterWrites: options.optimizeAfterWrites ?? DEFAULT_OPTIMIZE_AFTER_WRITES,
      optimizeIdleMs: options.optimizeIdleMs ?? DEFAULT_OPTIMIZE_IDLE_MS,
      keepVersionsMs: options.keepVersionsMs ?? DEFAULT_KEEP_VERSIONS_MS,
      foldPacing: options.foldPacing ?? 0,
      logger: options.logger,
      onFold: options.onFold,
      table: () => this.opened?.then((o) => o.table),
    });
    // Lance reads this once, when its CPU pool first starts (lazily, on first use), so it must be in the environment
    // before any LanceDB work in this process. An explicit setting (an operator's) wins.
    process.env.LANCE_CPU_THREADS ??= String(options.lanceCpuThreads ?? defaultLanceCpuThreads());
  }

  init(): Promise<void> {
    return this.open().then(() => undefined);
  }

  /** Public operations map LanceDB's raw errors to catalogue codes at this boundary (lancedb-errors.ts). */
  upsert(chunks: ChunkRecord[]): Promise<void> {
    return callLanceDb('upsert', () => this.upsertUnmapped(chunks));
  }

  private async upsertUnmapped(chunks: ChunkRecord[]): Promise<void> {
    if (chunks.length === 0) return;
    const only = this.options.onlyTenant;
    const stranger = only === undefined ? undefined : chunks.find((chunk) => chunk.tenant !== only);
    if (stranger !== undefined)
      // A routing bug, not a store failure: never retried, never written.
      throw new AppError('internal_error', `LanceDB table ${this.tableName} holds tenant ${only}'s rows only, not ${stranger.tenant}'s`);
    const rows = chunks.map((chunk) => toRow(chunk, this.options.dimensions));
    const { table, ftsIndexName } = await this.open();
    await this.writer.upsert(table, rows);
    if (this.freshenOn === 'write') await this.freshenKeywordIndex(table, ftsIndexName);
  }

  search(req: VectorSearchRequest): Promise<ScoredChunk[]> {
    return callLanceDb('search', async () => (await this.searchRows(req, CHUNK_READ)).map(({ item, score }) => ({ chunk: item, score })));
  }

  searchPositions(req: VectorSearchRequest): Promise<ScoredPosition[]> {
    return callLanceDb('search', async () => (await this.searchRows(req, POSITION_READ)).map(({ item, score }) => ({ ...item, score })));
  }

  /** One search, reading `read.columns` of each hit; best first. */
  private async searchRows<T>(req: VectorSearchRequest, read: RowRead<T>): Promise<Array<{ item: T; score: number }>> {
    checkSearchRequest(req, this.options.dimensions);
    const only = this.options.onlyTenant;
    if (only !== undefined && req.tenant !== only) return [];
    const where = chunkFilter(req.tenant, req.collection, req.filter, only === undefined);
    if (req.k === 0 || where === undefined) return [];
    const { table, ftsIndexName, distance } = await this.open();
    // Only stop words or punctuation: the keyword side cannot match anything.
    const keywords = req.mode === 'dense' ? '' : keywordString(req.text);
    if (keywords !== '' && this.freshenOn === 'search') await this.freshenKeywordIndex(table, ftsIndexName);
    switch (req.mode) {
      case 'dense':
        return this.denseSearch(table, distance, req.vector as Float32Array, where, req.k, read);
      case 'keyword':
        return this.keywordSearch(table, keywords, where, req.k, read);
      case 'hybrid': {
        const depth = hybridDepth(req.k);
        const [dense, keyword] = await Promise.all([
          this.denseSearch(table, distance, req.vector as Float32Array, where, depth, read),
          this.keywordSearch(table, keywords, where, depth, read),
        ]);
        const listOf = (hits: Array<{ item: T; score: number }>) => hits.map((hit) => ({ id: read.key(hit.item), hit }));
        return reciprocalRankFusion([listOf(dense), listOf(keyword)], req.fusion?.k ?? DEFAULT_RRF_K, [req.fusion?.denseWeight ?? 1, 1])
          .slice(0, req.k)
          .map((fused) => ({ item: fused.item.hit.item, score: fused.score }));
      }
    }
  }

  async deleteDocument(tenant: string, documentId: string, opts: { onlyVersion?: number; exceptVersion?: number } = {}): Promise<void> {
    const parts = [`tenant = ${sqlString(tenant)}`, `\`documentId\` = ${sqlString(documentId)}`];
    if (opts.onlyVersion !== undefined) parts.push(`\`documentVersion\` = ${sqlInt(opts.onlyVersion, 'onlyVersion')}`);
    if (opts.exceptVersion !== undefined) parts.push(`\`documentVersion\` <> ${sqlInt(opts.exceptVersion, 'exceptVersion')}`);
    await this.deleteWhere(parts.join(' AND '));
  }

  async deleteCollection(tenant: string, collection: string): Promise<void> {
    await this.deleteWhere(`tenant = ${sqlString(tenant)} AND collection = ${sqlString(collection)}`);
  }

  private deleteWhere(where: string): Promise<void> {
    return callLanceDb('delete', () => this.deleteWhereUnmapped(where));
  }

  private async deleteWhereUnmapped(where: string): Promise<void> {
    const { table } = await this.open();
    // Upserts called after this delete land after it.
    await this.writer.delete(async () => {
      await table.delete(where);
    });
  }

  listChunks(tenant: string, documentId: string, version: number, fromIndex: number, limit: number): Promise<StoredChunk[]> {
    return callLanceDb('list', () => this.listChunksUnmapped(tenant, documentId, version, fromIndex, limit));
  }

  private async listChunksUnmapped(
    tenant: string,
    documentId: string,
    version: number,
    fromIndex: number,
    limit: number,
  ): Promise<StoredChunk[]> {
    const where = [
      `tenant = ${sqlString(tenant)}`,
      `\`documentId\` = ${sqlString(documentId)}`,
      `\`documentVersion\` = ${sqlInt(version, 'version')}`,
      `\`chunkIndex\` >= ${sqlInt(fromIndex, 'fromIndex')}`,
    ].join(' AND ');
    if (!Number.isInteger(limit) || limit < 0) throw invalidRequest(`limit must be a non-negative integer, got ${limit}`);
    if (limit === 0) return [];
    const { table } = await this.open();
    const rows = await table
      .query()
      .where(where)
      .orderBy({ columnName: 'chunkIndex', ascending: true })
      .select(CHUNK_COLUMNS)
      .limit(limit)
      .toArrow();
    return storedChunksOf(rows);
  }

  count(tenant: string, where: { collection?: string; documentId?: string } = {}): Promise<number> {
    return callLanceDb('count', () => this.countUnmapped(tenant, where));
  }

  private async countUnmapped(tenant: string, where: { collection?: string; documentId?: string }): Promise<number> {
    const parts = [`tenant = ${sqlString(tenant)}`];
    if (where.collection !== undefined) parts.push(`collection = ${sqlString(where.collection)}`);
    if (where.documentId !== undefined) parts.push(`\`documentId\` = ${sqlString(where.documentId)}`);
    const { table } = await this.open();
    return table.countRows(parts.join(' AND '));
  }

  async optimize(): Promise<void> {
    await this.open();
    await this.writer.fold();
  }

  async ping(): Promise<void> {
    const { connection } = await this.open();
    const names = await connection.tableNames();
    if (!names.includes(this.tableName)) throw new Error(`LanceDB table ${this.tableName} is missing from ${this.options.dir}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued writes (and a running compaction) finish: abandoning them could lose a chunk the caller awaited.
    await this.writer.drain();
    const opened = this.opened;
    this.opened = undefined;
    if (!opened) return;
    // Run every step even if one fails: close must release what it can.
    const handles = await opened.catch(() => undefined);
    if (!handles) return;
    const errors: unknown[] = [];
    for (const release of [() => handles.table.close(), () => handles.connection.close()]) {
      try {
        release();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'LanceDbVectorStore: close failed');
  }

  async drop(): Promise<void> {
    await this.close();
    const connection = await lancedb.connect(this.options.dir);
    try {
      if ((await connection.tableNames()).includes(this.tableName)) await connection.dropTable(this.tableName);
    } finally {
      connection.close();
    }
  }

  /** Opens (creating if missing) the table once; later calls share the same handles. */
  private open(): Promise<OpenedTable> {
    if (this.closed) return Promise.reject(new Error('LanceDbVectorStore is closed'));
    this.opened ??= this.openTable().catch((err) => {
      this.opened = undefined; // let a later call retry (e.g. after a transient I/O error)
      throw err;
    });
    return this.opened;
  }

  private openTable(): Promise<OpenedTable> {
    const { dir, dimensions, embeddingModel, session } = this.options;
    return openOrCreateTable({
      dir,
      tableName: this.tableName,
      dimensions,
      embeddingModel,
      session,
      readConsistencySeconds: this.readConsistencySeconds,
    });
  }

  /**
   * LanceDB 0.31 does search rows written after the last index update, but that flat path scores them wrongly: it
   * seems to count term occurrences as document frequency, so a term repeated in a chunk can get a negative IDF and the
   * chunk vanishes from the results (measured: "anchor anchor chain" rows not found for "anchor" in a small table), and
   * with an empty index `limit` cuts before ranking. So a keyword search first folds unindexed rows (ours or another
   * process's) into the index, which is cheap while the table is small, where the error is worst. In a large table the
   * error is small (term counts are tiny against the row count) and folding is slow, so the search goes ahead and the
   * writer folds the rows soon after its writes pause (DEFAULT_OPTIMIZE_IDLE_MS).
   */
  private async freshenKeywordIndex(table: lancedb.Table, ftsIndexName: string): Promise<void> {
    const stats = await table.indexStats(ftsIndexName);
    if (!stats || stats.numUnindexedRows === 0) return;
    if (stats.numIndexedRows < this.freshIndexMaxRows) return this.freshenOn === 'write' ? this.writer.pacedFold() : this.writer.fold();
    // A large table is folded by its writer (the write count and the idle timer), never because someone searched: a
    // search of a table another process is filling would otherwise rewrite it again and again (see the default).
  }

  private async denseSearch<T>(
    table: lancedb.Table,
    distance: 'dot' | 'cosine',
    vector: Float32Array,
    where: string,
    limit: number,
    read: RowRead<T>,
  ): Promise<Array<{ item: T; score: number }>> {
    // Cosine similarity is undefined for a zero vector (LanceDB's cosine search returns nothing): keep that answer.
    const query = unitVector(vector);
    if (!query) return [];
    const rows = await table
      .vectorSearch(distance === 'dot' ? query : vector)
      .column('vector')
      .distanceType(distance)
      .where(where)
      .select(read.columns)
      .limit(limit)
      .toArrow();
    const distances = numbersOf(rows, '_distance');
    return read.rows(rows).map((item, i) => ({ item, score: 1 - distances[i] }));
  }

  /** `query` is keywordString output: exactly the terms stored in the `keywords` column. */
  private async keywordSearch<T>(
    table: lancedb.Table,
    query: string,
    where: string,
    limit: number,
    read: RowRead<T>,
  ): Promise<Array<{ item: T; score: number }>> {
    if (query === '') return [];
    const rows = await table
      .query()
      .fullTextSearch(query, { columns: FTS_COLUMN })
      .where(where)
      .select(read.columns)
      .limit(limit)
      .toArrow();
    const scores = numbersOf(rows, '_score');
    // Rows from the unindexed (flat) path are not always returned in score order.
    return read
      .rows(rows)
      .map((item, i) => ({ item, score: scores[i] }))
      .sort((a, b) => b.score - a.score);
  }
}
