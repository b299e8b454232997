/** The typed settings `loadConfig` (src/config.ts) answers: what every part of the service receives. */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where Redis is: one server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisTarget =
  | { mode: 'single'; url: string }
  | {
      mode: 'cluster';
      nodes: ReadonlyArray<{ host: string; port: number }>;
      username?: string;
      password?: string;
      tls: boolean;
    };

export type VectorBackend = 'lancedb' | 'qdrant';
export type ModelProvider = 'mistral' | 'offline';

export interface Config {
  port: number;
  /** undefined: chosen at startup by whether any key exists (loopback only when none does). */
  host?: string;
  /** Startup refuses when no key exists at all. */
  requireAuth: boolean;
  /** Startup allows a non-loopback HOST with no keys (auth off for everyone who can reach it). */
  allowAnonymous: boolean;
  /** One Redis server or a Redis Cluster: src/infra/redis.ts connects to either. */
  redis: RedisTarget;
  redisPrefix: string;
  dataDir: string;
  vector:
    | { backend: 'lancedb'; dir: string; cache: { indexCacheBytes: number; metadataCacheBytes: number }; sessionMemoryFoldPacing: number }
    | {
        backend: 'qdrant';
        url: string;
        apiKey?: string;
        /** Collection layout on a distributed Qdrant, sent at creation; undefined: Qdrant's default. */
        shardNumber?: number;
        replicationFactor?: number;
        writeConsistencyFactor?: number;
        /** undefined: follows the collection's replication (medium when replicated). */
        writeOrdering?: 'weak' | 'medium' | 'strong';
        /** undefined: none sent. */
        readConsistency?: 'majority' | 'quorum' | 'all' | number;
      };
  models: {
    provider: ModelProvider;
    mistral?: { apiKey: string; serverUrl?: string };
    chat?: string;
    summarize?: string;
    embed?: string;
    /** With Mistral: whether the offline models end the chat and summarize routes. */
    offlineFallback: boolean;
    offlineEmbedDimensions: number;
    logPrompts: boolean;
    timeoutMs: number;
    retryAttempts: number;
    queueWaitMs: number;
    breaker: { failures: number; coolDownMs: number };
    embedCache: { ttlMs: number; maxEntries: number };
    chatCache: boolean;
    /** Each tenant's share of every model's rate budgets. */
    tenantShare: number;
    /** Overrides of the registry's per-minute budgets of remote models. */
    rateOverride: { requestsPerMinute?: number; tokensPerMinute?: number };
  };
  /** Requests per second per API key (0: off) and the burst allowed above it. */
  keyRateLimit: { perSecond: number; burst: number };
  /** Turns between tenants per API process (see FairScheduler). */
  fairness: { maxInflight: number; maxQueuedPerTenant: number };
  /** Per-tenant quotas; 0 means none. */
  quotas: { documents: number; bytes: number; reindexJobs: number };
  /** undefined: auth off, every request is tenant `default`. */
  apiKeys?: ReadonlyMap<string, string>;
  /** Required by /admin/queues; unset: the dashboard is open when auth is off, and absent (404) when it is on. */
  adminApiKey?: string;
  logLevel: LogLevel;
  workers: {
    mode: 'processes' | 'inline' | 'off';
    /** How many worker processes RUN_WORKERS=processes forks. */
    processes: number;
    /** The variables this config was read from: forked worker processes read exactly the same. */
    env: Readonly<Record<string, string>>;
    concurrency: number;
    /** CPU priority (nice) a worker process gives itself. */
    nice: number;
    maxInflightBytes: number;
    lockMs: number;
    attempts: number;
    backoffMs: number;
    maxStalls: number;
    closeTimeoutMs: number;
    /** Where a worker run on its own serves /metrics; undefined: nowhere (see WORKER_METRICS_PORT). */
    metricsPort?: number;
  };
  limits: {
    maxUploadBytes: number;
    maxJsonBytes: number;
    maxBulkDocuments: number;
    maxInflightUploadBytes: number;
    maxInflightAsks: number;
  };
  chunking: { chunkSize: number; chunkOverlap: number };
  embedBatchSize: number;
  reindex: { dropGraceMs: number; concurrency: number };
  /** Overrides of the hybrid fusion; unset fields follow the embedder. */
  search: { fusion: { k?: number; denseWeight?: number } };
  /** Limits of the parse sandbox (src/ingest/parse-sandbox/parse-limits.ts). */
  parse: { timeoutMs: number; maxPdfPages: number; maxMemoryMb: number; concurrency: number; ocr: boolean };
  shutdownTimeoutMs: number;
  /** The built web console's folder (index.html, app.js, styles.css), served at `/`; absent: `/` answers console_not_built. */
  consoleDir: string;
  sessions: {
    ttlSeconds: number;
    sweepIntervalMs: number;
    maxImportMessages: number;
    maxQuestionChars: number;
    context: {
      maxTokens: number;
      answerTokens: number;
      shares: { retrieved: number; summary: number; recalled: number };
      recallK: number;
      recallDenseWeight?: number;
    };
    summary: { keepRecentMessages: number; triggerMessages: number; maxTokens: number };
  };
}
