import { randomUUID } from 'node:crypto';
import { QDRANT_LAYOUT_VERSION, QdrantVectorStore, type QdrantVectorStoreOptions } from '../../src/stores/vector/qdrant-store';
import { startQdrantDouble } from '../support/qdrant-double';
import { CONTRACT_DIMENSIONS, makeChunk, uniqueTenant, vectorStoreContract } from '../support/vector-store-contract';

/**
 * The Qdrant store against the strict Qdrant HTTP double (test/support/qdrant-double), which validates every request
 * body against Qdrant 1.19's OpenAPI document. One double serves the whole file; every fixture gets its own collection
 * base (alias + physical collection), so fixtures never see each other's points.
 */

const MODEL = 'contract-embedder-v1';

type Double = Awaited<ReturnType<typeof startQdrantDouble>>;
let double: Double;

beforeAll(async () => {
  double = await startQdrantDouble();
});

afterAll(async () => {
  await double?.close();
});

function freshBase(): string {
  return `ragmem_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

function storeOn(collectionBase: string, overrides: Partial<QdrantVectorStoreOptions> = {}): QdrantVectorStore {
  return new QdrantVectorStore({ url: double.url, dimensions: CONTRACT_DIMENSIONS, embeddingModel: MODEL, collectionBase, ...overrides });
}

vectorStoreContract('QdrantVectorStore', async () => {
  const base = freshBase();
  return {
    store: storeOn(base),
    reopen: async () => storeOn(base),
    cleanup: async () => undefined,
  };
});

describe('QdrantVectorStore (Qdrant specifics)', () => {
  const stores: QdrantVectorStore[] = [];
  const open = (base: string, overrides: Partial<QdrantVectorStoreOptions> = {}) => {
    const store = storeOn(base, overrides);
    stores.push(store);
    return store;
  };

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  test('When reopened with another dimension, then init throws embedding_mismatch and the data is untouched', async () => {
    const base = freshBase();
    const tenant = uniqueTenant('mismatch');
    const first = open(base);
    await first.upsert([makeChunk({ id: 'm1', tenant })]);
    await first.close();

    await expect(open(base, { dimensions: 16 }).init()).rejects.toMatchObject({
      code: 'embedding_mismatch',
      status: 500,
      retryable: false,
    });
    // A store that found the wrong collection must not be usable either.
    await expect(open(base, { dimensions: 16 }).count(tenant)).rejects.toMatchObject({ code: 'embedding_mismatch' });

    const same = open(base);
    await same.init();
    expect(await same.count(tenant)).toBe(1);
  });

  // Needs the server to return the collection metadata recorded at creation (`config.metadata`, Qdrant >= 1.16).
  test('When reopened with another embedding model of the same size, then init throws embedding_mismatch', async () => {
    const base = freshBase();
    await open(base).init();
    await expect(open(base, { embeddingModel: 'another-model' }).init()).rejects.toMatchObject({
      code: 'embedding_mismatch',
      retryable: false,
      message: expect.stringContaining('another-model'),
    });
    await expect(open(base).init()).resolves.toBeUndefined();
  });

  test('When two stores init the same new collection at once, then both succeed and share the data', async () => {
    const base = freshBase();
    const [a, b, c] = [open(base), open(base), open(base)];
    await Promise.all([a.init(), b.init(), c.init()]);
    const tenant = uniqueTenant('race');
    await a.upsert([makeChunk({ id: 'r1', tenant })]);
    expect(await b.count(tenant)).toBe(1);
    expect(await c.count(tenant)).toBe(1);
  });

  test('When one store calls init concurrently, then both calls succeed', async () => {
    const store = open(freshBase());
    await expect(Promise.all([store.init(), store.init()])).resolves.toEqual([undefined, undefined]);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  test('When chunks are written, then points live in the physical collection behind the alias with the recorded embedding', async () => {
    const base = freshBase();
    const store = open(base);
    await store.init();
    const creates = double.requests.filter(
      (r: { method: string; path: string }) => r.method === 'PUT' && r.path === `/collections/${base}_v1`,
    );
    expect(creates).toHaveLength(1);
    expect((creates[0] as { body: unknown }).body).toMatchObject({
      vectors: { dense: { size: CONTRACT_DIMENSIONS, distance: 'Cosine' } },
      sparse_vectors: { sparse: {} },
      metadata: { ragmem: { embeddingModel: MODEL, dimensions: CONTRACT_DIMENSIONS, layout: QDRANT_LAYOUT_VERSION } },
    });
    // No `idf` modifier: Qdrant would compute it over every tenant's points.
    expect((creates[0] as { body: { sparse_vectors: { sparse: object } } }).body.sparse_vectors.sparse).not.toHaveProperty('modifier');
  });

  test('When a collection of the previous layout (Qdrant computing IDF over every tenant) exists, then init refuses it with embedding_mismatch naming the layout', async () => {
    const base = freshBase();
    const res = await fetch(`${double.url}/collections/${base}_v1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        vectors: { dense: { size: CONTRACT_DIMENSIONS, distance: 'Cosine' } },
        sparse_vectors: { sparse: { modifier: 'idf' } },
        metadata: { ragmem: { embeddingModel: MODEL, dimensions: CONTRACT_DIMENSIONS, layout: 2 } },
      }),
    });
    expect(res.status).toBe(200);
    await expect(open(base).init()).rejects.toMatchObject({
      code: 'embedding_mismatch',
      details: { mismatch: ['sparse vector config', 'layout'] },
    });
  });

  test('When searching by keyword, then the query carries the tenant IDF, counted over that tenant points only', async () => {
    const base = freshBase();
    const store = open(base);
    const [mine, other] = [uniqueTenant('idf-own'), uniqueTenant('idf-other')];
    await store.upsert([
      makeChunk({ id: 'm1', tenant: mine, text: 'walrus colony' }),
      makeChunk({ id: 'm2', tenant: mine, documentId: 'doc-2', text: 'seal colony' }),
      ...Array.from({ length: 5 }, (_, i) => makeChunk({ id: `o${i}`, tenant: other, documentId: `o${i}`, text: 'walrus walrus' })),
    ]);
    const from = double.requests.length;
    await store.search({ tenant: mine, collection: 'docs', text: 'walrus', mode: 'keyword', k: 5 });
    const query = double.requests.slice(from).find((r: { path: string }) => r.path === `/collections/${base}/points/query`) as {
      body: { query: { values: number[] } };
    };
    // N = 2 (this tenant's points), df = 1: the other tenant's five walrus points count for nothing.
    expect(query.body.query.values).toEqual([Math.log((2 - 1 + 0.5) / (1 + 0.5) + 1)]);
  });

  test('When Qdrant is unreachable, then calls fail with a retryable dependency_unavailable', async () => {
    const store = new QdrantVectorStore({
      url: 'http://127.0.0.1:9',
      dimensions: CONTRACT_DIMENSIONS,
      embeddingModel: MODEL,
      collectionBase: freshBase(),
    });
    await expect(store.init()).rejects.toMatchObject({
      code: 'dependency_unavailable',
      status: 503,
      retryable: true,
      details: { dependency: 'qdrant' },
    });
    await expect(store.ping()).rejects.toMatchObject({ code: 'dependency_unavailable', retryable: true });
    await store.close();
  });
});

describe('QdrantVectorStore request validity', () => {
  // Declared last, so it runs after every test above: no request the store sent was rejected by the OpenAPI check.
  test('When the suite has run, then the double rejected none of the store requests', () => {
    expect(double.requests.length).toBeGreaterThan(0);
    expect(double.rejected).toEqual([]);
  });
});
