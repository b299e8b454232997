import { AppError } from '../../src/errors';
import { VectorIndexes } from '../../src/indexes/vector-indexes';
import type { VectorStore } from '../../src/stores/vector/vector-store';
import { registerWorkers, type RunningWorkers } from '../../workers/register-workers';
import { createWorkerRedis } from '../../src/services';
import { ingestJobId } from '../../src/queues/ingest-queue';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { interceptUpserts } from '../support/intercepted-store';
import { generatedText } from '../support/fixtures';
import { waitFor } from '../support/wait-for';

/**
 * Retry policy through the real queue: the API enqueues, a real BullMQ worker runs the real pipeline, and only the
 * vector store is wrapped to fail the way a store that is briefly down fails (or to hold a job at its upserts).
 */
let server: TestServer;
let workers: RunningWorkers | undefined;
let failuresLeft = 0;
const briefOutage = () => new AppError('dependency_unavailable', 'vector store briefly unavailable', undefined, { retryable: true });
let failure: () => Error = briefOutage;

/** When set, the upsert after `passed` more have gone through waits for `until` (after telling `held`). */
let hold: { passed: number; until: Promise<void>; held: () => void } | undefined;

/** Fails the next `failuresLeft` upserts with `failure()`; holds one while `hold` is set. */
const flakyStore = (inner: VectorStore) =>
  interceptUpserts(inner, async () => {
    if (hold && hold.passed-- <= 0) {
      hold.held();
      await hold.until;
    }
    if (failuresLeft > 0) {
      failuresLeft--;
      throw failure();
    }
  });

beforeAll(async () => {
  server = await startTestServer({ RUN_WORKERS: 'off', JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '50', EMBED_BATCH_SIZE: '8' });
  const { services } = server;
  workers = registerWorkers({
    connection: createWorkerRedis(services.config),
    redisPrefix: services.config.redisPrefix,
    ingest: {
      ...services.ingestDeps(),
      indexes: new VectorIndexes({ ...services.indexes.options, defaultStore: flakyStore(services.vectors) }),
    },
    logger: services.logger,
    concurrency: 1,
    lockMs: services.config.workers.lockMs,
  });
});
afterAll(async () => {
  await workers?.close();
  await server?.cleanup();
});

describe('When the vector store fails transiently', () => {
  it('then the job retries with backoff and the document ends ready', async () => {
    failuresLeft = 2;
    const created = await server.request('POST', '/documents', { text: 'Retried until the store came back.' });
    const doc = await waitForDocument(server, created.body.id);
    expect(doc.status).toBe('ready');
    expect(failuresLeft).toBe(0);
    const job = await jobOnceMoved(created.body.id, 'completed');
    // BullMQ counts every attempt made, the successful third one included.
    expect(job?.attemptsMade).toBe(3);
    expect(job?.stacktrace).toHaveLength(2);
    expect(await server.services.vectors.count('default', { documentId: created.body.id })).toBe(1);
  });
});

describe('When the vector store keeps failing', () => {
  it('then the document ends failed, with the store’s error code, after the last attempt', async () => {
    failuresLeft = 100;
    const created = await server.request('POST', '/documents', { text: 'This one never makes it into the store.' });
    const doc = await waitForDocument(server, created.body.id);
    failuresLeft = 0;
    expect(doc).toMatchObject({ status: 'failed', error: { code: 'dependency_unavailable' } });
    const job = await jobOnceMoved(created.body.id, 'failed');
    expect(job?.attemptsMade).toBe(3);
    // The service keeps serving, and earlier documents are intact.
    const again = await server.request('POST', '/documents', { text: 'After the outage, ingestion works again.' });
    expect((await waitForDocument(server, again.body.id)).status).toBe('ready');
  });
});

/** The document's job once BullMQ has moved it: the record changes first, and attemptsMade counts at the move. */
async function jobOnceMoved(documentId: string, state: 'completed' | 'failed') {
  const queue = server.services.producer.queue;
  const id = ingestJobId(documentId, 1);
  return waitFor(`job ${id} to be ${state}`, async () => ((await queue.getJobState(id)) === state ? queue.getJob(id) : undefined));
}

describe('When a job fails with an error that has no code of ours', () => {
  afterEach(() => {
    failuresLeft = 0;
    failure = briefOutage;
  });

  it('then a bug (a TypeError) fails the document at its first attempt instead of retrying it', async () => {
    failuresLeft = 100;
    failure = () => new TypeError("Cannot read properties of undefined (reading 'vector')");
    const created = await server.request('POST', '/documents', { text: 'A bug fails the same way on every try.' });
    const doc = await waitForDocument(server, created.body.id);
    expect(doc).toMatchObject({ status: 'failed', error: { code: 'ingest_failed' } });
    expect(doc.error.message).toContain("reading 'vector'");
    const job = await jobOnceMoved(created.body.id, 'failed');
    expect(job?.attemptsMade).toBe(1);
    expect(failuresLeft).toBe(99);
  });

  it('then a network fault (ECONNRESET) is retried like an outage, and the document ends ready', async () => {
    failuresLeft = 2;
    failure = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const created = await server.request('POST', '/documents', { text: 'The connection was reset, then came back.' });
    expect((await waitForDocument(server, created.body.id)).status).toBe('ready');
    const job = await jobOnceMoved(created.body.id, 'completed');
    expect(job?.attemptsMade).toBe(3);
  });
});

describe('When a document is deleted while its job runs', () => {
  it('then no chunks are left behind once the job ends, and the job does not fail', async () => {
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((held) => (hold = { passed: 1, until, held }));
    try {
      const created = await server.request('POST', '/documents', { text: generatedText(7, 40_000), title: 'Long' });
      const id = created.body.id;
      // Held at its second upsert: its first batch of chunks is stored.
      await reached;
      expect((await server.request('GET', `/documents/${id}`)).body.status).toBe('processing');
      expect(await server.services.vectors.count('default', { documentId: id })).toBeGreaterThan(0);
      expect((await server.request('DELETE', `/documents/${id}`)).status).toBe(204);
      hold = undefined;
      release();
      const job = await server.services.producer.queue.getJob(ingestJobId(id, 1));
      const state = await waitFor('the job to settle', async () => {
        const s = await job?.getState();
        return s === 'completed' || s === 'failed' ? s : undefined;
      });
      expect(state).toBe('completed');
      expect(job && (await server.services.producer.queue.getJob(job.id!))?.returnvalue).toEqual({ outcome: 'skipped', reason: 'deleted' });
      expect(await server.services.vectors.count('default', { documentId: id })).toBe(0);
      const res = await server.request('POST', '/search', { query: 'river mountain ledger quartz', mode: 'keyword', k: 50 });
      expect(res.body.results.filter((r: { documentId: string }) => r.documentId === id)).toEqual([]);
    } finally {
      hold = undefined;
      release();
    }
  });
});
