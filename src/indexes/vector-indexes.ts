import type { Embedder } from '../gateway/embedder';
import type { Embedders } from '../gateway/embedders';
import { Chunker } from '../core/chunker';
import type { TokenCounter } from '../core/tokens/token-counter';
import type { ParsedDocument, TextChunk } from '../core/parsed-document';
import type { VectorStore } from '../stores/vector/vector-store';
import type { IndexBuild, IndexCatalog } from './index-catalog';
import { isDefaultIndex, type ChunkingSpec, type IndexSpec } from './index-spec';

/** An index ready to use: its store, the embedder of its model and the chunking its chunks are cut with. */
export interface ResolvedIndex {
  spec: IndexSpec;
  store: VectorStore;
  embedder: Embedder;
  chunk(doc: ParsedDocument): TextChunk[];
}

export interface VectorIndexesOptions {
  catalog: IndexCatalog;
  embedders: Embedders;
  tokenCounter: TokenCounter;
  /** The store of the default index, already initialised (it also holds session memory). */
  defaultStore: VectorStore;
  /** Builds the store of another physical index (not initialised: stores open lazily). */
  openStore(spec: IndexSpec): VectorStore;
  /**
   * How long an index no collection routes to any more (here) stays open, so that calls already on it finish: the
   * reindex drop grace. Default 30 s.
   */
  retireAfterMs?: number;
  /** Told of a store that failed to close when retired (it is forgotten either way). */
  onCloseError?(name: string, err: unknown): void;
}

/** The indexes one collection was last seen routed to, by live() and writeTargets(). */
interface Routed {
  live: string;
  build?: string;
}

const DEFAULT_RETIRE_AFTER_MS = 30_000;

/**
 * The physical indexes this process uses, and the routing of a (tenant, collection) to one. Stores are opened once per
 * index and kept while routed: when a collection's route or build moves on (a reindex switched, or its build was
 * abandoned) and no other collection routes to the old index, its store is closed after `retireAfterMs`, so a
 * long-running process holds the indexes in use, not every index it ever touched. A dropped index is closed at once.
 */
export class VectorIndexes {
  private readonly stores = new Map<string, VectorStore>();
  private readonly chunkers = new Map<string, Chunker>();
  private readonly routed = new Map<string, Routed>();
  private readonly retiring = new Map<string, NodeJS.Timeout>();
  /** Indexes work holds open beyond a request (a rebuild's target), with how many hold each. */
  private readonly held = new Map<string, number>();
  /** Retired stores still closing (finishing their queued writes): a drop waits for them. */
  private readonly closing = new Map<string, Promise<void>>();

  constructor(readonly options: VectorIndexesOptions) {
    this.stores.set(options.catalog.default.name, options.defaultStore);
  }

  get catalog(): IndexCatalog {
    return this.options.catalog;
  }

  resolve(spec: IndexSpec): ResolvedIndex {
    const embedder = this.options.embedders.forModel(spec.embeddingModel);
    if (embedder.dimensions !== spec.dimensions) {
      throw new Error(
        `Index ${spec.name} is recorded with ${spec.dimensions} dimensions but model ${spec.embeddingModel} has ${embedder.dimensions}`,
      );
    }
    let store = this.stores.get(spec.name);
    if (!store) {
      store = this.options.openStore(spec);
      this.stores.set(spec.name, store);
    }
    const chunker = this.chunker(spec.chunking);
    return { spec, store, embedder, chunk: (doc) => chunker.chunk(doc) };
  }

  /**
   * The index search reads for this collection. The build is read too (the same round trip), so that a process that
   * only searches also lets go of an abandoned build's index.
   */
  async live(tenant: string, collection: string): Promise<ResolvedIndex> {
    const { live, build } = await this.options.catalog.writeTargets(tenant, collection);
    this.noteRoute(tenant, collection, live.name, build?.spec.name);
    return this.resolve(live);
  }

  /** Where writes for this collection go: the serving index, and the one being built if a reindex runs. */
  async writeTargets(tenant: string, collection: string): Promise<{ live: ResolvedIndex; build?: ResolvedIndex & { jobId: string } }> {
    const { live, build } = await this.options.catalog.writeTargets(tenant, collection);
    this.noteRoute(tenant, collection, live.name, build?.spec.name);
    return { live: this.resolve(live), ...(build ? { build: this.resolveBuild(build) } : {}) };
  }

  /** Names of the indexes whose stores are open here (the default one included). */
  openIndexes(): string[] {
    return [...this.stores.keys()];
  }

  /** Indexes due to be closed once their retire delay ends (unless routed or held again by then). */
  retiringIndexes(): string[] {
    return [...this.retiring.keys()];
  }

  resolveBuild(build: IndexBuild): ResolvedIndex & { jobId: string } {
    return { ...this.resolve(build.spec), jobId: build.jobId };
  }

  /**
   * Runs `work` on the index, kept open throughout: for work that holds an index far longer than a request (a rebuild
   * writing its target for hours), which retirement must not close under it even if every route moved on meanwhile.
   */
  async holding<T>(spec: IndexSpec, work: (index: ResolvedIndex) => Promise<T>): Promise<T> {
    this.held.set(spec.name, (this.held.get(spec.name) ?? 0) + 1);
    try {
      return await work(this.resolve(spec));
    } finally {
      const left = (this.held.get(spec.name) ?? 1) - 1;
      if (left > 0) this.held.set(spec.name, left);
      else {
        this.held.delete(spec.name);
        if (!this.isRouted(spec.name)) this.retireLater(spec.name);
      }
    }
  }

  /** Deletes a physical index. The default index is shared, so it is never dropped. */
  async drop(spec: IndexSpec): Promise<void> {
    if (isDefaultIndex(spec)) throw new Error('the default index is never dropped');
    await this.closing.get(spec.name);
    const store = this.stores.get(spec.name) ?? this.options.openStore(spec);
    this.stores.delete(spec.name);
    await store.drop();
  }

  /** Closes every store but the default one (the composition root closes that). */
  async close(): Promise<void> {
    for (const timer of this.retiring.values()) clearTimeout(timer);
    this.retiring.clear();
    for (const [name, store] of this.stores) {
      if (store !== this.options.defaultStore) await store.close().catch(() => undefined);
      this.stores.delete(name);
    }
  }

  /** Records where a collection routes now; an index it stopped routing to is retired unless another still routes to it. */
  private noteRoute(tenant: string, collection: string, live: string, build: string | undefined): void {
    const key = `${tenant}\u0000${collection}`;
    const before = this.routed.get(key);
    const now: Routed = { live, build };
    if (before && before.live === now.live && before.build === now.build) return;
    this.routed.set(key, now);
    for (const name of [now.live, now.build]) {
      if (name !== undefined && this.retiring.has(name)) {
        clearTimeout(this.retiring.get(name));
        this.retiring.delete(name);
      }
    }
    for (const name of [before?.live, before?.build]) {
      if (name !== undefined && name !== now.live && name !== now.build) this.retireLater(name);
    }
  }

  private retireLater(name: string): void {
    if (name === this.options.catalog.default.name || this.retiring.has(name)) return;
    const timer = setTimeout(() => {
      this.retiring.delete(name);
      const store = this.stores.get(name);
      if (!store || this.isRouted(name) || this.held.has(name)) return;
      this.stores.delete(name);
      const closed: Promise<void> = store
        .close()
        .catch((err) => this.options.onCloseError?.(name, err))
        .finally(() => {
          if (this.closing.get(name) === closed) this.closing.delete(name);
        });
      this.closing.set(name, closed);
    }, this.options.retireAfterMs ?? DEFAULT_RETIRE_AFTER_MS);
    timer.unref();
    this.retiring.set(name, timer);
  }

  private isRouted(name: string): boolean {
    for (const r of this.routed.values()) if (r.live === name || r.build === name) return true;
    return false;
  }

  private chunker(chunking: ChunkingSpec): Chunker {
    const key = `${chunking.chunkSize}/${chunking.chunkOverlap}`;
    let chunker = this.chunkers.get(key);
    if (!chunker) {
      chunker = new Chunker({ tokenCounter: this.options.tokenCounter, ...chunking });
      this.chunkers.set(key, chunker);
    }
    return chunker;
  }
}
