import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionedLanceDbStore } from '../../src/stores/vector/lancedb-partitions';
import { partitionTableName } from '../../src/stores/vector/tenant-partitioned-store';
import { waitFor } from '../support/wait-for';
import { LanceDbVectorStore, type LanceDbVectorStoreOptions } from '../../src/stores/vector/lancedb-store';
import { CONTRACT_DIMENSIONS, e, makeChunk, uniqueTenant, vectorStoreContract } from '../support/vector-store-contract';

const MODEL = 'contract-embedder-v1';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ragmem-lancedb-'));
}

function storeAt(dir: string, overrides: Partial<LanceDbVectorStoreOptions> = {}): LanceDbVectorStore {
  return new LanceDbVectorStore({ dir, dimensions: CONTRACT_DIMENSIONS, embeddingModel: MODEL, ...overrides });
}

// A single table: what an index created before partitioning keeps serving from (and what each partition is).
vectorStoreContract('LanceDbVectorStore', async () => {
  const dir = await tempDir();
  return {
    store: storeAt(dir),
    reopen: async () => storeAt(dir),
    sharedKeywordStatistics: true,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

// What the service runs: one table per tenant.
const partitionedAt = (dir: string) =>
  partitionedLanceDbStore({ dir, tableName: 'chunks', dimensions: CONTRACT_DIMENSIONS, embeddingModel: MODEL });
vectorStoreContract('LanceDB partitioned by tenant', async () => {
  const dir = await tempDir();
  return {
    store: partitionedAt(dir),
    reopen: async () => partitionedAt(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('LanceDbVectorStore (LanceDB specifics)', () => {
  let dir: string;
  const stores: LanceDbVectorStore[] = [];
  const open = (overrides: Partial<LanceDbVectorStoreOptions> = {}) => {
    const store = storeAt(dir, overrides);
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('When reopened with another dimension or model, then init throws embedding_mismatch and the data is untouched', async () => {
    const tenant = uniqueTenant('mismatch');
    const first = open();
    await first.upsert([makeChunk({ id: 'm1', tenant })]);
    await first.close();

    await expect(open({ dimensions: 16 }).init()).rejects.toMatchObject({ code: 'embedding_mismatch', retryable: false });
    await expect(open({ embeddingModel: 'another-model' }).init()).rejects.toMatchObject({
      code: 'embedding_mismatch',
      message: expect.stringContaining('another-model'),
    });
    // A store that tried to open the wrong table must not be usable either.
    await expect(open({ dimensions: 16 }).count(tenant)).rejects.toMatchObject({ code: 'embedding_mismatch' });

    const same = open();
    await same.init();
    expect(await same.count(tenant)).toBe(1);
  });

  test('When a different tableName is used, then it holds its own embedding settings', async () => {
    await open().init();
    const other = open({ tableName: 'chunks_v2', dimensions: 16, embeddingModel: 'bigger-model' });
    await expect(other.init()).resolves.toBeUndefined();
  });

  test('When several stores init the same new directory at once, then all succeed and share one table', async () => {
    // The race is narrow (a few percent of rounds without the create lock), so run it in several fresh directories.
    for (let round = 0; round < 12; round++) {
      const roundDir = join(dir, `round-${round}`);
      const [a, b, c] = [0, 1, 2].map(() => {
        const store = storeAt(roundDir);
        stores.push(store);
        return store;
      });
      await Promise.all([a.init(), b.init(), c.init()]);
      const tenant = uniqueTenant('shared');
      await a.upsert([makeChunk({ id: 's1', tenant, text: 'concurrent init works' })]);
      // Reads check for newer versions written by other handles (readConsistencySeconds 0).
      expect(await b.count(tenant)).toBe(1);
      expect((await c.search({ tenant, collection: 'docs', text: 'concurrent', mode: 'keyword', k: 1 })).map((h) => h.chunk.id)).toEqual([
        's1',
      ]);
    }
  });

  test('When many upserts run at once (with compactions in between), then no row is lost or duplicated', async () => {
    const store = open({ optimizeAfterWrites: 4 });
    const tenant = uniqueTenant('concurrent');
    const batch = (b: number) =>
      Array.from({ length: 10 }, (_, i) =>
        makeChunk({ id: `b${b}-c${i}`, tenant, documentId: `doc-${b}`, chunkIndex: i, text: `batch ${b} row ${i}`, vector: e(i % 8) }),
      );
    // 20 distinct batches plus 10 repeats of earlier ones (a retried job), all started together.
    await Promise.all([
      ...Array.from({ length: 20 }, (_, b) => store.upsert(batch(b))),
      ...Array.from({ length: 10 }, (_, b) => store.upsert(batch(b))),
    ]);
    expect(await store.count(tenant)).toBe(200);
    expect((await store.listChunks(tenant, 'doc-7', 1, 0, 100)).map((c) => c.chunkIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('When two stores on one directory upsert at once, then both writes land', async () => {
    const [a, b] = [open(), open()];
    await Promise.all([a.init(), b.init()]);
    const tenant = uniqueTenant('two-writers');
    const rows = (prefix: string) => Array.from({ length: 5 }, (_, i) => makeChunk({ id: `${prefix}${i}`, tenant, chunkIndex: i }));
    await Promise.all([a.upsert(rows('a')), b.upsert(rows('b')), a.upsert(rows('a')), b.upsert(rows('c'))]);
    expect(await a.count(tenant)).toBe(15);
  });

  test('When chunks were just upserted, then keyword search ranks them by BM25 at once, repeated terms included', async () => {
    // LanceDB's own scan of unindexed rows drops chunks that repeat the query term; the store indexes before searching.
    const store = open({ optimizeIdleMs: 0 });
    const tenant = uniqueTenant('fresh');
    await store.upsert([
      makeChunk({ id: 'once', tenant, text: 'a quokka near the harbour wall' }),
      makeChunk({ id: 'thrice', tenant, chunkIndex: 1, text: 'quokka quokka quokka' }),
      makeChunk({ id: 'none', tenant, chunkIndex: 2, text: 'harbour cranes at dusk' }),
    ]);
    expect((await store.search({ tenant, collection: 'docs', text: 'quokka', mode: 'keyword', k: 5 })).map((h) => h.chunk.id)).toEqual([
      'thrice',
      'once',
    ]);
    // And again after the index already exists, for rows written after it.
    await store.upsert([makeChunk({ id: 'later', tenant, chunkIndex: 3, text: 'wombat wombat burrow' })]);
    expect((await store.search({ tenant, collection: 'docs', text: 'wombat', mode: 'keyword', k: 1 })).map((h) => h.chunk.id)).toEqual([
      'later',
    ]);
  });

  test('When the index is too large to refresh on read, then new chunks are still found and the search leaves folding to the writer', async () => {
    const logs: string[] = [];
    const logger = {
      info: (_obj: object, msg?: string) => logs.push(msg ?? ''),
      warn: (_obj: object, msg?: string) => logs.push(`warn: ${msg}`),
    };
    const store = open({ optimizeIdleMs: 0, freshIndexMaxRows: 0, logger });
    const tenant = uniqueTenant('large');
    await store.upsert(
      Array.from({ length: 20 }, (_, i) => makeChunk({ id: `bulk-${i}`, tenant, chunkIndex: i, text: `routine log line ${i}` })),
    );
    await store.upsert([makeChunk({ id: 'needle', tenant, chunkIndex: 99, text: 'platypus spotted' })]);
    const hits = await store.search({ tenant, collection: 'docs', text: 'platypus', mode: 'keyword', k: 3 });
    expect(hits.map((h) => h.chunk.id)).toEqual(['needle']);
    await store.close(); // would wait for an optimize, had the search queued one
    expect(logs).toEqual([]);
  });

  test('When writes reach optimizeAfterWrites, then the table is optimized without a search asking for it', async () => {
    const logs: string[] = [];
    const logger = {
      info: (_obj: object, msg?: string) => logs.push(msg ?? ''),
      warn: (_obj: object, msg?: string) => logs.push(`warn: ${msg}`),
    };
    const store = open({ optimizeAfterWrites: 3, optimizeIdleMs: 0, logger });
    const tenant = uniqueTenant('threshold');
    for (let i = 0; i < 2; i++) await store.upsert([makeChunk({ id: `w${i}`, tenant, chunkIndex: i })]);
    expect(logs).toEqual([]);
    await store.upsert([makeChunk({ id: 'w2', tenant, chunkIndex: 2 })]);
    await store.count(tenant);
    await store.close();
    expect(logs).toEqual(['lancedb table optimized']);
  });

  test('When writes pause for optimizeIdleMs, then the writer folds them without a search asking for it', async () => {
    const logs: string[] = [];
    const logger = {
      info: (_obj: object, msg?: string) => logs.push(msg ?? ''),
      warn: (_obj: object, msg?: string) => logs.push(`warn: ${msg}`),
    };
    const store = open({ optimizeIdleMs: 100, logger });
    const tenant = uniqueTenant('idle-fold');
    await store.upsert([makeChunk({ id: 'i0', tenant, chunkIndex: 0 }), makeChunk({ id: 'i1', tenant, chunkIndex: 1 })]);
    await waitFor('the idle fold', () => (logs.includes('lancedb table optimized') ? true : undefined), 10_000);
    await store.close();
  });

  test('When writes fold the index themselves at a paced interval, then writes within one interval share one fold that covers them all', async () => {
    const logs: string[] = [];
    const logger = {
      info: (_obj: object, msg?: string) => logs.push(msg ?? ''),
      warn: (_obj: object, msg?: string) => logs.push(`warn: ${msg}`),
    };
    // Paced far beyond the first fold's duration: the next fold waits MAX_FOLD_PAUSE_MS (5 s).
    const store = open({ freshenOn: 'write', foldPacing: 1_000, optimizeIdleMs: 0, logger });
    const tenant = uniqueTenant('paced');
    // Nothing folded yet: the first write folds at once.
    await store.upsert([makeChunk({ id: 'first', tenant, text: 'quokka at the harbour' })]);
    expect(logs).toEqual(['lancedb table optimized']);
    // Two more writes, the second committed only after the first: unpaced, each would wait for a fold of its own.
    const second = store.upsert([makeChunk({ id: 'second', tenant, chunkIndex: 1, text: 'quokka quokka quokka' })]);
    await waitFor('the second write committed', async () => ((await store.count(tenant)) === 2 ? true : undefined), 10_000);
    const third = store.upsert([makeChunk({ id: 'third', tenant, chunkIndex: 2, text: 'quokka and wombat' })]);
    await Promise.all([second, third]);
    expect(logs).toEqual(['lancedb table optimized', 'lancedb table optimized']);
    // Folded, not scanned: BM25 ranks the row that repeats the term first (LanceDB's scan of unindexed rows drops it).
    const hits = await store.search({ tenant, collection: 'docs', text: 'quokka', mode: 'keyword', k: 3 });
    expect(hits.map((h) => h.chunk.id)[0]).toBe('second');
    expect(hits).toHaveLength(3);
  });

  test('When folds are paced, then the fold after a write pause waits its pace too, and onFold reports each fold', async () => {
    const folds: Array<{ endedAt: number; seconds: number }> = [];
    const pacing = 20;
    const store = open({ foldPacing: pacing, optimizeIdleMs: 10, onFold: (seconds) => folds.push({ endedAt: Date.now(), seconds }) });
    const tenant = uniqueTenant('paced-idle');
    await store.upsert([makeChunk({ id: 'p0', tenant })]);
    await waitFor('the first idle fold', () => (folds.length === 1 ? true : undefined), 10_000);
    await store.upsert([makeChunk({ id: 'p1', tenant, chunkIndex: 1 })]);
    await waitFor('the second idle fold', () => (folds.length === 2 ? true : undefined), 10_000);
    // Unpaced, the second fold would start 10 ms after the write; paced, no sooner than pacing x the first's duration
    // after the first ended (at most MAX_FOLD_PAUSE_MS, 5 s).
    const secondStarted = folds[1].endedAt - folds[1].seconds * 1000;
    expect(secondStarted - folds[0].endedAt).toBeGreaterThanOrEqual(Math.min(5000, pacing * folds[0].seconds * 1000) - 5);
    expect(folds[0].seconds).toBeGreaterThan(0);
    await store.close();
  });

  test('When a vector has the wrong size, then upsert and search reject it with invalid_request and nothing is written', async () => {
    const store = open();
    const tenant = uniqueTenant('dims');
    await expect(
      store.upsert([makeChunk({ id: 'ok', tenant }), makeChunk({ id: 'bad', tenant, vector: new Float32Array(3) })]),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await store.count(tenant)).toBe(0);
    await expect(
      store.search({ tenant, collection: 'docs', text: '', vector: new Float32Array(3), mode: 'dense', k: 1 }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(store.search({ tenant, collection: 'docs', text: 'x', mode: 'hybrid', k: 1 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  test('When the store is closed, then later calls reject instead of reopening', async () => {
    const store = open();
    await store.init();
    await store.close();
    await expect(store.count('t')).rejects.toThrow(/closed/);
    await expect(store.ping()).rejects.toThrow(/closed/);
  });
});

describe('LanceDB partitioned by tenant (specifics)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('When an index was created before partitioning (its shared table exists), then it keeps serving every tenant from that table and nothing is lost', async () => {
    const tenants = [uniqueTenant('old-a'), uniqueTenant('old-b')];
    const legacy = storeAt(dir, { tableName: 'chunks' });
    await legacy.upsert(tenants.map((tenant, i) => makeChunk({ id: `old-${i}`, tenant, text: 'basalt columns', vector: e(0) })));
    await legacy.close();

    const store = partitionedAt(dir);
    await store.init();
    try {
      for (const tenant of tenants) {
        expect(await store.count(tenant)).toBe(1);
        expect(
          (await store.search({ tenant, collection: 'docs', text: 'basalt', mode: 'keyword', k: 5 })).map((hit) => hit.chunk.tenant),
        ).toEqual([tenant]);
      }
      await store.upsert([makeChunk({ id: 'new-0', tenant: tenants[0], documentId: 'doc-2', vector: e(1) })]);
      expect(await store.count(tenants[0])).toBe(2);
    } finally {
      await store.close();
    }
    const reopened = storeAt(dir, { tableName: 'chunks' });
    expect(await reopened.count(tenants[0])).toBe(2);
    await reopened.close();
  });

  test('When a partition table is opened directly, then it takes and answers its own tenant only (its searches skip the tenant predicate)', async () => {
    const [owner, other] = [uniqueTenant('owner'), uniqueTenant('other')];
    const partition = storeAt(dir, { tableName: partitionTableName('chunks', owner), onlyTenant: owner });
    try {
      await partition.upsert([makeChunk({ id: 'mine', tenant: owner, text: 'granite quarry', vector: e(0) })]);
      await expect(partition.upsert([makeChunk({ id: 'theirs', tenant: other, text: 'granite', vector: e(0) })])).rejects.toMatchObject({
        code: 'internal_error',
        message: expect.stringMatching(/holds tenant .* rows only/),
      });
      expect(await partition.count(owner)).toBe(1);
      const search = (tenant: string) =>
        partition.search({ tenant, collection: 'docs', text: 'granite', vector: e(0), mode: 'hybrid', k: 5 });
      expect((await search(owner)).map((hit) => hit.chunk.id)).toEqual(['mine']);
      expect(await search(other)).toEqual([]);
      expect(await partition.searchPositions({ tenant: other, collection: 'docs', text: 'granite', mode: 'keyword', k: 5 })).toEqual([]);
    } finally {
      await partition.close();
    }
  });

  test('When a tenant has no table yet, then reads answer empty without creating one, and its first write creates it', async () => {
    const store = partitionedAt(dir);
    await store.init();
    const tenant = uniqueTenant('fresh');
    const tableDir = join(dir, `${partitionTableName('chunks', tenant)}.lance`);
    try {
      expect(await store.count(tenant)).toBe(0);
      expect(await store.search({ tenant, collection: 'docs', text: 'anything', vector: e(0), mode: 'hybrid', k: 5 })).toEqual([]);
      await store.deleteDocument(tenant, 'doc-1');
      await expect(stat(tableDir)).rejects.toMatchObject({ code: 'ENOENT' });
      await store.upsert([makeChunk({ id: 'f1', tenant })]);
      expect(await store.count(tenant)).toBe(1);
      await expect(stat(tableDir)).resolves.toBeDefined();
    } finally {
      await store.close();
    }
  });

  test('When a partition is idle past idleCloseMs, then it is closed and a later call reopens it with its data', async () => {
    const store = partitionedLanceDbStore({
      dir,
      tableName: 'chunks',
      dimensions: CONTRACT_DIMENSIONS,
      embeddingModel: MODEL,
      idleCloseMs: 20,
    });
    const tenant = uniqueTenant('idle');
    try {
      await store.upsert([makeChunk({ id: 'i1', tenant })]);
      await waitFor('the idle partition to close', () => (store.openPartitions() === 0 ? true : undefined), 10_000);
      expect(await store.count(tenant)).toBe(1);
    } finally {
      await store.close();
    }
  });

  test('When opened as another embedding model, then init throws embedding_mismatch', async () => {
    const store = partitionedAt(dir);
    await store.upsert([makeChunk({ id: 'x1', tenant: uniqueTenant('model') })]);
    await store.close();
    const other = partitionedLanceDbStore({ dir, tableName: 'chunks', dimensions: CONTRACT_DIMENSIONS, embeddingModel: 'another-model' });
    await expect(other.init()).rejects.toMatchObject({ code: 'embedding_mismatch' });
    await other.close();
  });
});
