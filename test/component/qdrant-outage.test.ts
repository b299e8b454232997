import { startQdrantDouble, type QdrantDouble } from '../support/qdrant-double';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';

describe('When Qdrant is the store and it stops answering', () => {
  let double: QdrantDouble;
  let server: TestServer;
  beforeAll(async () => {
    double = await startQdrantDouble();
    server = await startTestServer({ QDRANT_URL: double.url });
  });
  afterAll(async () => {
    await server?.cleanup();
    await double?.close().catch(() => undefined);
  });

  it('then search answers 503 dependency_unavailable, readiness 503, and the process keeps serving', async () => {
    const created = await server.request('POST', '/documents', { text: 'Puffins nest on the cliffs of Runde.' });
    expect((await waitForDocument(server, created.body.id)).status).toBe('ready');
    expect((await server.request('POST', '/search', { query: 'puffins Runde' })).body.results[0].documentId).toBe(created.body.id);
    expect(double.rejected).toEqual([]);

    await double.close();
    const search = await server.request('POST', '/search', { query: 'puffins Runde' });
    expect(search.status).toBe(503);
    expect(search.body.error).toMatchObject({ code: 'dependency_unavailable', details: { dependency: 'qdrant' } });
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis).toBe('ok');
    expect(ready.body.checks.vectorStore).toMatch(/unavailable/);
    expect((await server.request('GET', `/documents/${created.body.id}`)).status).toBe(200);
  });
});
