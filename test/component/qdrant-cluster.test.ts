import { randomUUID } from 'node:crypto';
import { ingestJobId } from '../../src/queues/ingest-queue';
import { QdrantVectorStore, type QdrantVectorStoreOptions } from '../../src/stores/vector/qdrant-store';
import { SHARD_FAULTS, startQdrantDouble, type QdrantDouble, type RecordedRequest } from '../support/qdrant-double';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { CONTRACT_DIMENSIONS, makeChunk, uniqueTenant } from '../support/vector-store-contract';
import { waitFor } from '../support/wait-for';

/**
 * The Qdrant store on a distributed Qdrant, against the strict double (which validates every body and query parameter
 * against Qdrant 1.19's OpenAPI document and records them): the collection layout sent at creation, the consistency
 * writes and reads ask for, and what a shard without a live replica does to searches and ingestion.
 */

const MODEL = 'contract-embedder-v1';
const DISTRIBUTION_FIELDS = ['shard_number', 'replication_factor', 'write_consistency_factor'];

let double: QdrantDouble;
beforeAll(async () => {
  double = await startQdrantDouble();
});
afterAll(async () => {
  await double?.close();
});

const freshBase = () => `ragmem_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

const stores: QdrantVectorStore[] = [];
afterEach(async () => {
  double.clearFault();
  for (const store of stores.splice(0)) await store.close();
});

function open(collectionBase: string, overrides: Partial<QdrantVectorStoreOptions> = {}): QdrantVectorStore {
  const store = new QdrantVectorStore({
    url: double.url,
    dimensions: CONTRACT_DIMENSIONS,
    embeddingModel: MODEL,
    collectionBase,
    ...overrides,
  });
  stores.push(store);
  return store;
}

/** The requests the double received since `from`, on the store's collection (physical or alias). */
const sent = (from: number, base: string) => double.requests.slice(from).filter((r) => r.path.startsWith(`/collections/${base}`));
const creation = (base: string) => double.requests.filter((r) => r.method === 'PUT' && r.path === `/collections/${base}_v1`);
const is = (r: RecordedRequest, method: string, suffix: string) => r.method === method && r.path.endsWith(suffix);
const writes = (requests: RecordedRequest[]) => requests.filter((r) => is(r, 'PUT', '/points') || is(r, 'POST', '/points/delete'));
const reads = (requests: RecordedRequest[]) =>
  requests.filter((r) => is(r, 'POST', '/points/query') || is(r, 'POST', '/points/count') || is(r, 'POST', '/points/scroll'));

/** Writes, searches (every mode), lists, counts and deletes through the store: every kind of request it sends. */
async function exercise(store: QdrantVectorStore): Promise<void> {
  const tenant = uniqueTenant('cluster');
  await store.upsert([
    makeChunk({ id: 'c1', tenant, text: 'puffins nest on cliffs' }),
    makeChunk({ id: 'c2', tenant, chunkIndex: 1, text: 'gannets dive for fish' }),
  ]);
  for (const mode of ['hybrid', 'dense', 'keyword'] as const) {
    await store.search({
      tenant,
      collection: 'docs',
      text: 'puffins',
      vector: new Float32Array(CONTRACT_DIMENSIONS).fill(0.5),
      mode,
      k: 3,
    });
  }
  expect(await store.listChunks(tenant, 'doc-1', 1, 0, 1)).toHaveLength(1);
  expect(await store.count(tenant)).toBe(2);
  await store.deleteDocument(tenant, 'doc-1', { exceptVersion: 2 });
  await store.deleteCollection(tenant, 'docs');
}

describe('When ragmem creates a collection', () => {
  it('then without settings the request leaves shard_number, replication_factor and write_consistency_factor to Qdrant', async () => {
    const base = freshBase();
    await open(base).init();
    expect(creation(base)).toHaveLength(1);
    for (const field of DISTRIBUTION_FIELDS) expect(creation(base)[0].body).not.toHaveProperty(field);
  });

  it('then the settings ride in the creation request, and Qdrant reports them back', async () => {
    const base = freshBase();
    await open(base, { cluster: { shardNumber: 6, replicationFactor: 3, writeConsistencyFactor: 2 } }).init();
    expect(creation(base)[0].body).toMatchObject({ shard_number: 6, replication_factor: 3, write_consistency_factor: 2 });
    const info = (await (await fetch(`${double.url}/collections/${base}`)).json()) as { result: { config: { params: object } } };
    expect(info.result.config.params).toMatchObject({ shard_number: 6, replication_factor: 3, write_consistency_factor: 2 });
  });

  it('then a write consistency factor above the replication factor is refused before any request', () => {
    const base = freshBase();
    expect(() => open(base, { cluster: { replicationFactor: 2, writeConsistencyFactor: 3 } })).toThrow(/writeConsistencyFactor/);
    expect(() => open(base, { cluster: { writeConsistencyFactor: 2 } })).toThrow(/writeConsistencyFactor/);
    expect(() => open(base, { cluster: { shardNumber: 0 } })).toThrow(/shardNumber/);
    expect(creation(base)).toHaveLength(0);
  });
});

describe('When the store writes and reads', () => {
  it('then on one replica (nothing set) writes carry wait=true and no ordering, reads no consistency', async () => {
    const base = freshBase();
    const store = open(base);
    await store.init();
    const from = double.requests.length;
    await exercise(store);
    const requests = sent(from, base);
    expect(writes(requests).length).toBeGreaterThanOrEqual(3);
    for (const w of writes(requests)) expect(w.query).toEqual({ wait: 'true' });
    expect(reads(requests).length).toBeGreaterThanOrEqual(6);
    for (const r of reads(requests)) expect(r.query).toEqual({});
  });

  it('then on a replicated collection writes default to ordering=medium, and a configured ordering and read consistency ride on every write and read', async () => {
    const base = freshBase();
    const replicated = open(base, { cluster: { replicationFactor: 2 } });
    await replicated.init();
    let from = double.requests.length;
    await exercise(replicated);
    for (const w of writes(sent(from, base))) expect(w.query).toEqual({ wait: 'true', ordering: 'medium' });

    const strict = open(base, { cluster: { replicationFactor: 2, writeOrdering: 'strong', readConsistency: 'majority' } });
    await strict.init();
    from = double.requests.length;
    await exercise(strict);
    const requests = sent(from, base);
    for (const w of writes(requests)) expect(w.query).toEqual({ wait: 'true', ordering: 'strong' });
    for (const r of reads(requests)) expect(r.query).toEqual({ consistency: 'majority' });
    // Every kind of read went out: the Query API, the tenant IDF and range counts, the chunk listing's scroll.
    expect(new Set(reads(requests).map((r) => r.path.split('/').pop()))).toEqual(new Set(['query', 'count', 'scroll']));

    const factor = open(base, { cluster: { readConsistency: 2 } });
    from = double.requests.length;
    await exercise(factor);
    for (const r of reads(sent(from, base))) expect(r.query).toEqual({ consistency: '2' });
  });

  it('then writes follow the collection’s own replication, and settings that differ from it are warned about, not applied', async () => {
    const base = freshBase();
    await open(base, { cluster: { shardNumber: 2, replicationFactor: 2 } }).init();
    const warnings: Array<{ obj: object; msg?: string }> = [];
    const logger = { warn: (obj: object, msg?: string) => warnings.push({ obj, msg }), info: () => undefined };
    // Configured for one replica, but the collection (made by another deployment, or before the settings) has two.
    const store = open(base, { cluster: { shardNumber: 4, replicationFactor: 1 }, logger });
    await store.init();
    expect(warnings).toEqual([
      {
        obj: { collection: `${base}_v1`, drift: ['shard_number: 4 (collection: 2)', 'replication_factor: 1 (collection: 2)'] },
        msg: expect.stringMatching(/QDRANT_SHARD_NUMBER.*apply when a collection is created/),
      },
    ]);
    expect(creation(base)).toHaveLength(1);
    const from = double.requests.length;
    await store.upsert([makeChunk({ id: 'w1', tenant: uniqueTenant('drift') })]);
    expect(writes(sent(from, base)).map((w) => w.query)).toEqual([{ wait: 'true', ordering: 'medium' }]);
  });
});

describe('When a shard has no live replica', () => {
  it.each([
    ['503 Shard temporarily unavailable', SHARD_FAULTS.shardUnavailable, 'shard_unavailable'],
    ['500 not enough active replicas', SHARD_FAULTS.notEnoughReplicas, 'shard_unavailable'],
    ['408 timeout', SHARD_FAULTS.timeout, 'timeout'],
  ])('then %s makes reads and writes fail with a retryable dependency_unavailable and Retry-After', async (_name, fault, reason) => {
    const store = open(freshBase());
    await store.init();
    const tenant = uniqueTenant('fault');
    double.setFault(fault);
    const expected = {
      code: 'dependency_unavailable',
      status: 503,
      retryable: true,
      details: { dependency: 'qdrant', reason },
      headers: { 'Retry-After': '2' },
    };
    await expect(store.upsert([makeChunk({ id: 'f1', tenant })])).rejects.toMatchObject(expected);
    await expect(store.search({ tenant, collection: 'docs', text: 'puffins', mode: 'keyword', k: 3 })).rejects.toMatchObject(expected);
    await expect(store.deleteDocument(tenant, 'doc-1')).rejects.toMatchObject(expected);
    double.clearFault();
    await store.upsert([makeChunk({ id: 'f1', tenant })]);
    expect(await store.count(tenant)).toBe(1);
  });
});

describe('The service on a distributed Qdrant', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      QDRANT_URL: double.url,
      QDRANT_SHARD_NUMBER: '3',
      QDRANT_REPLICATION_FACTOR: '2',
      QDRANT_WRITE_CONSISTENCY_FACTOR: '2',
      QDRANT_READ_CONSISTENCY: 'quorum',
      // Room for the retries while a test holds the fault: exponential from 200 ms (test-server's JOB_BACKOFF_MS).
      JOB_ATTEMPTS: '8',
    });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  const ingest = async (text: string) => {
    const created = await server.request('POST', '/documents', { text });
    expect(created.status).toBe(202);
    return created.body.id as string;
  };

  it('When started from the environment, then the default index is created with the settings and writes and reads carry the consistency', async () => {
    const from = double.requests.length;
    const id = await ingest('Puffins nest on the cliffs of Runde.');
    expect((await waitForDocument(server, id)).status).toBe('ready');
    expect((await server.request('POST', '/search', { query: 'puffins Runde' })).body.results[0].documentId).toBe(id);
    expect(creation('ragmem_chunks')[0]?.body).toMatchObject({ shard_number: 3, replication_factor: 2, write_consistency_factor: 2 });
    const requests = sent(from, 'ragmem_chunks');
    expect(writes(requests).length).toBeGreaterThan(0);
    for (const w of writes(requests)) expect(w.query).toEqual({ wait: 'true', ordering: 'medium' });
    expect(reads(requests).length).toBeGreaterThan(0);
    for (const r of reads(requests)) expect(r.query).toEqual({ consistency: 'quorum' });
  });

  it('When a shard is unavailable, then a search answers 503 dependency_unavailable with Retry-After, and answers again once it is back', async () => {
    const id = await ingest('Gannets dive for mackerel off Bass Rock.');
    expect((await waitForDocument(server, id)).status).toBe('ready');
    double.setFault(SHARD_FAULTS.shardUnavailable);
    const refused = await server.request('POST', '/search', { query: 'gannets mackerel' });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({
      code: 'dependency_unavailable',
      message: expect.stringMatching(/Qdrant shard is temporarily unavailable/),
      details: { dependency: 'qdrant', reason: 'shard_unavailable' },
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The collection's metadata still answers: the process stays ready, so a load balancer keeps it (every replica would
    // fail the same way), and only the requests that need the shard fail.
    expect((await server.request('GET', '/readyz')).status).toBe(200);
    double.clearFault();
    const search = await server.request('POST', '/search', { query: 'gannets mackerel' });
    expect(search.status).toBe(200);
    expect(search.body.results[0].documentId).toBe(id);
  });

  it('When a shard is unavailable during ingestion, then the job retries and the document ends ready once the shard is back', async () => {
    double.setFault(SHARD_FAULTS.notEnoughReplicas);
    const from = double.requests.length;
    const id = await ingest('Kittiwakes raise their chicks on narrow ledges.');
    // Condition, not a sleep: the worker's first attempt has reached Qdrant and been refused.
    await waitFor('a write refused by the unavailable shard', () =>
      double.requests.slice(from).find((r) => r.status === SHARD_FAULTS.notEnoughReplicas.status) ? true : undefined,
    );
    expect((await server.request('GET', `/documents/${id}`)).body.status).not.toBe('ready');
    double.clearFault();
    const doc = await waitForDocument(server, id);
    expect(doc.status).toBe('ready');
    const queue = server.services.producer.queue;
    const job = await waitFor('the ingest job to complete', async () => {
      const found = await queue.getJob(ingestJobId(id, 1));
      return found && (await found.getState()) === 'completed' ? found : undefined;
    });
    expect(job.attemptsMade).toBeGreaterThanOrEqual(2);
    const search = await server.request('POST', '/search', { query: 'kittiwakes ledges' });
    expect(search.body.results[0].documentId).toBe(id);
  });
});

describe('Request validity', () => {
  // Declared last: nothing the store or the service sent above was refused by the OpenAPI check (faults are not refusals).
  test('When the suite has run, then the double rejected none of the requests', () => {
    expect(double.requests.length).toBeGreaterThan(0);
    expect(double.rejected).toEqual([]);
  });
});
