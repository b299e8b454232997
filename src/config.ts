import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { modelSelectionProblem } from './gateway/model-registry';
import { tenantNameProblem } from './tenancy/tenant-name';
import { LOG_LEVELS, type Config, type RedisTarget } from './config-types';

/**
 * The one place that reads the environment. Everything else receives the typed, frozen `Config`
 * (composition root: src/server.ts and workers/index.ts), so tests build the real service from a test config.
 */

/** The package's root folder: this file runs from src/ (tsx, jest) or from dist/src/ (the compiled service). */
const PACKAGE_ROOT = ((up: string) => (path.basename(up) === 'dist' ? path.dirname(up) : up))(path.resolve(__dirname, '..'));

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** Qdrant's CreateCollection takes shard and replica counts as uint32. */
const QDRANT_UINT32_MAX = 2 ** 32 - 1;

/** Qdrant's ReadConsistency: `majority`, `quorum`, `all`, or how many replicas to read (a positive integer). */
const qdrantReadConsistencySchema = z
  .string()
  .trim()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined) return undefined;
    if (raw === 'majority' || raw === 'quorum' || raw === 'all') return raw;
    if (/^[1-9][0-9]*$/.test(raw) && Number(raw) <= Number.MAX_SAFE_INTEGER) return Number(raw);
    ctx.addIssue({ code: 'custom', message: `expected majority, quorum, all or a positive integer, got "${raw}"` });
    return z.NEVER;
  });

const apiKeysSchema = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const map = new Map<string, string>();
    for (const pair of raw.split(',')) {
      const [key, tenant, ...rest] = pair.split('=').map((s) => s.trim());
      if (!key || !tenant || rest.length > 0) {
        ctx.addIssue({ code: 'custom', message: `expected key=tenant pairs separated by commas, got "${pair}"` });
        return z.NEVER;
      }
      const problem = tenantNameProblem(tenant);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      map.set(key, tenant);
    }
    return map;
  });

/** `host:port,host:port,...`: the seed nodes of a Redis Cluster. */
const clusterNodesSchema = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const nodes: Array<{ host: string; port: number }> = [];
    for (const entry of raw.split(',').map((s) => s.trim())) {
      const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(entry);
      const port = match ? Number(match[2]) : 0;
      if (!match || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: `expected host:port pairs separated by commas, got "${entry}"` });
        return z.NEVER;
      }
      nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
    }
    return nodes;
  });

const envSchema = z.object({
  PORT: intFrom(3000).pipe(z.number().max(65535)),
  /** Unset: 127.0.0.1 while no API key exists at all, 0.0.0.0 once one does (decided at startup, see src/server.ts). */
  HOST: z.string().trim().min(1).optional(),
  /** Refuse to start without any API key (API_KEYS or a key in Redis); docker-compose sets it for the API. */
  REQUIRE_AUTH: z.enum(['true', 'false']).default('false'),
  /** The escape hatch: serve without keys on a non-loopback HOST (anyone who reaches the port is tenant "default"). */
  ALLOW_ANONYMOUS: z.enum(['true', 'false']).default('false'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /**
   * Redis Cluster instead of one server: seed nodes `host:port,host:port,...` (the client learns the rest from them).
   * Set, every part (API, workers, queues, limits, caches, sessions, records) connects through the cluster client, and
   * REDIS_URL must be left unset. Credentials and TLS of the nodes: REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS.
   */
  REDIS_CLUSTER_NODES: clusterNodesSchema,
  /** ACL user and password of the cluster's nodes (one server takes them in REDIS_URL: rediss://user:password@host). */
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** `true`: TLS to every cluster node (one server: a rediss:// REDIS_URL). */
  REDIS_TLS: z.enum(['true', 'false']).default('false'),
  /** Prefix for every Redis key and BullMQ queue, so several deployments (or test runs) can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('ragmem'),
  DATA_DIR: z.string().default('./data'),
  QDRANT_URL: z.string().url().optional(),
  QDRANT_API_KEY: z.string().optional(),
  /**
   * A distributed Qdrant's collection layout, sent when ragmem creates a collection (unset: left out, Qdrant's
   * defaults, right for one node). WRITE_CONSISTENCY_FACTOR may not exceed REPLICATION_FACTOR (checked below).
   */
  QDRANT_SHARD_NUMBER: z.coerce.number().int().min(1).max(QDRANT_UINT32_MAX).optional(),
  QDRANT_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(QDRANT_UINT32_MAX).optional(),
  QDRANT_WRITE_CONSISTENCY_FACTOR: z.coerce.number().int().min(1).max(QDRANT_UINT32_MAX).optional(),
  /** `ordering` of upserts and deletes; unset: `medium` on a replicated collection, else none (see qdrant-cluster.ts). */
  QDRANT_WRITE_ORDERING: z.enum(['weak', 'medium', 'strong']).optional(),
  /** `consistency` of queries, counts and scrolls; unset: none sent (Qdrant reads one replica). */
  QDRANT_READ_CONSISTENCY: qdrantReadConsistencySchema,
  MISTRAL_API_KEY: z.string().optional(),
  MISTRAL_SERVER_URL: z.string().url().optional(),
  MODEL_CHAT: z.string().optional(),
  MODEL_SUMMARIZE: z.string().optional(),
  MODEL_EMBED: z.string().optional(),
  /** With a Mistral key, chat and summaries fall back to the offline models last; `off`: 503 model_unavailable instead. */
  MODEL_OFFLINE_FALLBACK: z.enum(['on', 'off']).default('on'),
  API_KEYS: apiKeysSchema,
  /** Opens the operator pages that span every tenant (/admin/queues); tenant keys never do. Long enough to resist guessing. */
  ADMIN_API_KEY: z.string().trim().min(16, 'must be at least 16 characters').regex(/^\S+$/, 'must not contain whitespace').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  // Jobs mostly wait (Redis, disk, store commits, model calls), and concurrent jobs share store commits: SciFact's
  // abstracts through npm start went 0.28 MB/s at 16, 0.68 at 128, 0.66 at 256 (docs/configuration.md).
  WORKER_CONCURRENCY: intFrom(128, 1),
  /** LanceDB's index and metadata caches, per process, shared by every table (LanceDB's own defaults: 6 GB and 1 GB). */
  LANCEDB_INDEX_CACHE_MB: intFrom(256, 1),
  /**
   * Session memory is folded into its keyword index by the writer; the next fold waits this many times the last one's
   * duration (see foldPacing in lancedb-store.ts). 0 folds after every write (the worker then spent 70-80% of a core
   * on it under 32 asking clients).
   */
  SESSION_MEMORY_FOLD_PACING: intFrom(10, 0),
  LANCEDB_METADATA_CACHE_MB: intFrom(64, 1),
  /** Source bytes one worker process works on at once; a larger document runs alone (see ByteBudget). */
  WORKER_MAX_INFLIGHT_BYTES: intFrom(64 * 1024 * 1024, 1),
  /**
   * `processes` (default): the API forks WORKER_PROCESSES worker processes and replaces any that dies, so parsing,
   * chunking and embedding never share the HTTP event loop; `inline`: one process does everything; `off`: run
   * `npm run worker` yourself (scaled deployments).
   */
  RUN_WORKERS: z.enum(['processes', 'inline', 'off']).default('processes'),
  /**
   * CPU priority (nice, 0-19) of worker processes: on a machine the API shares with them, asks and searches get the
   * cores first and ingestion the rest. 0 leaves it alone.
   */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /** Worker processes the API forks with RUN_WORKERS=processes; `auto`: one per core beyond the API's own (at least one). */
  WORKER_PROCESSES: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default('auto'),
  /**
   * A worker process run on its own (`npm run worker`) serves /metrics (and /healthz) on this port, for Prometheus;
   * unset: no listener. Worker processes the API forks never listen: their figures come with the API's /metrics.
   */
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  MAX_UPLOAD_BYTES: intFrom(50 * 1024 * 1024, 1),
  MAX_JSON_BYTES: intFrom(20 * 1024 * 1024, 1024),
  /**
   * Request bodies one process holds in memory at once (uploads are buffered whole): past this, new bodies answer 503
   * `uploads_busy` with Retry-After instead of N concurrent 50 MB uploads exhausting the heap.
   */
  MAX_INFLIGHT_UPLOAD_BYTES: intFrom(256 * 1024 * 1024, 1),
  /** Asks one API process works on at once; past it, 503 `asks_busy` (see ask-admission.ts). */
  MAX_INFLIGHT_ASKS: intFrom(256, 1),
  CHUNK_SIZE_TOKENS: intFrom(512, 16),
  CHUNK_OVERLAP_TOKENS: intFrom(64, 0),
  EMBED_BATCH_SIZE: intFrom(64, 1),
  OFFLINE_EMBED_DIMENSIONS: intFrom(384, 8),
  /** BullMQ lock: how long a worker may go silent before its job counts as stalled and is taken over. */
  JOB_LOCK_MS: intFrom(30_000, 1000),
  JOB_ATTEMPTS: intFrom(5, 1),
  /** Times a job may stall (its worker died or blocked past JOB_LOCK_MS) before it ends failed (`ingest_stalled`). */
  JOB_MAX_STALLS: intFrom(3, 0),
  /** How long a stopping worker waits for its active jobs before it lets go of them (another worker retries them). */
  WORKER_CLOSE_TIMEOUT_MS: intFrom(20_000, 0),
  JOB_BACKOFF_MS: intFrom(2000, 0),
  /**
   * After a reindex switches a collection to its new index, the old one is dropped this much later: a search that read
   * the old route just before the switch still finds its index.
   */
  REINDEX_DROP_GRACE_MS: intFrom(30_000, 0),
  /** Hybrid fusion (Qdrant's weighted RRF); unset: chosen by the embedder (src/search/hybrid-fusion.ts). */
  HYBRID_RRF_K: z.coerce.number().int().min(1).max(1000).optional(),
  HYBRID_DENSE_WEIGHT: z.coerce.number().gt(0).max(100).optional(),
  /** Documents a reindex rebuilds at once (they mostly wait on I/O, and their upserts share store commits). */
  REINDEX_CONCURRENCY: intFrom(16, 1),
  SHUTDOWN_TIMEOUT_MS: intFrom(25_000, 0),
  LOG_PROMPTS: z.enum(['true', 'false']).default('false'),
  MODEL_TIMEOUT_MS: intFrom(60_000, 100),
  MODEL_RETRY_ATTEMPTS: intFrom(3, 1),
  /** How long a caller waits for rate-limit budget before 429 rate_limited. */
  MODEL_QUEUE_WAIT_MS: intFrom(10_000, 0),
  BREAKER_FAILURES: intFrom(5, 1),
  BREAKER_COOLDOWN_MS: intFrom(30_000, 100),
  EMBED_CACHE_TTL_SECONDS: intFrom(7 * 86_400, 1),
  EMBED_CACHE_MAX_ENTRIES: intFrom(100_000, 1),
  CHAT_CACHE: z.enum(['on', 'off']).default('off'),
  /** Sessions idle this long (no new message) expire with their memory; 0 keeps them forever. */
  SESSION_TTL_SECONDS: intFrom(30 * 86_400, 0),
  /** How often expired sessions' recall vectors are looked for and deleted (Redis expires the rest by itself). */
  SESSION_SWEEP_INTERVAL_MS: intFrom(10 * 60_000, 100),
  /** Prompt budget when neither the request nor the session sets maxContextTokens (the model's window still caps it). */
  CONTEXT_MAX_TOKENS: intFrom(8192, 256),
  /** Tokens kept free for the answer, out of the budget. */
  CONTEXT_ANSWER_TOKENS: intFrom(1024, 16),
  /** Shares of what the system prompt and question leave; the recent window takes the rest, and unused shares flow on. */
  CONTEXT_SHARE_RETRIEVED: z.coerce.number().min(0).max(1).default(0.45),
  CONTEXT_SHARE_SUMMARY: z.coerce.number().min(0).max(1).default(0.15),
  CONTEXT_SHARE_RECALLED: z.coerce.number().min(0).max(1).default(0.15),
  /** Recall hits considered per ask. */
  RECALL_K: intFrom(40, 1),
  /** Weight of the dense side against the keyword side in recall's fusion; unset: by embedder (see SessionRecallIndex). */
  RECALL_DENSE_WEIGHT: z.coerce.number().min(0).max(10).optional(),
  /** The summariser leaves this many newest messages alone (the window shows them verbatim). */
  SUMMARY_KEEP_RECENT_MESSAGES: intFrom(24, 0),
  /** ... and runs once this many older messages are not yet in the summary. */
  SUMMARY_TRIGGER_MESSAGES: intFrom(16, 1),
  /** Past this size the summary is condensed. */
  SUMMARY_MAX_TOKENS: intFrom(1024, 64),
  MAX_IMPORT_MESSAGES: intFrom(10_000, 1),
  MAX_QUESTION_CHARS: intFrom(32_768, 16),
  /**
   * Requests per second one API key may make, across every replica (a Redis token bucket), with bursts up to
   * KEY_RATE_LIMIT_BURST; past it 429 `too_many_requests` with Retry-After. 0 turns the limit off.
   */
  KEY_RATE_LIMIT_RPS: z.coerce.number().min(0).max(1_000_000).default(3000),
  KEY_RATE_LIMIT_BURST: intFrom(6000, 1),
  /**
   * Requests one API process works on at once; past it requests wait and tenants take turns (round-robin), so one
   * tenant's flood does not queue in front of another's request. 0 turns it off. Asks and multipart uploads are not
   * counted (they wait on models and clients, not on this process).
   */
  FAIR_MAX_INFLIGHT: intFrom(4, 0),
  /** Requests one tenant may have waiting per process; past it 429 `too_many_requests`. */
  FAIR_MAX_QUEUED_PER_TENANT: intFrom(1024, 1),
  /** The fraction of each model's per-minute budgets one tenant may use (1: no per-tenant share). */
  MODEL_TENANT_SHARE: z.coerce.number().gt(0).max(1).default(0.5),
  /** Override every remote model's requests and tokens per minute (your Mistral workspace's limits); 0 means none. */
  MODEL_RPM: z.coerce.number().int().min(0).optional(),
  MODEL_TPM: z.coerce.number().int().min(0).optional(),
  /** Quotas per tenant (403 `quota_exceeded`); 0 means no quota. Bytes count each document's current source. */
  TENANT_MAX_DOCUMENTS: intFrom(1_000_000, 0),
  TENANT_MAX_BYTES: intFrom(20 * 1024 ** 3, 0),
  /** Reindex jobs one tenant may have queued or running at once (each builds a new physical index). */
  TENANT_MAX_REINDEX_JOBS: intFrom(2, 0),
  /** Bounded parsing (src/ingest/parse-sandbox): PDF and HTML are parsed in child processes killed past these limits. */
  PARSE_TIMEOUT_MS: intFrom(60_000, 100),
  PDF_MAX_PAGES: intFrom(2000, 1),
  /**
   * auto: image-only PDF pages and image uploads are read by OCR when tesseract and pdftoppm are installed (Debian:
   * tesseract-ocr, tesseract-ocr-eng, poppler-utils); off: never (such documents fail with ocr_unavailable).
   */
  OCR: z.enum(['auto', 'off']).default('auto'),
  /** Resident memory and heap of one parse process; an idle one holds about 60 MB, so less would fail every parse. */
  PARSE_MAX_MEMORY_MB: intFrom(512, 128),
  /** Parse processes at most; unset: one per core. */
  PARSE_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /** The built web console served at `/` (`npm run build` writes it); unset: dist/console in the package. */
  CONSOLE_DIR: z.string().trim().min(1).optional(),
});

/** Every variable the service reads (docs/configuration.md documents each: test/unit/config-docs.test.ts). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export type { Config, ModelProvider, RedisTarget, VectorBackend } from './config-types';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // An empty variable means unset (compose files pass `${VAR:-}` through as "").
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  if (e.CHUNK_OVERLAP_TOKENS >= e.CHUNK_SIZE_TOKENS) {
    throw new ConfigError('Invalid configuration: CHUNK_OVERLAP_TOKENS must be smaller than CHUNK_SIZE_TOKENS');
  }
  if (e.CONTEXT_SHARE_RETRIEVED + e.CONTEXT_SHARE_SUMMARY + e.CONTEXT_SHARE_RECALLED > 1) {
    throw new ConfigError(
      'Invalid configuration: CONTEXT_SHARE_RETRIEVED + CONTEXT_SHARE_SUMMARY + CONTEXT_SHARE_RECALLED must not exceed 1',
    );
  }
  // Every MODEL_* against the model registry and the keys present: one line naming the one variable that is wrong.
  const modelProblem = modelSelectionProblem({
    mistral: Boolean(e.MISTRAL_API_KEY),
    chat: e.MODEL_CHAT,
    summarize: e.MODEL_SUMMARIZE,
    embed: e.MODEL_EMBED,
  });
  if (modelProblem !== undefined) throw new ConfigError(`Invalid configuration: ${modelProblem}`);
  if ((e.QDRANT_WRITE_CONSISTENCY_FACTOR ?? 1) > (e.QDRANT_REPLICATION_FACTOR ?? 1)) {
    // A write needs that many replicas to acknowledge it: more than exist, and every write fails.
    throw new ConfigError(
      `Invalid configuration: QDRANT_WRITE_CONSISTENCY_FACTOR (${e.QDRANT_WRITE_CONSISTENCY_FACTOR}) must not exceed ` +
        `QDRANT_REPLICATION_FACTOR (${e.QDRANT_REPLICATION_FACTOR ?? 'unset: 1'})`,
    );
  }
  if (e.ADMIN_API_KEY && e.API_KEYS?.has(e.ADMIN_API_KEY)) {
    // Else that tenant's key would open every tenant's jobs.
    throw new ConfigError('Invalid configuration: ADMIN_API_KEY must differ from every key in API_KEYS');
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const redis = redisTargetOf(e, present);
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    requireAuth: e.REQUIRE_AUTH === 'true',
    allowAnonymous: e.ALLOW_ANONYMOUS === 'true',
    redis,
    redisPrefix: e.REDIS_PREFIX,
    dataDir,
    vector: e.QDRANT_URL
      ? {
          backend: 'qdrant',
          url: e.QDRANT_URL,
          apiKey: e.QDRANT_API_KEY,
          shardNumber: e.QDRANT_SHARD_NUMBER,
          replicationFactor: e.QDRANT_REPLICATION_FACTOR,
          writeConsistencyFactor: e.QDRANT_WRITE_CONSISTENCY_FACTOR,
          writeOrdering: e.QDRANT_WRITE_ORDERING,
          readConsistency: e.QDRANT_READ_CONSISTENCY,
        }
      : {
          backend: 'lancedb',
          dir: path.join(dataDir, 'lancedb'),
          cache: { indexCacheBytes: e.LANCEDB_INDEX_CACHE_MB * 1024 * 1024, metadataCacheBytes: e.LANCEDB_METADATA_CACHE_MB * 1024 * 1024 },
          sessionMemoryFoldPacing: e.SESSION_MEMORY_FOLD_PACING,
        },
    models: {
      provider: e.MISTRAL_API_KEY ? 'mistral' : 'offline',
      mistral: e.MISTRAL_API_KEY ? { apiKey: e.MISTRAL_API_KEY, serverUrl: e.MISTRAL_SERVER_URL } : undefined,
      chat: e.MODEL_CHAT,
      summarize: e.MODEL_SUMMARIZE,
      embed: e.MODEL_EMBED,
      offlineFallback: e.MODEL_OFFLINE_FALLBACK === 'on',
      offlineEmbedDimensions: e.OFFLINE_EMBED_DIMENSIONS,
      logPrompts: e.LOG_PROMPTS === 'true',
      timeoutMs: e.MODEL_TIMEOUT_MS,
      retryAttempts: e.MODEL_RETRY_ATTEMPTS,
      queueWaitMs: e.MODEL_QUEUE_WAIT_MS,
      breaker: { failures: e.BREAKER_FAILURES, coolDownMs: e.BREAKER_COOLDOWN_MS },
      embedCache: { ttlMs: e.EMBED_CACHE_TTL_SECONDS * 1000, maxEntries: e.EMBED_CACHE_MAX_ENTRIES },
      chatCache: e.CHAT_CACHE === 'on',
      tenantShare: e.MODEL_TENANT_SHARE,
      rateOverride: { requestsPerMinute: e.MODEL_RPM, tokensPerMinute: e.MODEL_TPM },
    },
    keyRateLimit: { perSecond: e.KEY_RATE_LIMIT_RPS, burst: e.KEY_RATE_LIMIT_BURST },
    fairness: { maxInflight: e.FAIR_MAX_INFLIGHT, maxQueuedPerTenant: e.FAIR_MAX_QUEUED_PER_TENANT },
    quotas: { documents: e.TENANT_MAX_DOCUMENTS, bytes: e.TENANT_MAX_BYTES, reindexJobs: e.TENANT_MAX_REINDEX_JOBS },
    apiKeys: e.API_KEYS,
    adminApiKey: e.ADMIN_API_KEY,
    logLevel: e.LOG_LEVEL,
    workers: {
      mode: e.RUN_WORKERS,
      processes: e.WORKER_PROCESSES === 'auto' ? Math.max(1, os.availableParallelism() - 1) : e.WORKER_PROCESSES,
      env: present as Record<string, string>,
      concurrency: e.WORKER_CONCURRENCY,
      nice: e.WORKER_NICE,
      maxInflightBytes: e.WORKER_MAX_INFLIGHT_BYTES,
      lockMs: e.JOB_LOCK_MS,
      attempts: e.JOB_ATTEMPTS,
      backoffMs: e.JOB_BACKOFF_MS,
      maxStalls: e.JOB_MAX_STALLS,
      closeTimeoutMs: e.WORKER_CLOSE_TIMEOUT_MS,
      metricsPort: e.WORKER_METRICS_PORT,
    },
    limits: {
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxJsonBytes: e.MAX_JSON_BYTES,
      maxBulkDocuments: 1000,
      maxInflightUploadBytes: e.MAX_INFLIGHT_UPLOAD_BYTES,
      maxInflightAsks: e.MAX_INFLIGHT_ASKS,
    },
    chunking: { chunkSize: e.CHUNK_SIZE_TOKENS, chunkOverlap: e.CHUNK_OVERLAP_TOKENS },
    embedBatchSize: e.EMBED_BATCH_SIZE,
    reindex: { dropGraceMs: e.REINDEX_DROP_GRACE_MS, concurrency: e.REINDEX_CONCURRENCY },
    search: { fusion: { k: e.HYBRID_RRF_K, denseWeight: e.HYBRID_DENSE_WEIGHT } },
    parse: {
      timeoutMs: e.PARSE_TIMEOUT_MS,
      maxPdfPages: e.PDF_MAX_PAGES,
      ocr: e.OCR === 'auto',
      maxMemoryMb: e.PARSE_MAX_MEMORY_MB,
      concurrency: e.PARSE_CONCURRENCY ?? os.availableParallelism(),
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    consoleDir: e.CONSOLE_DIR ? path.resolve(e.CONSOLE_DIR) : path.join(PACKAGE_ROOT, 'dist', 'console'),
    sessions: {
      ttlSeconds: e.SESSION_TTL_SECONDS,
      sweepIntervalMs: e.SESSION_SWEEP_INTERVAL_MS,
      maxImportMessages: e.MAX_IMPORT_MESSAGES,
      maxQuestionChars: e.MAX_QUESTION_CHARS,
      context: {
        maxTokens: e.CONTEXT_MAX_TOKENS,
        answerTokens: e.CONTEXT_ANSWER_TOKENS,
        shares: { retrieved: e.CONTEXT_SHARE_RETRIEVED, summary: e.CONTEXT_SHARE_SUMMARY, recalled: e.CONTEXT_SHARE_RECALLED },
        recallK: e.RECALL_K,
        recallDenseWeight: e.RECALL_DENSE_WEIGHT,
      },
      summary: {
        keepRecentMessages: e.SUMMARY_KEEP_RECENT_MESSAGES,
        triggerMessages: e.SUMMARY_TRIGGER_MESSAGES,
        maxTokens: e.SUMMARY_MAX_TOKENS,
      },
    },
  };
  return Object.freeze(config);
}

/**
 * One server or a cluster, never both: a REDIS_URL next to REDIS_CLUSTER_NODES would be ignored, which hides a
 * mistake. The cluster's credentials and TLS have variables of their own (there is no single URL to hold them); one
 * server keeps them in REDIS_URL, so those variables alone are refused rather than silently unused.
 */
function redisTargetOf(e: z.infer<typeof envSchema>, present: Record<string, string | undefined>): RedisTarget {
  const clusterOnly = (['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS'] as const).filter((name) => present[name] !== undefined);
  if (!e.REDIS_CLUSTER_NODES) {
    if (clusterOnly.length > 0) {
      throw new ConfigError(
        `Invalid configuration: ${clusterOnly.join(', ')} apply to REDIS_CLUSTER_NODES; one Redis server takes them in REDIS_URL (rediss://user:password@host:port)`,
      );
    }
    return { mode: 'single', url: e.REDIS_URL };
  }
  if (present.REDIS_URL !== undefined) {
    throw new ConfigError('Invalid configuration: set REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  }
  return {
    mode: 'cluster',
    nodes: e.REDIS_CLUSTER_NODES,
    username: e.REDIS_USERNAME,
    password: e.REDIS_PASSWORD,
    tls: e.REDIS_TLS === 'true',
  };
}
