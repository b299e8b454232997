import { generatedText } from '../support/fixtures';
import { seededRandom } from '../support/chaos-random';
import { startQdrantDouble, type QdrantDouble } from '../support/qdrant-double';
import { startRedis, type ThrowawayRedis } from '../support/redis-server';
import { startTestServer, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';
import { Chunker } from '../../src/core/chunker';
import { parseSource } from '../../src/ingest/parsers';
import { ingestJobId } from '../../src/queues/ingest-queue';

const BEFORE = 40;
const DURING = 20;
const SEARCHERS = 4;
/** No search may hang while Qdrant is down: each answers (503) well within this. */
const REQUEST_BOUND_MS = 15_000;
/** The outage lasts at least this long, and until ingestion has retried and searches have failed several times. */
const MIN_OUTAGE_MS = 5_000;

let redis: ThrowawayRedis;
let qdrant: QdrantDouble;
let server: TestServer;
beforeAll(async () => {
  redis = await startRedis();
  qdrant = await startQdrantDouble();
  // Exponential backoff from 200 ms over 12 attempts waits ~7 minutes in all: far longer than the outage.
  server = await startTestServer({
    REDIS_URL: redis.url,
    QDRANT_URL: qdrant.url,
    JOB_ATTEMPTS: '12',
    JOB_BACKOFF_MS: '200',
    WORKER_CONCURRENCY: '2',
    EMBED_BATCH_SIZE: '4',
  });
});
afterAll(async () => {
  await qdrant?.restart().catch(() => undefined);
  await server?.cleanup();
  await qdrant?.close().catch(() => undefined);
  await redis?.stop();
});

interface SearchOutcome {
  startedAt: number;
  endedAt: number;
  status: number;
  code?: string;
  retryAfter: string | null;
  hits: number;
}

const bounded = <T>(what: string, p: Promise<T>) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} hung past ${REQUEST_BOUND_MS} ms`)), REQUEST_BOUND_MS)),
  ]);

describe('When the vector store (Qdrant) becomes unreachable while documents ingest and searches run, then comes back', () => {
  it('then searches answer 503 dependency_unavailable while it is down (never 500, never hanging), ingestion retries, and afterwards every document is ready with exactly its chunks', async () => {
    const rnd = seededRandom('vector-store-outage');
    const texts = Array.from({ length: BEFORE + DURING }, (_, i) => generatedText(70_000 + i, rnd.between(400, 3000)));
    const ids: string[] = [];
    const upload = async (from: number, to: number) => {
      for (let i = from; i < to; i += 10) {
        const batch = await Promise.all(
          texts
            .slice(i, Math.min(i + 10, to))
            .map((text, j) => bounded('an upload', server.request('POST', '/documents', { text, title: `outage ${i + j}` }))),
        );
        for (const res of batch) {
          expect({ status: res.status, body: res.status === 202 ? 'accepted' : res.body }).toEqual({ status: 202, body: 'accepted' });
          ids.push(res.body.id);
        }
      }
    };
    await upload(0, BEFORE);

    // Searchers run throughout: before, during and after the outage.
    const searches: SearchOutcome[] = [];
    let searching = true;
    const searchers = Array.from({ length: SEARCHERS }, async () => {
      while (searching) {
        const startedAt = Date.now();
        const res = await bounded('a search', server.request('POST', '/search', { query: 'river ledger harbor' }));
        searches.push({
          startedAt,
          endedAt: Date.now(),
          status: res.status,
          code: res.body?.error?.code,
          retryAfter: res.headers.get('retry-after'),
          hits: res.body?.results?.length ?? 0,
        });
        await new Promise((r) => setTimeout(r, 20));
      }
    });

    // Down while the first batch is still being ingested.
    await waitFor(
      'a first document ready',
      async () => ((await server.request('GET', `/documents/${ids[0]}`)).body.status === 'ready' ? true : undefined),
      60_000,
      100,
    );
    const readyAtOutage = (await Promise.all(ids.map((id) => server.request('GET', `/documents/${id}`)))).filter(
      (r) => r.body.status === 'ready',
    ).length;
    await qdrant.close();
    const downAt = Date.now();
    await upload(BEFORE, BEFORE + DURING);

    // Down until ingestion has failed and been retried, and searches have met the outage, for MIN_OUTAGE_MS at least.
    const retriedJobs = async () => {
      let retried = 0;
      for (const id of ids) {
        const job = await server.services.producer.queue.getJob(ingestJobId(id, 1));
        if (job && job.attemptsMade > 0) retried++;
      }
      return retried;
    };
    await waitFor(
      'ingestion retries and failed searches during the outage',
      async () =>
        Date.now() - downAt >= MIN_OUTAGE_MS && (await retriedJobs()) >= 2 && searches.filter((s) => s.startedAt > downAt).length >= 10
          ? true
          : undefined,
      120_000,
      200,
    );
    const upAt = Date.now();
    const retriedDuringOutage = await retriedJobs();
    await qdrant.restart();

    const deadline = Date.now() + 180_000;
    const docs = new Map<string, any>();
    while (docs.size < ids.length) {
      for (const id of ids) {
        if (docs.has(id)) continue;
        const res = await server.request('GET', `/documents/${id}`);
        if (res.body.status === 'ready' || res.body.status === 'failed') docs.set(id, res.body);
      }
      if (docs.size < ids.length && Date.now() > deadline)
        throw new Error(`${ids.length - docs.size} documents unfinished after the vector store came back`);
      if (docs.size < ids.length) await new Promise((r) => setTimeout(r, 250));
    }
    const recoveredMs = Date.now() - upAt;
    // Searches after recovery find documents again.
    await waitFor(
      'a search answering after recovery',
      () =>
        searches.some((s) => s.startedAt > Date.now() - 5_000 && s.startedAt > upAt && s.status === 200 && s.hits > 0) ? true : undefined,
      60_000,
      100,
    );
    searching = false;
    await Promise.all(searchers);

    const chunker = new Chunker({ tokenCounter: server.services.tokenCounter, ...server.services.config.chunking });
    let chunks = 0;
    for (const [i, id] of ids.entries()) {
      const doc = docs.get(id);
      expect({ id, status: doc.status, error: doc.error }).toEqual({ id, status: 'ready', error: undefined });
      const expected = chunker.chunk(await parseSource(Buffer.from(texts[i], 'utf8'), 'text')).length;
      expect(doc.chunkCount).toBe(expected);
      expect(await server.services.vectors.count('default', { documentId: id })).toBe(expected);
      const listed = await server.services.vectors.listChunks('default', id, doc.version, 0, expected + 10);
      expect(new Set(listed.map((c) => c.chunkIndex)).size).toBe(expected);
      chunks += expected;
    }

    // Every search answered 200 or 503 dependency_unavailable (with Retry-After); those wholly inside the outage, 503.
    for (const s of searches) {
      if (s.status !== 200)
        expect({ status: s.status, code: s.code, retryAfter: s.retryAfter }).toEqual({
          status: 503,
          code: 'dependency_unavailable',
          retryAfter: expect.stringMatching(/^\d+$/),
        });
      if (s.startedAt > downAt && s.endedAt < upAt) expect(s.status).toBe(503);
    }
    const during = searches.filter((s) => s.startedAt > downAt && s.endedAt < upAt);
    expect(during.length).toBeGreaterThanOrEqual(10);
    expect(retriedDuringOutage).toBeGreaterThanOrEqual(2);
    expect(qdrant.rejected).toEqual([]);
    const slowest = Math.max(...during.map((s) => s.endedAt - s.startedAt));
    console.log(
      `vector-store-outage: seed ${rnd.seed}, ${BEFORE} documents uploaded (${readyAtOutage} ready when Qdrant went down) + ${DURING} during the ${upAt - downAt} ms outage; ${during.length} searches inside it all 503 dependency_unavailable (slowest ${slowest} ms), ${retriedDuringOutage} ingest jobs retried; all ${ids.length} ready with exact chunk counts (${chunks} chunks) ${recoveredMs} ms after it came back; ${searches.length} searches in all, none 500`,
    );
  }, 300_000);
});
