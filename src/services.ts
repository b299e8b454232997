import path from 'node:path';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { Embedder } from './gateway/embedder';
import type { Embedders } from './gateway/embedders';
import { createGateway } from './gateway/create-gateway';
import type { ModelGateway } from './gateway/model-gateway';
import type { UsageMeter } from './gateway/safety/usage-meter';
import type { IngestDeps } from './ingest/ingest-document';
import { ParsePool } from './ingest/parse-sandbox/parse-pool';
import { sandboxedParse } from './ingest/parse-sandbox/sandboxed-parse';
import { TokenCounter } from './core/tokens/token-counter';
import { IndexCatalog } from './indexes/index-catalog';
import { DEFAULT_INDEX_NAME, type IndexSpec } from './indexes/index-spec';
import { VectorIndexes } from './indexes/vector-indexes';
import { createMetrics, registerBreakerStateGauge, registerOpenIndexesGauge, registerQueueDepthGauge, type Metrics } from './infra/metrics';
import { RequestScope } from './infra/request-scope';
import { assertRedisReachable, createCommandClient, createWorkerConnection, waitUntilReady, type RedisClient } from './infra/redis';
import { IngestProducer } from './queues/ingest-queue';
import { QueueNames, openQueue, retryingJobOptions } from './queues/queue-names';
import { ReindexProducer } from './queues/reindex-queue';
import { ReindexJobs } from './reindex/reindex-jobs';
import type { ReindexDeps } from './reindex/run-reindex';
import { SessionMemoryProducer } from './queues/session-memory-queue';
import { SessionRecallIndex } from './sessions/session-recall-index';
import { ByteBudget } from './infra/byte-budget';
import { SourceInbox } from './stores/document/source-inbox';
import { DocumentStore } from './stores/document/document-store';
import { SourceStore } from './stores/document/source-store';
import { SessionStore } from './stores/session/session-store';
import { Authenticator } from './tenancy/authenticator';
import { KeyStore } from './tenancy/key-store';
import { FairScheduler } from './tenancy/fair-scheduler';
import { RequestLimiter } from './tenancy/request-limiter';
import { partitionedLanceDbStore } from './stores/vector/lancedb-partitions';
import { lanceDbSession } from './stores/vector/lancedb-store';
import type { Session } from '@lancedb/lancedb';
import { QdrantVectorStore } from './stores/vector/qdrant-store';
import type { VectorStore } from './stores/vector/vector-store';

/**
 * The composition root shared by the API process and the worker process: every client is built here from config
 * and passed down. `close()` runs every step even if one fails, and is idempotent.
 */
export interface Services {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  /** The HTTP request being served, for the producers to stamp jobs with its id (see RequestScope). */
  requestScope: RequestScope;
  /** One server's client or the cluster's (REDIS_CLUSTER_NODES); every store takes either. */
  redis: RedisClient;
  queueConnection: RedisClient;
  documents: DocumentStore;
  sources: SourceStore;
  /** The default index's store: collections that were never reindexed, and session memory. */
  vectors: VectorStore;
  /** Every index, and the routing of a collection to its serving one. */
  indexes: VectorIndexes;
  embedder: Embedder;
  embedders: Embedders;
  gateway: ModelGateway;
  usage: UsageMeter;
  tokenCounter: TokenCounter;
  producer: IngestProducer;
  sessions: SessionStore;
  recallIndex: SessionRecallIndex;
  /** Where session memory (the recall index) lives: its own LanceDB tables, or `vectors` on Qdrant. */
  sessionVectors: VectorStore;
  memoryProducer: SessionMemoryProducer;
  reindexJobs: ReindexJobs;
  reindexProducer: ReindexProducer;
  /** The session-sweep queue: workers schedule the sweep on it, and the queue dashboard shows it. */
  sessionSweepQueue: Queue;
  /** The bounded child processes that parse PDF and HTML (closed by `close()`). */
  parsePool: ParsePool;
  /** API keys stored hashed in Redis (`npm run keys`). */
  keyStore: KeyStore;
  /** Who a key is: API_KEYS and the KeyStore together; says whether auth is on. */
  authenticator: Authenticator;
  requestLimiter: RequestLimiter;
  fairScheduler: FairScheduler;
  /** TENANT_MAX_REINDEX_JOBS, for starting reindexes. */
  maxReindexJobs: number;
  ingestDeps(): IngestDeps;
  reindexDeps(): ReindexDeps;
  close(): Promise<void>;
}

/** The store of one physical index: LanceDB tables `<name>__t_<tenant>`, or the Qdrant collection base `ragmem_<name>`. */
export function createVectorStore(
  config: Readonly<Config>,
  spec: IndexSpec,
  logger: Logger,
  session?: Session,
  metrics?: Metrics,
): VectorStore {
  const common = { dimensions: spec.dimensions, embeddingModel: spec.embeddingModel, logger };
  if (config.vector.backend === 'qdrant') {
    return new QdrantVectorStore({
      url: config.vector.url,
      apiKey: config.vector.apiKey,
      collectionBase: `ragmem_${spec.name}`,
      cluster: {
        shardNumber: config.vector.shardNumber,
        replicationFactor: config.vector.replicationFactor,
        writeConsistencyFactor: config.vector.writeConsistencyFactor,
        writeOrdering: config.vector.writeOrdering,
        readConsistency: config.vector.readConsistency,
      },
      ...common,
    });
  }
  // One table per tenant: LanceDB's BM25 statistics are per table, so tenants cannot move each other's keyword scores.
  return partitionedLanceDbStore({
    dir: config.vector.dir,
    tableName: spec.name,
    session,
    onFold: foldObserver(metrics, spec.name),
    ...common,
  });
}

/** LanceDB tables of session memory: `session_memory__t_<tenant>`. */
export const SESSION_MEMORY_INDEX_NAME = 'session_memory';
/**
 * Below this many indexed messages a tenant's session-memory table folds new messages into its keyword index as they
 * are written (cheap while small, and exact: LanceDB misranks unindexed rows, see freshenKeywordIndex); above it, the
 * store's write count and idle timer do it, and the newest messages, not yet folded, are the ones the window shows.
 */
const SESSION_MEMORY_FRESH_ROWS = 2_000;

/**
 * Session memory gets LanceDB tables of its own: it is written a few rows at a time after every answer, and sharing
 * the documents' tables made every question fold those rows into the documents' keyword index first (measured under
 * 32 asking clients: an optimize every few hundred ms in the API and searches of 250-600 ms). Qdrant has no such cost:
 * undefined there, and session memory stays a reserved collection of the default index.
 */
/** Counts a LanceDB index's folds in `ragmem_lancedb_fold_seconds`. */
const foldObserver = (metrics: Metrics | undefined, index: string) =>
  metrics ? (seconds: number) => metrics.lancedbFolds.observe({ index }, seconds) : undefined;

function createSessionMemoryStore(
  config: Readonly<Config>,
  spec: IndexSpec,
  logger: Logger,
  session?: Session,
  metrics?: Metrics,
): VectorStore | undefined {
  if (config.vector.backend === 'qdrant') return undefined;
  return partitionedLanceDbStore({
    dir: config.vector.dir,
    session,
    tableName: SESSION_MEMORY_INDEX_NAME,
    dimensions: spec.dimensions,
    embeddingModel: spec.embeddingModel,
    logger,
    freshenOn: 'write',
    freshIndexMaxRows: SESSION_MEMORY_FRESH_ROWS,
    foldPacing: config.vector.sessionMemoryFoldPacing,
    onFold: foldObserver(metrics, SESSION_MEMORY_INDEX_NAME),
  });
}

export async function createServices(config: Readonly<Config>, logger: Logger): Promise<Services> {
  await assertRedisReachable(config.redis);
  const redis = createCommandClient(config.redis, 'ragmem-commands');
  const queueConnection = createCommandClient(config.redis, 'ragmem-queue');
  await Promise.all([waitUntilReady(redis), waitUntilReady(queueConnection)]).catch((err) => {
    redis.disconnect();
    queueConnection.disconnect();
    throw err;
  });
  const metrics = createMetrics();
  const requestScope = new RequestScope();
  const requestId = () => requestScope.requestId();
  const tokenCounter = new TokenCounter();
  const { gateway, usage, embedder, embedders } = createGateway(config, redis, tokenCounter, logger, metrics);
  const defaultSpec: IndexSpec = {
    name: DEFAULT_INDEX_NAME,
    embeddingModel: embedder.model,
    dimensions: embedder.dimensions,
    chunking: config.chunking,
  };
  // One cache budget for every LanceDB table of this process (LANCEDB_INDEX_CACHE_MB, LANCEDB_METADATA_CACHE_MB).
  const lanceSession = config.vector.backend === 'lancedb' ? lanceDbSession(config.vector.cache) : undefined;
  const vectors = createVectorStore(config, defaultSpec, logger, lanceSession, metrics);
  await vectors.init();
  const indexes = new VectorIndexes({
    catalog: new IndexCatalog(redis, config.redisPrefix, defaultSpec),
    embedders,
    tokenCounter,
    defaultStore: vectors,
    openStore: (spec) => createVectorStore(config, spec, logger, lanceSession, metrics),
    // A search or write that read the old route just before a switch finishes on it first, even with no drop grace.
    retireAfterMs: Math.max(config.reindex.dropGraceMs, 10_000),
    onCloseError: (index, err) => logger.warn({ err, index }, 'closing a retired index failed'),
  });
  registerOpenIndexesGauge(metrics.registry, () => indexes.openIndexes().length);
  const documents = new DocumentStore(redis, config.redisPrefix, { documents: config.quotas.documents, bytes: config.quotas.bytes });
  const keyStore = new KeyStore(redis, config.redisPrefix);
  const authenticator = new Authenticator(config.apiKeys, keyStore);
  const requestLimiter = new RequestLimiter(redis, config.redisPrefix, config.keyRateLimit);
  const sources = new SourceStore(path.join(config.dataDir, 'sources'), new SourceInbox(redis, config.redisPrefix));
  // Every queue retries the same way (see retryingJobOptions).
  const jobOptions = retryingJobOptions(config.workers.attempts, config.workers.backoffMs);
  const producer = new IngestProducer(queueConnection, config.redisPrefix, jobOptions, redis, requestId);
  const reindexJobs = new ReindexJobs(redis, config.redisPrefix);
  const reindexProducer = new ReindexProducer(queueConnection, config.redisPrefix, jobOptions, requestId);
  const sessions = new SessionStore(redis, config.redisPrefix, { ttlSeconds: config.sessions.ttlSeconds });
  const sessionVectors = createSessionMemoryStore(config, defaultSpec, logger, lanceSession, metrics) ?? vectors;
  if (sessionVectors !== vectors) await sessionVectors.init();
  const recallIndex = new SessionRecallIndex(sessionVectors, embedder, {
    legacy: sessionVectors !== vectors ? vectors : undefined,
    embedBatchSize: config.embedBatchSize,
    denseWeight: config.sessions.context.recallDenseWeight,
  });
  const memoryProducer = new SessionMemoryProducer(queueConnection, config.redisPrefix, jobOptions, config.sessions.summary, requestId);
  const sessionSweepQueue = openQueue(QueueNames.sessionSweep, queueConnection, config.redisPrefix);
  // PDF and HTML are parsed in child processes with time, page and memory limits, never on this event loop.
  const parsePool = new ParsePool({ ...config.parse, logger });
  const parse = sandboxedParse(parsePool);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const steps: Array<[string, () => Promise<unknown>]> = [
        ['queue producer', () => producer.close()],
        ['parse processes', () => parsePool.close()],
        ['session memory producer', () => memoryProducer.close()],
        ['reindex producer', () => reindexProducer.close()],
        ['session sweep queue', () => sessionSweepQueue.close()],
        ['reindexed vector stores', () => indexes.close()],
        ['vector store', () => vectors.close()],
        ['session memory store', () => (sessionVectors !== vectors ? sessionVectors.close() : Promise.resolve())],
        ['redis', () => redis.quit()],
        ['queue redis', () => queueConnection.quit()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (err) {
          logger.warn({ err: (err as Error).message }, `closing ${name} failed`);
        }
      }
    })();
    return closing;
  };

  // One budget per process, shared by every ingest job it runs.
  const memory = new ByteBudget(config.workers.maxInflightBytes);
  const ingestDeps = (): IngestDeps => ({ documents, sources, indexes, parse, embedBatchSize: config.embedBatchSize, logger, memory });
  return {
    config,
    logger,
    metrics,
    requestScope,
    redis,
    queueConnection,
    documents,
    sources,
    vectors,
    indexes,
    embedder,
    embedders,
    gateway,
    usage,
    tokenCounter,
    producer,
    sessions,
    recallIndex,
    sessionVectors,
    memoryProducer,
    reindexJobs,
    reindexProducer,
    sessionSweepQueue,
    parsePool,
    keyStore,
    authenticator,
    requestLimiter,
    fairScheduler: new FairScheduler(config.fairness),
    maxReindexJobs: config.quotas.reindexJobs,
    reindexDeps: () => ({ ...ingestDeps(), reindexJobs, concurrency: config.reindex.concurrency, dropGraceMs: config.reindex.dropGraceMs }),
    ingestDeps,
    close,
  };
}

/**
 * Figures of state every process shares (queue depths and model breakers live in Redis), read when Prometheus scrapes.
 * The API process exports them, and worker processes do not: a deployment's scrape then holds each figure once per
 * API replica (dashboards take the max), never once per worker besides.
 */
export function registerSharedStateGauges(
  services: Pick<Services, 'metrics' | 'producer' | 'reindexProducer' | 'memoryProducer' | 'sessionSweepQueue' | 'gateway'>,
): void {
  const { registry } = services.metrics;
  registerQueueDepthGauge(registry, [
    services.producer.queue,
    services.reindexProducer.queue,
    services.memoryProducer.summarizeQueue,
    services.memoryProducer.recallQueue,
    services.sessionSweepQueue,
  ]);
  registerBreakerStateGauge(registry, () => services.gateway.breakerStates());
}

/** A worker connection per worker process (BullMQ blocks on it). */
export const createWorkerRedis = (config: Readonly<Config>) => createWorkerConnection(config.redis, 'ragmem-worker');
