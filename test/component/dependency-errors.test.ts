import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { mapLanceDbError } from '../../src/stores/vector/lancedb-errors';
import { QdrantVectorStore } from '../../src/stores/vector/qdrant-store';
import { mapQdrantError } from '../../src/stores/vector/qdrant-errors';
import { startQdrantDouble } from '../support/qdrant-double';
import { startRedis, type ThrowawayRedis } from '../support/redis-server';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { CONTRACT_DIMENSIONS, makeChunk, uniqueTenant } from '../support/vector-store-contract';

// The client's CommonJS build, typed from its ESM types (as src/stores/vector/qdrant-store.ts loads it).
const { QdrantClient } = require('@qdrant/js-client-rest') as typeof import('@qdrant/js-client-rest', {
  with: { 'resolution-mode': 'import' },
});

/**
 * Failures of the dependencies answer clear catalogue codes, never a bare 500 internal_error: Redis out of memory,
 * Qdrant refusing a request (4xx), LanceDB failing on its files.
 */
const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
};

describe('When Redis is out of memory (maxmemory, noeviction)', () => {
  let redis: ThrowawayRedis;
  let admin: Redis;
  let server: TestServer;
  beforeAll(async () => {
    redis = await startRedis(undefined, ['--maxmemory-policy', 'noeviction']);
    admin = new Redis(redis.url);
    server = await startTestServer({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await server?.cleanup();
    admin?.disconnect();
    await redis?.stop();
  });

  it('Then writes answer 507 storage_full with Retry-After, reads and /healthz still answer, and writes work once memory is freed', async () => {
    await admin.config('SET', 'maxmemory', '1');
    try {
      const session = await server.request('POST', '/sessions', { id: `s-${randomUUID()}` });
      expectError(session, 507, 'storage_full');
      expect(Number(session.headers.get('retry-after'))).toBeGreaterThan(0);
      expectError(await server.request('POST', '/documents', { text: 'a document while Redis is full' }), 507, 'storage_full');
      expect((await server.request('GET', '/healthz')).status).toBe(200);
      expect((await server.request('GET', '/documents')).status).toBe(200);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect((await server.request('POST', '/sessions', { id: `s-${randomUUID()}` })).status).toBe(201);
  });
});

describe('When Qdrant refuses a request (the strict double)', () => {
  let double: Awaited<ReturnType<typeof startQdrantDouble>>;
  beforeAll(async () => {
    double = await startQdrantDouble({ apiKey: 'the-right-qdrant-key' });
  });
  afterAll(async () => {
    await double?.close();
  });
  const storeWith = (apiKey: string, collectionBase: string) =>
    new QdrantVectorStore({
      url: double.url,
      apiKey,
      dimensions: CONTRACT_DIMENSIONS,
      embeddingModel: 'contract-embedder-v1',
      collectionBase,
    });

  it('Then a wrong API key (401) is 503 dependency_unavailable naming QDRANT_API_KEY, not retryable', async () => {
    const store = storeWith('a-wrong-key', `ragmem_test_${randomUUID().slice(0, 8)}`);
    const err = await store.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'dependency_unavailable', status: 503, retryable: false });
    expect((err as Error).message).toMatch(/QDRANT_API_KEY/);
  });

  it('Then a change another process made first (409) is conflict, retryable', async () => {
    // The real client against the double: the second create of a collection answers 409, as Qdrant does.
    const client = new QdrantClient({ url: double.url, apiKey: 'the-right-qdrant-key', checkCompatibility: false });
    const name = `ragmem_test_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    const create = () => client.createCollection(name, { vectors: { size: CONTRACT_DIMENSIONS, distance: 'Cosine' } });
    await create();
    const err = await create().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(mapQdrantError(err, 'create collection')).toMatchObject({ code: 'conflict', status: 409, retryable: true });
  });

  it('Then a collection dropped behind the service (404) is vector_store_error saying so', async () => {
    const base = `ragmem_test_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    const store = storeWith('the-right-qdrant-key', base);
    await store.init();
    const tenant = uniqueTenant('q404');
    await store.upsert([makeChunk({ id: 'c1', tenant })]);
    double.reset(); // every collection and alias gone
    const err = await store.count(tenant).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'vector_store_error', retryable: false });
    expect((err as Error).message).toMatch(/no such collection/);
  });
});

describe('When LanceDB fails on its files', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({});
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('Then a search and a chunk listing over deleted data files answer 503 dependency_unavailable, and /healthz answers', async () => {
    const res = await server.request('POST', '/documents', { text: 'The ferry leaves the harbour at noon on weekdays.' });
    const doc = await waitForDocument(server, res.body.id);
    expect(doc.status).toBe('ready');
    const dataDirs = await findDirs(server.dataDir, (p) => path.basename(p) === 'data' && p.includes('.lance'));
    expect(dataDirs.length).toBeGreaterThan(0);
    for (const dir of dataDirs) await fs.rm(dir, { recursive: true, force: true });
    expectError(await server.request('POST', '/search', { query: 'ferry harbour', mode: 'dense' }), 503, 'dependency_unavailable');
    expectError(await server.request('GET', `/documents/${doc.id}/chunks`), 503, 'dependency_unavailable');
    expect((await server.request('GET', '/healthz')).status).toBe(200);
  });

  it('Then commit conflicts are retryable and other native errors are vector_store_error (the mapping)', () => {
    expect(
      mapLanceDbError(new Error('Retryable commit conflict for version 12: This CreateIndex transaction was preempted'), 'upsert'),
    ).toMatchObject({
      code: 'dependency_unavailable',
      retryable: true,
    });
    expect(
      mapLanceDbError(new Error('LanceError(IO): Generic LocalFileSystem error: Permission denied (os error 13)'), 'search'),
    ).toMatchObject({
      code: 'dependency_unavailable',
    });
    expect(mapLanceDbError(new Error("Invalid user input: Schema error: No field named 'nope'"), 'search')).toMatchObject({
      code: 'vector_store_error',
      status: 500,
    });
  });
});

async function findDirs(root: string, match: (p: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const full = path.join(root, entry.name);
    if (match(full)) out.push(full);
    else out.push(...(await findDirs(full, match)));
  }
  return out;
}
