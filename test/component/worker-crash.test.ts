import { waitForDocument } from '../support/test-server';
import { waitFor } from '../support/wait-for';
import { DOUBLE_API_KEY, startMistralDouble, type MistralDouble } from '../support/mistral-double';
import { generatedText } from '../support/fixtures';
import { Chunker } from '../../src/core/chunker';
import { parseSource } from '../../src/ingest/parsers';
import { apiWithWorkerProcesses, exitOf, SLOW_PROCESS_TEST_MS } from '../support/spawn-entry';

/**
 * The API runs without workers; workers run as their own processes, as in production (`npm run worker`). Both embed
 * with Mistral's wire format against a local double that answers each batch after 50 ms, so a large document takes
 * seconds on any machine and the kill lands in its middle.
 */
let upstream: MistralDouble;
beforeAll(async () => {
  upstream = await startMistralDouble({ dimensions: 1024, embedDelayMs: 50 });
});
afterAll(async () => {
  await upstream?.close();
});
const mistral = () => ({ MISTRAL_API_KEY: DOUBLE_API_KEY, MISTRAL_SERVER_URL: upstream.url });
const api = apiWithWorkerProcesses(
  {
    WORKER_CONCURRENCY: '1',
    EMBED_BATCH_SIZE: '4',
    JOB_BACKOFF_MS: '200',
  },
  '2000',
  mistral,
);
const startWorker = (env: Record<string, string> = {}) => api.startWorker({ ...mistral(), ...env });
const { killWorkers } = api;

/** Waits until the document's job has embedded `batches` batches (it must not finish first: the kill comes then). */
const underWay = (id: string, batches: number) =>
  waitFor(
    `the worker to be ${batches} batches into ${id}`,
    async () => {
      const doc = (await api.server.request('GET', `/documents/${id}`)).body;
      if (doc.status === 'ready') throw new Error('finished before the kill, despite the embed delay');
      return doc.status === 'processing' && doc.progress.done >= batches ? true : undefined;
    },
    60_000,
  );

describe('When a worker is killed (SIGKILL) in the middle of a large document', () => {
  it(
    'then another worker finishes it: ready, with exactly the expected chunks and no duplicates',
    async () => {
      const text = generatedText(11, 120_000);
      const created = await api.server.request('POST', '/documents', { text, title: 'Crash test' });
      expect(created.status).toBe(202);
      const id = created.body.id;

      const first = startWorker();
      await underWay(id, 40);
      first.kill('SIGKILL');
      await exitOf(first);
      const partial = await api.server.services.vectors.count('default', { documentId: id });
      expect(partial).toBeGreaterThan(0);

      startWorker();
      const doc = await waitForDocument(api.server, id, {}, 90_000);
      expect(doc.status).toBe('ready');

      const expected = new Chunker({ tokenCounter: api.server.services.tokenCounter, ...api.server.services.config.chunking }).chunk(
        await parseSource(Buffer.from(text, 'utf8'), 'text'),
      ).length;
      expect(doc.chunkCount).toBe(expected);
      // Embedded through the (slowed) double, as the kill's timing relies on.
      expect(upstream.requests.filter((r) => r.path === '/v1/embeddings').length).toBeGreaterThan(expected / 4);
      expect(partial).toBeLessThan(expected);
      expect(await api.server.services.vectors.count('default', { documentId: id })).toBe(expected);
      const seen = new Set<number>();
      for (let from = 0; from < expected; from += 200) {
        const page = await api.server.services.vectors.listChunks('default', id, doc.version, from, 200);
        for (const c of page) seen.add(c.chunkIndex);
      }
      expect(seen.size).toBe(expected);
    },
    SLOW_PROCESS_TEST_MS,
  );
});

describe('When a job stalls more often than JOB_MAX_STALLS (its worker killed mid-job, no stalls allowed)', () => {
  it(
    'then its document ends failed with ingest_stalled instead of staying processing forever',
    async () => {
      await killWorkers();
      const text = generatedText(12, 120_000);
      const created = await api.server.request('POST', '/documents', { text, title: 'Stall-out test' });
      expect(created.status).toBe(202);
      const id = created.body.id;

      const first = startWorker({ JOB_MAX_STALLS: '0' });
      await underWay(id, 8);
      first.kill('SIGKILL');
      await exitOf(first);

      // The next worker's stall checker finds the dead worker's job and, with no stalls allowed, fails it.
      startWorker({ JOB_MAX_STALLS: '0' });
      const doc = await waitForDocument(api.server, id, {}, 90_000);
      expect(doc.status).toBe('failed');
      expect(doc.error.code).toBe('ingest_stalled');
      expect(doc.error.message).toMatch(/stalled/);
    },
    SLOW_PROCESS_TEST_MS,
  );
});
