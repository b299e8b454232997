import { randomBytes } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { createGateway } from '../../src/gateway/create-gateway';
import { CircuitBreaker } from '../../src/gateway/safety';
import { QUEUE_STATES, createMetrics } from '../../src/infra/metrics';
import { ingestJobId } from '../../src/queues/ingest-queue';
import { QueueNames, queuePrefix } from '../../src/queues/queue-names';
import { generatedText } from '../support/fixtures';
import { DOUBLE_API_KEY } from '../support/mistral-double';
import { startServiceOnMistral, type ServiceOnMistral } from '../support/mistral-service';
import { samplesOf, sumOf } from '../support/prometheus-text';
import { waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/**
 * What an operator sees of one service (API and workers in one process, RUN_WORKERS=inline) on Mistral's wire format:
 * /metrics after an upload, asks and a reindex, and the request id carried from each HTTP request into the jobs it
 * queued. The worker processes' own exports are in worker-metrics.test.ts.
 */
let svc: ServiceOnMistral;
let server: TestServer;
let events: QueueEvents;
let eventsConnection: Redis;
/** Progress values each ingest job reported, in the order the queue's event stream delivered them. */
const progressOf = new Map<string, number[]>();

beforeAll(async () => {
  svc = await startServiceOnMistral(
    { CHAT_CACHE: 'on', CHUNK_SIZE_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '8', EMBED_BATCH_SIZE: '2', REINDEX_DROP_GRACE_MS: '100' },
    // Each embedding call takes a known while, so a document of some 40 batches takes long enough to report progress
    // between its start and its end (updates are throttled to one per 250 ms).
    { dimensions: 1024, embedDelayMs: 30 },
  );
  server = svc.server;
  eventsConnection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  events = new QueueEvents(QueueNames.ingest, { connection: eventsConnection, prefix: queuePrefix(server.services.config.redisPrefix) });
  events.on('progress', ({ jobId, data }) => progressOf.set(jobId, [...(progressOf.get(jobId) ?? []), Number(data)]));
  await events.waitUntilReady();
});
afterAll(async () => {
  await events?.close();
  eventsConnection?.disconnect();
  await svc?.stop();
});

const scrape = async () => {
  const res = await server.request('GET', '/metrics');
  expect(res.status).toBe(200);
  return res.body as string;
};
const newId = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

describe('When a document is uploaded with an x-request-id', () => {
  it('then its ingest job carries that id, reports its progress step by step up to 100, and /metrics holds the job’s duration and the queue depths', async () => {
    const requestId = newId('upload');
    const posted = await server.request(
      'POST',
      '/documents',
      { title: 'Reefs', text: generatedText(7, 1200) },
      { 'x-request-id': requestId },
    );
    expect(posted.status).toBe(202);
    expect(posted.headers.get('x-request-id')).toBe(requestId);
    const doc = await waitForDocument(server, posted.body.id);
    expect(doc.status).toBe('ready');

    const id = ingestJobId(doc.id, doc.version);
    const job = await waitFor('the ingest job to complete', async () => {
      const found = await server.services.producer.queue.getJob(id);
      return found && (await found.isCompleted()) ? found : undefined;
    });
    expect(job.data.requestId).toBe(requestId);
    expect(job.progress).toBe(100);
    // The dashboard saw it move: parsed, chunked, batches embedded, then 100, never backwards.
    const seen = await waitFor('the progress events up to 100', () =>
      progressOf.get(id)?.at(-1) === 100 ? progressOf.get(id) : undefined,
    );
    expect(seen.some((p) => p > 0 && p < 100)).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);

    const text = await waitFor('the ingest attempt in /metrics', async () => {
      const t = await scrape();
      return sumOf(t, 'ragmem_job_duration_seconds_count', { queue: 'ingest', outcome: 'completed' }) >= 1 ? t : undefined;
    });
    expect(samplesOf(text, 'ragmem_job_duration_seconds_bucket', { queue: 'ingest', outcome: 'completed' }).length).toBeGreaterThan(5);
    expect(sumOf(text, 'ragmem_job_duration_seconds_sum', { queue: 'ingest', outcome: 'completed' })).toBeGreaterThan(0);
    expect(sumOf(text, 'ragmem_job_wait_seconds_count', { queue: 'ingest' })).toBeGreaterThanOrEqual(1);
    // Every queue and state is read from Redis at scrape time; the finished job is counted as completed.
    for (const queue of Object.values(QueueNames)) {
      expect(samplesOf(text, 'ragmem_queue_depth', { queue }).map((s) => s.labels.state)).toEqual([...QUEUE_STATES]);
    }
    expect(sumOf(text, 'ragmem_queue_depth', { queue: 'ingest', state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(text, 'ragmem_queue_depth', { queue: 'ingest', state: 'active' })).toBe(0);

    // The new chunks are folded into the document index's keyword index (once writes pause, or before the next
    // search of so small a table): a fold an operator can see, with its duration.
    await server.request('POST', '/search', { query: 'reefs' });
    const folded = await waitFor('a fold of the document index in /metrics', async () => {
      const t = await scrape();
      return sumOf(t, 'ragmem_lancedb_fold_seconds_count', { index: 'chunks' }) >= 1 ? t : undefined;
    });
    expect(sumOf(folded, 'ragmem_lancedb_fold_seconds_sum', { index: 'chunks' })).toBeGreaterThan(0);
  });
});

describe('When a question is asked twice in a session', () => {
  it('then the session-memory job carries the ask’s request id, and the embedding cache counts a miss, then hits', async () => {
    const sessionId = newId('s');
    expect((await server.request('POST', '/sessions', { id: sessionId })).status).toBe(201);
    const question = `Which survey found ${newId('reef')} near the station?`;
    const before = await scrape();

    const askId = newId('ask');
    const first = await server.request('POST', `/sessions/${sessionId}/ask`, { question }, { 'x-request-id': askId });
    expect(first.status).toBe(200);
    const recall = await waitFor('the recall-index job of the first ask', async () => {
      const jobs = await server.services.memoryProducer.recallQueue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed']);
      return jobs.find((j) => j.data.sessionId === sessionId);
    });
    expect(recall.data.requestId).toBe(askId);
    const afterFirst = await scrape();
    expect(sumOf(afterFirst, 'ragmem_cache_lookups_total', { cache: 'embedding', result: 'miss' })).toBeGreaterThan(
      sumOf(before, 'ragmem_cache_lookups_total', { cache: 'embedding', result: 'miss' }),
    );

    // The same question again: its embedding comes from the cache.
    expect((await server.request('POST', `/sessions/${sessionId}/ask`, { question })).status).toBe(200);
    const afterSecond = await scrape();
    expect(sumOf(afterSecond, 'ragmem_cache_lookups_total', { cache: 'embedding', result: 'hit' })).toBeGreaterThan(
      sumOf(afterFirst, 'ragmem_cache_lookups_total', { cache: 'embedding', result: 'hit' }),
    );
    // Chat and summary lookups have series from the start (0), so a hit ratio has both sides.
    for (const cache of ['chat', 'summary']) expect(samplesOf(afterSecond, 'ragmem_cache_lookups_total', { cache })).toHaveLength(2);
    expect(sumOf(afterSecond, 'ragmem_asks_total', { mode: 'json', outcome: 'answered' })).toBeGreaterThanOrEqual(2);
  });
});

describe('When a model’s breaker opens (in any process: the state lives in Redis)', () => {
  it('then /metrics shows it open (2) and every other served model closed (0)', async () => {
    const text = await scrape();
    const states = samplesOf(text, 'ragmem_model_breaker_state');
    expect(states).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { model: 'mistral-embed', provider: 'mistral' }, value: 0 }),
        expect.objectContaining({ labels: { model: 'offline-extractive', provider: 'offline' }, value: 0 }),
      ]),
    );
    const breaker = new CircuitBreaker(server.services.redis, `${server.services.config.redisPrefix}:gw`, { failureThreshold: 1 });
    await breaker.recordFailure('mistral-large-latest');
    const after = await scrape();
    expect(samplesOf(after, 'ragmem_model_breaker_state', { model: 'mistral-large-latest' })).toEqual([
      expect.objectContaining({ labels: { model: 'mistral-large-latest', provider: 'mistral' }, value: 2 }),
    ]);
    await breaker.recordSuccess('mistral-large-latest');
  });
});

describe('When a model’s rate limit refuses a call', () => {
  it('then the wait is counted per limiter, model, purpose and outcome', async () => {
    // The gateway as the service builds it, with a budget of one request a minute and a short wait.
    const config = loadConfig({
      REDIS_PREFIX: newId('rl'),
      MISTRAL_API_KEY: DOUBLE_API_KEY,
      MISTRAL_SERVER_URL: svc.upstream.url,
      MODEL_RPM: '1',
      MODEL_QUEUE_WAIT_MS: '50',
    });
    const metrics = createMetrics();
    const { gateway } = createGateway(config, server.services.redis, server.services.tokenCounter, pino({ level: 'silent' }), metrics);
    await gateway.embed('acme', ['the first call takes the minute’s only request']);
    await expect(gateway.embed('acme', ['the second one finds none left'])).rejects.toMatchObject({ code: 'rate_limited' });
    const text = await metrics.registry.metrics();
    expect(
      sumOf(text, 'ragmem_rate_limit_waits_total', { limiter: 'model', model: 'mistral-embed', purpose: 'embed', outcome: 'refused' }),
    ).toBe(1);
    expect(
      samplesOf(text, 'ragmem_rate_limit_wait_seconds_total', { limiter: 'model', model: 'mistral-embed', purpose: 'embed' }),
    ).toHaveLength(1);
  });
});

describe('When a collection is reindexed with an x-request-id', () => {
  it('then the reindex job carries that id and its progress ends at 100', async () => {
    const requestId = newId('reindex');
    const started = await server.request('POST', '/reindex', {}, { 'x-request-id': requestId });
    expect(started.status).toBe(202);
    const job = await waitFor('the reindex job to complete', async () => {
      const found = await server.services.reindexProducer.queue.getJob(started.body.jobId);
      return found && (await found.isCompleted()) ? found : undefined;
    });
    expect(job.data.requestId).toBe(requestId);
    expect(job.progress).toBe(100);
    const text = await scrape();
    expect(sumOf(text, 'ragmem_job_duration_seconds_count', { queue: 'reindex', outcome: 'completed' })).toBe(1);
  });
});
