import type { Embedder } from '../gateway/embedder';
import type { Embedders } from '../gateway/embedders';
import { Chunker } from '../ingest/chunker';
import type { TokenCounter } from '../ingest/token-counter';
import type { ParsedDocument, TextChunk } from '../ingest/types';
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
}

/**
 * Every physical index this process has touched, and the routing of a (tenant, collection) to one. Stores are
 * opened once per index and kept; a dropped index is closed and forgotten.
 */
export class VectorIndexes {
  private readonly stores = new Map<string, VectorStore>();
  private readonly chunkers = new Map<string, Chunker>();

  constructor(readonly options: VectorIndexesOptions) {
    this.stores.set(options.catalog.default.name, options.defaultStore);
  }

  get catalog(): IndexCatalog {
    return this.options.catalog;
  }

  resolve(spec: IndexSpec): ResolvedIndex {
    const embedder = this.options.embedders.forModel(spec.embeddingModel);
    if (embedder.dimensions !== spec.dimensions) {
      throw new Error(`Index ${spec.name} is recorded with ${spec.dimensions} dimensions but model ${spec.embeddingModel} has ${embedder.dimensions}`);
    }
    let store = this.stores.get(spec.name);
    if (!store) {
      store = this.options.openStore(spec);
      this.stores.set(spec.name, store);
    }
    const chunker = this.chunker(spec.chunking);
    return { spec, store, embedder, chunk: (doc) => chunker.chunk(doc) };
  }

  /** The index search reads for this collection. */
  async live(tenant: string, collection: string): Promise<ResolvedIndex> {
    return this.resolve(await this.options.catalog.route(tenant, collection));
  }

  /** Where writes for this collection go: the serving index, and the one being built if a reindex runs. */
  async writeTargets(tenant: string, collection: string): Promise<{ live: ResolvedIndex; build?: ResolvedIndex & { jobId: string } }> {
    const { live, build } = await this.options.catalog.writeTargets(tenant, collection);
    return { live: this.resolve(live), ...(build ? { build: this.resolveBuild(build) } : {}) };
  }

  resolveBuild(build: IndexBuild): ResolvedIndex & { jobId: string } {
    return { ...this.resolve(build.spec), jobId: build.jobId };
  }

  /** Deletes a physical index. The default index is shared, so it is never dropped. */
  async drop(spec: IndexSpec): Promise<void> {
    if (isDefaultIndex(spec)) throw new Error('the default index is never dropped');
    const store = this.stores.get(spec.name) ?? this.options.openStore(spec);
    this.stores.delete(spec.name);
    await store.drop();
  }

  /** Closes every store but the default one (the composition root closes that). */
  async close(): Promise<void> {
    for (const [name, store] of this.stores) {
      if (store !== this.options.defaultStore) await store.close().catch(() => undefined);
      this.stores.delete(name);
    }
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
