import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { ingestJobId } from '../../src/queues/ingest-queue';
import { waitFor } from '../support/wait-for';
import { PREVIOUS_VERSION_GRACE_MS } from '../../src/search/served-versions';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ API_KEYS: 'key-a=tenant-a,key-b=tenant-b', EMBED_BATCH_SIZE: '8', WORKER_CONCURRENCY: '1' });
});
afterAll(async () => {
  await server?.cleanup();
});

const A = { authorization: 'Bearer key-a' };
const B = { authorization: 'Bearer key-b' };
const req = (method: string, p: string, body: unknown, headers: Record<string, string>) => server.request(method, p, body, headers);

async function waitForJobToSettle(documentId: string, version: number) {
  return waitFor(
    `the ingest job of ${documentId} v${version} to settle`,
    async () => {
      const job = await server.services.producer.queue.getJob(ingestJobId(documentId, version));
      const state = job ? await job.getState() : 'missing';
      return state === 'completed' || state === 'failed' || state === 'missing' ? state : undefined;
    },
    60_000,
    50,
  );
}

describe('When API keys map to tenants', () => {
  it('then a request without a valid key answers 401', async () => {
    const none = await server.request('POST', '/search', { query: 'x' });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const wrong = await req('POST', '/search', { query: 'x' }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
  });

  it('then no tenant ever sees another tenant’s documents or chunks', async () => {
    const created = await req('POST', '/documents', { text: 'Tenant A keeps the secret recipe for saffron buns.' }, A);
    await waitForDocument(server, created.body.id, A);
    expect((await req('GET', `/documents/${created.body.id}`, undefined, B)).status).toBe(404);
    expect((await req('GET', `/documents/${created.body.id}/chunks`, undefined, B)).status).toBe(404);
    expect((await req('DELETE', `/documents/${created.body.id}`, undefined, B)).status).toBe(404);
    const list = await req('GET', '/documents', undefined, B);
    expect(list.body.documents).toEqual([]);
    for (const mode of ['hybrid', 'dense', 'keyword']) {
      const res = await req('POST', '/search', { query: 'secret recipe saffron buns', mode }, B);
      expect(res.body.results).toEqual([]);
    }
    // The same content in tenant B is not a duplicate of tenant A's document.
    const twin = await req('POST', '/documents', { text: 'Tenant A keeps the secret recipe for saffron buns.' }, B);
    expect(twin.status).toBe(202);
    expect(twin.body.id).not.toBe(created.body.id);
    const mine = await req('POST', '/search', { query: 'secret recipe saffron buns' }, A);
    expect(mine.body.results[0].documentId).toBe(created.body.id);
  });
});

describe('When a document is deleted', () => {
  it('then its chunks leave search before the response returns', async () => {
    const created = await req('POST', '/documents', { text: 'Glacier retreat in the Alps measured by drones.' }, A);
    await waitForDocument(server, created.body.id, A);
    expect((await req('DELETE', `/documents/${created.body.id}`, undefined, A)).status).toBe(204);
    const res = await req('POST', '/search', { query: 'glacier retreat drones', mode: 'keyword' }, A);
    expect(res.body.results.find((r: { documentId: string }) => r.documentId === created.body.id)).toBeUndefined();
    expect((await req('GET', `/documents/${created.body.id}`, undefined, A)).status).toBe(404);
    expect(await server.services.vectors.count('tenant-a', { documentId: created.body.id })).toBe(0);
  });
});

describe('When a document is reindexed', () => {
  it('then it gets a new version with the same chunks, served without a gap', async () => {
    const created = await req('POST', '/documents', { text: 'Copper mining shaped the town of Falun for centuries.' }, A);
    const before = await waitForDocument(server, created.body.id, A);
    const res = await req('POST', `/documents/${created.body.id}/reindex`, undefined, A);
    expect(res.status).toBe(202);
    expect(typeof res.body.jobId).toBe('string');
    // The old version answers until the new one is indexed.
    const during = await req('POST', '/search', { query: 'copper mining Falun', mode: 'keyword' }, A);
    expect(during.body.results[0].documentId).toBe(created.body.id);
    const after = await waitForDocument(server, created.body.id, A);
    expect(after.version).toBe(before.version + 1);
    expect(after.chunkCount).toBe(before.chunkCount);
    // The record remembers the version it replaced (a search whose store read predates the switch serves that one).
    expect((await server.services.documents.get('tenant-a', created.body.id))?.previousIndexedVersion).toBe(before.version);
    // The old version's chunks are retired just after the switch; the job completes once they are gone.
    expect(await waitForJobToSettle(created.body.id, after.version)).toBe('completed');
    expect(await server.services.vectors.count('tenant-a', { documentId: created.body.id })).toBe(before.chunkCount);
  });
});

describe('When a search read the store just before a replacement switched over', () => {
  it('then it serves the replaced version for that moment, never nothing, and only within the grace window', async () => {
    const created = await req('POST', '/documents', { text: 'Basalt columns line the Causeway coast of Antrim.' }, A);
    const id = created.body.id as string;
    const v1 = await waitForDocument(server, id, A);
    // The record names version 2 as served while the store holds only version 1's chunks: what a search sees when its
    // store read came before the worker's upsert and its record read after the switch.
    const switchAt = async (indexedAt: Date) =>
      server.services.documents.update('tenant-a', id, () => ({
        version: v1.version + 1,
        indexedVersion: v1.version + 1,
        previousIndexedVersion: v1.version,
        indexedAt: indexedAt.toISOString(),
      }));
    const search = async () => (await req('POST', '/search', { query: 'basalt columns Causeway', mode: 'keyword' }, A)).body.results;

    await switchAt(new Date());
    const during = await search();
    expect(during.map((r: { documentId: string }) => r.documentId)).toEqual([id]);
    // Long after the switch the replaced version's chunks are stale leftovers: not served.
    await switchAt(new Date(Date.now() - PREVIOUS_VERSION_GRACE_MS - 1000));
    expect(await search()).toEqual([]);
    expect((await req('DELETE', `/documents/${id}`, undefined, A)).status).toBe(204);
  });
});
