import type { RedisClient } from '../infra/redis';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Embedder } from '../gateway/embedder';
import type { UsageMeter } from '../gateway/safety/usage-meter';
import type { Metrics, MetricsFeed } from '../infra/metrics';
import type { RequestScope } from '../infra/request-scope';
import type { IngestProducer } from '../queues/ingest-queue';
import type { DocumentStore } from '../stores/document/document-store';
import type { SourceStore } from '../stores/document/source-store';
import type { VectorStore } from '../stores/vector/vector-store';
import type { ReindexStartDeps } from '../reindex/start-reindex';
import type { AdminQueuesDeps } from './routes/admin-queues';
import type { SessionDeps } from '../sessions/session-deps';
import type { Authenticator } from '../tenancy/authenticator';
import type { FairScheduler } from '../tenancy/fair-scheduler';
import type { RequestLimiter } from '../tenancy/request-limiter';

/** Everything the HTTP layer needs, built by the composition root (src/services.ts) and passed in. */
export interface AppDeps extends SessionDeps, ReindexStartDeps, AdminQueuesDeps {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  /** Other processes' metrics served with this one's at /metrics: the worker processes this API forked. */
  metricsFeeds?: readonly MetricsFeed[];
  /** Entered for every request, so the jobs it queues carry its id. */
  requestScope?: RequestScope;
  redis: RedisClient;
  documents: DocumentStore;
  sources: SourceStore;
  vectors: VectorStore;
  embedder: Embedder;
  usage: UsageMeter;
  producer: IngestProducer;
  /** API_KEYS and the keys in Redis: who a request is, and whether auth is on. */
  authenticator: Authenticator;
  /** Requests per second per key, shared through Redis. */
  requestLimiter: RequestLimiter;
  /** Turns between tenants at this process's work. */
  fairScheduler: FairScheduler;
}
