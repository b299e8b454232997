import { waitForDocument, type TestServer } from '../support/test-server';
import type { MistralDouble } from '../support/mistral-double';
import { startServiceOnMistral } from '../support/mistral-service';
import { waitFor } from '../support/wait-for';

/**
 * A reindex on Mistral embeddings (a local double speaking Mistral's wire format): texts whose embedding the cache
 * holds for the same model are never sent again, and only new texts (another chunking) reach the provider.
 */
let upstream: MistralDouble;
let server: TestServer;
let stop: (() => Promise<void>) | undefined;
beforeAll(async () => {
  ({ server, upstream, stop } = await startServiceOnMistral({ REINDEX_DROP_GRACE_MS: '0' }));
});
afterAll(async () => {
  await stop?.();
});

/** Texts sent to the embeddings endpoint since `from` (a request index). */
const embeddedSince = (from: number) =>
  upstream.requests
    .slice(from)
    .filter((r) => r.path === '/v1/embeddings')
    .flatMap((r) => r.body.input as string[]);

async function reindex(body: unknown) {
  const started = await server.request('POST', '/reindex', body);
  expect(started.status).toBe(202);
  return waitFor(
    'the reindex to finish',
    async () => {
      const res = await server.request('GET', `/reindex/${started.body.jobId}`);
      return ['completed', 'failed', 'cancelled'].includes(res.body.status) ? res.body : undefined;
    },
    60_000,
    50,
  );
}

const paragraph = (topic: string) =>
  Array.from(
    { length: 8 },
    (_, i) => `Paragraph ${i} on ${topic}: the committee reviewed measurement ${i * 7} and approved the ${topic} plan.`,
  ).join(' ');

describe('When a collection is reindexed with the same embedding model', () => {
  it('then no chunk text is embedded again, and with a new chunking only the new texts are', async () => {
    const docs = await server.request('POST', '/documents/bulk', {
      collection: 'cached',
      documents: ['irrigation', 'forestry', 'fisheries'].map((topic) => ({ text: paragraph(topic), title: topic })),
    });
    for (const d of docs.body.documents) expect((await waitForDocument(server, d.id)).status).toBe('ready');
    const uploaded = embeddedSince(0);
    expect(uploaded.length).toBeGreaterThan(0);

    const beforeSame = upstream.requests.length;
    const same = await reindex({ collection: 'cached' });
    expect(same).toMatchObject({ status: 'completed', embeddingModel: 'mistral-embed', progress: { done: 3, total: 3 } });
    expect(embeddedSince(beforeSame)).toEqual([]);

    const beforeRechunk = upstream.requests.length;
    const rechunked = await reindex({ collection: 'cached', chunking: { chunkSize: 24, chunkOverlap: 0 } });
    expect(rechunked.status).toBe('completed');
    const sent = embeddedSince(beforeRechunk);
    expect(sent.length).toBeGreaterThan(3);
    // Every text sent is new to the cache: none was embedded at upload time.
    for (const text of sent) expect(uploaded).not.toContain(text);

    const found = await server.request('POST', '/search', { query: 'forestry plan', collection: 'cached' });
    expect(found.body.results[0].title).toBe('forestry');
  });

  it('then a model this deployment does not run is refused before anything starts', async () => {
    const res = await server.request('POST', '/reindex', { collection: 'cached', embeddingModel: 'mistral-large-latest' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_embedding_model');
  });
});
