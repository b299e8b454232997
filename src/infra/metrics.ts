import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

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
