import { registerWorkers, type RunningWorkers } from '../../workers/register-workers';
import { createWorkerRedis } from '../../src/services';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/**
 * A reindex that meets a bug (an error without a code of ours that no retry can fix) fails at once with
 * `reindex_failed`, and the collection keeps serving its old index. The real queue and workers; only the rebuild's
 * parser is replaced by one with a bug.
 */
let server: TestServer;
let workers: RunningWorkers | undefined;

beforeAll(async () => {
  server = await startTestServer({ RUN_WORKERS: 'off', JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '50' });
  const { services } = server;
  workers = registerWorkers({
    connection: createWorkerRedis(services.config),
    redisPrefix: services.config.redisPrefix,
    ingest: services.ingestDeps(),
    reindex: {
      ...services.reindexDeps(),
      parse: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'pages')");
      },
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

describe('When a reindex fails on a bug', () => {
  it('then it ends failed with reindex_failed after one attempt, and search still serves the old index', async () => {
    const created = await server.request('POST', '/documents', { text: 'Lighthouse keepers logged every passing ship.' });
    await waitForDocument(server, created.body.id);
    const started = await server.request('POST', '/reindex', { collection: 'default', chunking: { chunkSize: 256, chunkOverlap: 32 } });
    expect(started.status).toBe(202);
    const jobId = started.body.jobId as string;
    const ended = await waitFor('the reindex to end', async () => {
      const res = await server.request('GET', `/reindex/${jobId}`);
      return ['completed', 'failed', 'cancelled'].includes(res.body.status) ? res.body : undefined;
    });
    expect(ended.status).toBe('failed');
    expect(ended.error.code).toBe('reindex_failed');
    expect(ended.error.message).toContain("reading 'pages'");
    // Failed for good at its first attempt (a retryable failure would have had three).
    // The record says failed before BullMQ moves the job: read the job once its state is failed, not before.
    const queue = server.services.reindexProducer.queue;
    const job = await waitFor('the job to fail', async () =>
      (await queue.getJobState(jobId)) === 'failed' ? queue.getJob(jobId) : undefined,
    );
    expect(job.attemptsMade).toBe(1);
    const found = await server.request('POST', '/search', { query: 'lighthouse keepers ships', mode: 'keyword' });
    expect(found.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([created.body.id]);
  });
});
