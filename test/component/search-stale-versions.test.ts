import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';

/**
 * Search fetches a little more than k and drops chunks of versions their document no longer serves; when those crowd
 * the first page, it searches again deeper rather than answer fewer than k.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.cleanup();
});

async function addDocument(title: string, text: string): Promise<string> {
  const res = await server.request('POST', '/documents', { title, text });
  expect(res.status).toBe(202);
  expect((await waitForDocument(server, res.body.id, {}, 30_000)).status).toBe('ready');
  return res.body.id;
}

describe('When chunks of a version no longer served outrank every current chunk', () => {
  it('then search still answers k current chunks, none of the stale ones', async () => {
    const current = await Promise.all(
      [
        'Harbor pilots read the tide tables before dawn.',
        'The harbor crane lifts containers all night.',
        'A harbor seal sleeps on the warm pier.',
      ].map((text, i) => addDocument(`Current ${i}`, text)),
    );
    const stale = await addDocument('Replaced', 'An unrelated note about orchards.');
    // Leftovers of an earlier version of `stale` (as while a replacement switches over): many, and all about harbors.
    const [vector] = await server.services.embedder.embed(['harbor harbor harbor tide crane seal']);
    await server.services.vectors.upsert(
      Array.from({ length: 20 }, (_, i) => ({
        id: `leftover-${i}`,
        tenant: 'default',
        collection: 'default',
        documentId: stale,
        documentVersion: 7,
        chunkIndex: i,
        title: 'Replaced',
        text: `harbor harbor harbor tide crane seal harbor pier ${i}`,
        tokenCount: 10,
        pages: [],
        headingPath: [],
        metadata: {},
        vector,
      })),
    );
    for (const mode of ['hybrid', 'keyword', 'dense'] as const) {
      const res = await server.request('POST', '/search', { query: 'harbor tide crane seal', k: 3, mode });
      expect(res.status).toBe(200);
      expect(res.body.results.map((r: { documentId: string }) => r.documentId).sort()).toEqual([...current].sort());
    }
  });
});
