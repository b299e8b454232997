import { startWorkers, type RunningWorkers } from '../../workers/register-workers';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';

/**
 * A tenant with a backlog must not starve one that uploads a single document: the ingest queue serves tenants in turn
 * (src/queues/fair-turns.ts). The backlog and the single document are queued with no worker running, then one worker
 * taking one job at a time works through them, and the order it finished them in is read back.
 */
const A = { authorization: 'Bearer ka' };
const B = { authorization: 'Bearer kb' };

describe("When one tenant's backlog is queued before another tenant's document", () => {
  let server: TestServer;
  let workers: RunningWorkers | undefined;
  beforeAll(async () => {
    server = await startTestServer({ API_KEYS: 'ka=alpha,kb=beta', RUN_WORKERS: 'off', WORKER_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await workers?.close();
    await server?.cleanup();
  });

  it("then the other tenant's document is processed within the first few jobs, not after the backlog", async () => {
    const backlog = await server.request(
      'POST',
      '/documents/bulk',
      { documents: Array.from({ length: 40 }, (_, i) => ({ text: `Backlog note ${i} about kestrels.` })) },
      A,
    );
    expect(backlog.status).toBe(202);
    const single = await server.request('POST', '/documents', { text: 'One note about otters.' }, B);
    expect(single.status).toBe(202);

    workers = startWorkers(server.services);
    expect((await waitForDocument(server, single.body.id, B)).status).toBe('ready');
    const aIds: string[] = backlog.body.documents.map((d: { id: string }) => d.id);
    const views = await Promise.all(aIds.map(async (id) => (await server.request('GET', `/documents/${id}`, undefined, A)).body));
    // FIFO would have run all 40 first. In turns, B's one job has priority 1 like A's first: at most A's first job and
    // the one in hand when B's finished are done.
    const readyA = views.filter((d) => d.status === 'ready').length;
    expect(readyA).toBeLessThanOrEqual(3);

    // The backlog still completes, in its own order.
    for (const id of aIds) expect((await waitForDocument(server, id, A)).status).toBe('ready');
  });
});
