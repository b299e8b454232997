import { createHash } from 'node:crypto';
import type { ChunkRecord, ScoredChunk, ScoredPosition, StoredChunk, StoreLogger, VectorSearchRequest, VectorStore } from './vector-store';

/**
 * One physical index split into one table per tenant, so that nothing one tenant writes changes what another reads:
 * LanceDB's full-text index computes BM25's IDF and average length over its whole table, so with every tenant in one
 * table, tenant B could watch a term's score (and its own ranking) move when tenant A uploaded documents holding it.
 * Per-tenant tables make those statistics exact and per tenant, at no cost to retrieval quality.
 *
 * Every VectorStore call names its tenant, so routing is a lookup: the partition's store is opened on first use and
 * closed after `idleCloseMs` without calls (a long-running process holds the tenants in use, not every tenant it ever
 * served). Reads of a tenant that has no table answer empty without creating one, so unknown tenants cost no disk.
 *
 * Existing data: an index created before partitioning (its shared table, named like the index, exists) is served as
 * before, by `openLegacy`, with a warning: nothing stored is lost or hidden, and a collection moves to a partitioned
 * index when it is reindexed (a reindex builds a new index from the stored sources). See `legacyExists`.
 */
export interface TenantPartitionedStoreOptions {
  kind: VectorStore['kind'];
  /** The index name (for logs). */
  name: string;
  /** A store over the tenant's own table (not initialised; it creates the table on first write). */
  openPartition(tenant: string): VectorStore;
  /** Whether the tenant's table exists (reads of a missing one answer empty). */
  partitionExists(tenant: string): Promise<boolean>;
  /** Whether the index's pre-partitioning shared table exists; if so it keeps serving every tenant. */
  legacyExists(): Promise<boolean>;
  openLegacy(): VectorStore;
  /** Throws when the backend does not answer. */
  pingBackend(): Promise<void>;
  /**
   * Throws (`embedding_mismatch`) when the index's existing partitions were written for another embedding model, size
   * or layout, so that opening an index as the wrong model fails at init as a single table's store does.
   */
  checkIdentity(): Promise<void>;
  /** Deletes every partition table of this index (after every partition was closed). */
  dropPartitions(): Promise<void>;
  /** A partition without calls for this long is closed. Default `DEFAULT_PARTITION_IDLE_MS`. */
  idleCloseMs?: number;
  logger?: StoreLogger;
}

/** Long enough that a tenant's burst of calls reuses one open table; short enough to bound open handles. */
export const DEFAULT_PARTITION_IDLE_MS = 60_000;

interface Partition {
  store: VectorStore;
  /** Calls in flight: a partition is never closed under one. */
  busy: number;
  timer?: NodeJS.Timeout;
}

/**
 * A table name for a tenant's partition: the tenant's UTF-8 bytes in hex, so any tenant name gives a safe name (and the
 * directory listing says whose table is whose); a long name (over 80 bytes) is hashed instead, to stay well inside
 * file-name limits.
 */
export function partitionTableName(index: string, tenant: string): string {
  const bytes = Buffer.from(tenant, 'utf8');
  return `${index}__t_${bytes.length <= 80 ? bytes.toString('hex') : `h${createHash('sha256').update(bytes).digest('hex')}`}`;
}

export class TenantPartitionedStore implements VectorStore {
  readonly kind: VectorStore['kind'];
  private readonly partitions = new Map<string, Partition>();
  /** Partitions closing after idling: a new call for the tenant waits for the close before reopening. */
  private readonly closing = new Map<string, Promise<void>>();
  private mode?: Promise<{ legacy?: VectorStore }>;
  private closed = false;

  constructor(private readonly options: TenantPartitionedStoreOptions) {
    this.kind = options.kind;
  }

  /** How many tenants' tables are open here (for tests and metrics). */
  openPartitions(): number {
    return this.partitions.size;
  }

  async init(): Promise<void> {
    const { legacy } = await this.resolveMode();
    await (legacy ? legacy.init() : this.options.checkIdentity());
  }

  upsert(chunks: ChunkRecord[]): Promise<void> {
    if (chunks.length === 0) return Promise.resolve();
    const byTenant = new Map<string, ChunkRecord[]>();
    for (const chunk of chunks) byTenant.set(chunk.tenant, [...(byTenant.get(chunk.tenant) ?? []), chunk]);
    return Promise.all([...byTenant].map(([tenant, own]) => this.on(tenant, true, (store) => store.upsert(own), undefined))).then(
      () => undefined,
    );
  }

  search(req: VectorSearchRequest): Promise<ScoredChunk[]> {
    return this.on(req.tenant, false, (store) => store.search(req), []);
  }

  searchPositions(req: VectorSearchRequest): Promise<ScoredPosition[]> {
    return this.on(req.tenant, false, (store) => store.searchPositions(req), []);
  }

  deleteDocument(tenant: string, documentId: string, opts?: { onlyVersion?: number; exceptVersion?: number }): Promise<void> {
    return this.on(tenant, false, (store) => store.deleteDocument(tenant, documentId, opts), undefined);
  }

  deleteCollection(tenant: string, collection: string): Promise<void> {
    return this.on(tenant, false, (store) => store.deleteCollection(tenant, collection), undefined);
  }

  listChunks(tenant: string, documentId: string, version: number, fromIndex: number, limit: number): Promise<StoredChunk[]> {
    return this.on(tenant, false, (store) => store.listChunks(tenant, documentId, version, fromIndex, limit), []);
  }

  count(tenant: string, where?: { collection?: string; documentId?: string }): Promise<number> {
    return this.on(tenant, false, (store) => store.count(tenant, where), 0);
  }

  async optimize(): Promise<void> {
    const { legacy } = await this.resolveMode();
    if (legacy) return legacy.optimize();
    await Promise.all([...this.partitions.values()].map((p) => p.store.optimize()));
  }

  async ping(): Promise<void> {
    const { legacy } = await this.resolveMode();
    return legacy ? legacy.ping() : this.options.pingBackend();
  }

  /** Idempotent; closes every open partition (each finishes its queued writes first), even if one fails. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stores = [...this.partitions.values()].map((p) => {
      if (p.timer) clearTimeout(p.timer);
      return p.store;
    });
    this.partitions.clear();
    const legacy = this.mode ? (await this.mode.catch(() => ({ legacy: undefined }))).legacy : undefined;
    const results = await Promise.allSettled([
      ...stores.map((s) => s.close()),
      ...this.closing.values(),
      ...(legacy ? [legacy.close()] : []),
    ]);
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (errors.length > 0) throw new AggregateError(errors, `TenantPartitionedStore ${this.options.name}: close failed`);
  }

  async drop(): Promise<void> {
    const { legacy } = await this.resolveMode();
    await this.close();
    await legacy?.drop();
    await this.options.dropPartitions();
  }

  private resolveMode(): Promise<{ legacy?: VectorStore }> {
    this.mode ??= this.options.legacyExists().then(
      (exists) => {
        if (!exists) return {};
        this.options.logger?.warn(
          { index: this.options.name },
          'this index was created before keyword statistics were per tenant: it keeps serving from its shared table, where ' +
            "one tenant's documents move another's keyword scores; reindex its collections to move them to per-tenant tables",
        );
        return { legacy: this.options.openLegacy() };
      },
      (err: unknown) => {
        this.mode = undefined; // let a later call retry (e.g. after a transient I/O error)
        throw err;
      },
    );
    return this.mode;
  }

  /**
   * Runs `fn` on the tenant's partition. `create`: a write, which creates the table; a read or delete of a tenant whose
   * table does not exist answers `empty` instead.
   */
  private async on<T>(tenant: string, create: boolean, fn: (store: VectorStore) => Promise<T>, empty: T): Promise<T> {
    if (this.closed) throw new Error(`TenantPartitionedStore ${this.options.name} is closed`);
    const { legacy } = await this.resolveMode();
    if (legacy) return fn(legacy);
    let partition = this.partitions.get(tenant);
    if (!partition) {
      await this.closing.get(tenant);
      partition = this.partitions.get(tenant);
      if (!partition) {
        if (!create && !(await this.options.partitionExists(tenant))) return empty;
        partition = this.partitions.get(tenant) ?? { store: this.options.openPartition(tenant), busy: 0 };
        this.partitions.set(tenant, partition);
      }
    }
    const used = partition;
    used.busy++;
    if (used.timer) clearTimeout(used.timer);
    used.timer = undefined;
    try {
      return await fn(used.store);
    } finally {
      used.busy--;
      if (used.busy === 0 && this.partitions.get(tenant) === used && !this.closed) this.closeWhenIdle(tenant, used);
    }
  }

  private closeWhenIdle(tenant: string, partition: Partition): void {
    partition.timer = setTimeout(() => {
      if (partition.busy > 0 || this.partitions.get(tenant) !== partition) return;
      this.partitions.delete(tenant);
      const closed: Promise<void> = partition.store
        .close()
        .catch((err: unknown) => this.options.logger?.warn({ err, index: this.options.name }, 'closing an idle tenant partition failed'))
        .finally(() => {
          if (this.closing.get(tenant) === closed) this.closing.delete(tenant);
        });
      this.closing.set(tenant, closed);
    }, this.options.idleCloseMs ?? DEFAULT_PARTITION_IDLE_MS);
    partition.timer.unref();
  }
}
