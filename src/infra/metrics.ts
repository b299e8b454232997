import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's caches: embeddings, chat answers, and summaries (chat calls of the summarize purpose). */
export const CACHE_NAMES = ['embedding', 'chat', 'summary'] as const;

/** Prometheus metrics, one registry per process (passed in, so tests get their own). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'ragmem_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    askStage: new Histogram({
      name: 'ragmem_ask_stage_seconds',
      help: 'Time of each stage of POST /sessions/:id/ask, waiting included (session, history, retrieve, recall, build, model, store)',
      labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    asksTotal: new Counter({
      name: 'ragmem_asks_total',
      help: 'Asks by mode (json, stream) and outcome (answered, or the error code it ended with), counted when the ask has ended',
      labelNames: ['mode', 'outcome'],
      registers: [registry],
    }),
    jobsTotal: new Counter({
      name: 'ragmem_jobs_total',
      help: 'Background job attempts by queue and outcome',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    }),
    modelCalls: new Counter({
      name: 'ragmem_model_calls_total',
      help: 'Model calls by model, purpose and outcome (ok or an error code)',
      labelNames: ['model', 'purpose', 'outcome'],
      registers: [registry],
    }),
    modelTokens: new Counter({
      name: 'ragmem_model_tokens_total',
      help: 'Model tokens by model, purpose and kind (prompt, completion)',
      labelNames: ['model', 'purpose', 'kind'],
      registers: [registry],
    }),
    modelCostUsd: new Counter({
      name: 'ragmem_model_cost_usd_total',
      help: 'Model cost in USD by model and purpose',
      labelNames: ['model', 'purpose'],
      registers: [registry],
    }),
    documentsTotal: new Counter({
      name: 'ragmem_documents_received_total',
      help: 'Documents received by outcome (queued, duplicate)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'ragmem_job_duration_seconds',
      help: 'Time a worker spent on one job attempt, by queue and outcome (completed, failed)',
      labelNames: ['queue', 'outcome'],
      // An ingest job of a small text takes milliseconds; a reindex of a large collection, many minutes.
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800],
      registers: [registry],
    }),
    jobWait: new Histogram({
      name: 'ragmem_job_wait_seconds',
      help: 'Time from a job being queued to its first attempt starting, by queue (retries wait out their backoff and are not counted)',
      labelNames: ['queue'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: [registry],
    }),
    cacheLookups: zeroed(
      new Counter({
        name: 'ragmem_cache_lookups_total',
        help: 'Lookups in the gateway caches by cache (embedding: one per text; chat, summary: temperature-0 calls with CHAT_CACHE=on) and result (hit, miss)',
        labelNames: ['cache', 'result'],
        registers: [registry],
      }),
      CACHE_NAMES.flatMap((cache) => [
        { cache, result: 'hit' },
        { cache, result: 'miss' },
      ]),
    ),
    lancedbFolds: new Histogram({
      name: 'ragmem_lancedb_fold_seconds',
      help: 'LanceDB folds (compaction and index update after writes), by index; a fold runs alongside searches and slows them',
      labelNames: ['index'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    rateLimitWaits: new Counter({
      name: 'ragmem_rate_limit_waits_total',
      help: 'Model calls that had to wait for rate-limit budget, by limiter (model), model, purpose and outcome (acquired, refused: rate_limited)',
      labelNames: ['limiter', 'model', 'purpose', 'outcome'],
      registers: [registry],
    }),
    rateLimitWaitSeconds: new Counter({
      name: 'ragmem_rate_limit_wait_seconds_total',
      help: 'Seconds model calls spent waiting for rate-limit budget, by limiter (model), model and purpose',
      labelNames: ['limiter', 'model', 'purpose'],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Series that exist from the start at 0, so a ratio over them has both sides before the first event. */
function zeroed<T extends string>(counter: Counter<T>, series: Array<Partial<Record<T, string>>>): Counter<T> {
  for (const labels of series) counter.inc(labels, 0);
  return counter;
}

/** The vector indexes (tables, collections) a process holds open, read when Prometheus scrapes. */
export function registerOpenIndexesGauge(registry: Registry, openIndexes: () => number): void {
  new Gauge({
    name: 'ragmem_vector_indexes_open',
    help: 'Physical vector indexes (tables, collections) this process holds open',
    registers: [registry],
    collect() {
      this.set(openIndexes());
    },
  });
}

/** Every state a BullMQ 6 job can be in; counting one is a single LLEN or ZCARD. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'failed', 'completed'] as const;

interface CountedQueue {
  name: string;
  getJobCounts(...states: Array<(typeof QUEUE_STATES)[number]>): Promise<Record<string, number>>;
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/**
 * Jobs per queue and state, read from Redis when Prometheus scrapes: one pipelined count per queue (O(1) per state), so
 * a scrape costs as many round trips as there are queues, whatever their length. A queue whose counts do not come back
 * in time has no series in that scrape (a gap, rather than figures that look current and are not).
 */
export function registerQueueDepthGauge(registry: Registry, queues: readonly CountedQueue[], timeoutMs = 2000): void {
  new Gauge({
    name: 'ragmem_queue_depth',
    help: 'Jobs in each queue by state (waiting, prioritized, active, delayed, waiting-children, failed, completed), read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const counts = await Promise.all(queues.map((q) => within(q.getJobCounts(...QUEUE_STATES), timeoutMs).catch(() => undefined)));
      this.reset();
      queues.forEach((queue, i) => {
        for (const state of QUEUE_STATES) if (counts[i]) this.set({ queue: queue.name, state }, counts[i][state] ?? 0);
      });
    },
  });
}

/** A model's circuit breaker as Prometheus sees it: 0 closed, 1 half-open (a trial is due or running), 2 open. */
export const BREAKER_STATE_VALUES = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * Each model's breaker state, read from Redis (where every process shares it) when Prometheus scrapes: one HMGET per
 * model of the registry. A failed read leaves the gauge without series for that scrape.
 */
export function registerBreakerStateGauge(
  registry: Registry,
  read: () => Promise<Array<{ model: string; provider: string; state: keyof typeof BREAKER_STATE_VALUES }>>,
  timeoutMs = 2000,
): void {
  new Gauge({
    name: 'ragmem_model_breaker_state',
    help: 'Circuit breaker of each model: 0 closed, 1 half-open, 2 open (shared by every process through Redis)',
    labelNames: ['model', 'provider'],
    registers: [registry],
    async collect() {
      const states = await within(read(), timeoutMs).catch(() => []);
      this.reset();
      for (const { model, provider, state } of states) this.set({ model, provider }, BREAKER_STATE_VALUES[state]);
    },
  });
}

/** A registry's metrics as `getMetricsAsJSON()` answers them (what a forked worker process sends its parent). */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Other processes' metrics, served with this one's: each set's series get `labels` added (e.g. `{ worker: '0' }`). */
export type MetricsFeed = () => Promise<Array<{ labels: Record<string, string>; metrics: MetricsJson }>>;

/**
 * The Prometheus text of this process's registry, together with what the feeds bring. The feeds' series carry their
 * own labels, so AggregatorRegistry.aggregate (prom-client's merge of registries' JSON) puts every metric family once
 * and keeps each process's series apart: nothing is summed across processes (see worker-processes.ts for why).
 */
export async function renderMetrics(registry: Registry, feeds: readonly MetricsFeed[] = []): Promise<string> {
  if (feeds.length === 0) return registry.metrics();
  const [own, ...fed] = await Promise.all([registry.getMetricsAsJSON(), ...feeds.map((feed) => feed())]);
  const others = fed
    .flat()
    .map(({ labels, metrics }) =>
      metrics.map((metric) => ({ ...metric, values: metric.values.map((v) => ({ ...v, labels: { ...v.labels, ...labels } })) })),
    );
  return AggregatorRegistry.aggregate([own, ...others] as MetricsJson[]).metrics();
}
