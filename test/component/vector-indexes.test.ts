import { randomBytes } from 'node:crypto';
import { VectorIndexes } from '../../src/indexes/vector-indexes';
import type { IndexSpec } from '../../src/indexes/index-spec';
import { waitFor } from '../support/wait-for';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Which index stores a process keeps open as collections are reindexed: real Redis routes and real LanceDB tables.
 * The switch and the abandon are driven through the catalog, as the reindex worker drives them.
 */
let server: TestServer;
let indexes: VectorIndexes;
const RETIRE_MS = 100;
beforeAll(async () => {
  server = await startTestServer();
  indexes = new VectorIndexes({ ...server.services.indexes.options, retireAfterMs: RETIRE_MS });
});
afterAll(async () => {
  await indexes?.close();
  await server?.cleanup();
});

const tenant = `vi-${randomBytes(5).toString('hex')}`;
const spec = (name: string): IndexSpec => ({
  name,
  embeddingModel: 'offline-hash-v1-64',
  dimensions: 64,
  chunking: { chunkSize: 64, chunkOverlap: 0 },
});
const isClosed = (p: Promise<unknown>) =>
  p.then(
    () => false,
    (err: Error) => /closed/.test(err.message),
  );

describe('When a collection is reindexed twice in a long-running process', () => {
  it('then the index it left is closed after the retire delay, and the default and the serving index stay open', async () => {
    const catalog = indexes.catalog;
    const first = { jobId: `j1${randomBytes(3).toString('hex')}`, spec: spec(`chunks_r${randomBytes(4).toString('hex')}`) };
    expect(await catalog.startBuild(tenant, 'docs', first)).toBe(true);
    expect((await indexes.writeTargets(tenant, 'docs')).build?.spec.name).toBe(first.spec.name);
    expect(await catalog.switchTo(tenant, 'docs', first.jobId)).toBeDefined();
    expect((await indexes.live(tenant, 'docs')).spec.name).toBe(first.spec.name);

    const second = { jobId: `j2${randomBytes(3).toString('hex')}`, spec: spec(`chunks_r${randomBytes(4).toString('hex')}`) };
    expect(await catalog.startBuild(tenant, 'docs', second)).toBe(true);
    await indexes.writeTargets(tenant, 'docs');
    const firstStore = indexes.resolve(first.spec).store;
    expect(await isClosed(firstStore.count(tenant, {}))).toBe(false);
    expect(await catalog.switchTo(tenant, 'docs', second.jobId)).toBeDefined();
    expect((await indexes.live(tenant, 'docs')).spec.name).toBe(second.spec.name);

    await waitFor('the first rebuilt index to be closed', () => (indexes.openIndexes().includes(first.spec.name) ? undefined : true));
    expect(await isClosed(firstStore.count(tenant, {}))).toBe(true);
    expect(indexes.openIndexes()).toEqual(expect.arrayContaining([catalog.default.name, second.spec.name]));
    expect(await isClosed((await indexes.live(tenant, 'docs')).store.count(tenant, {}))).toBe(false);
    // The reindex worker drops it later: a retired index can still be dropped (its store opens again for that).
    await expect(indexes.drop(first.spec)).resolves.toBeUndefined();
  });

  it('then an abandoned build’s index is closed once this process sees it gone, and another collection’s build is kept', async () => {
    const catalog = indexes.catalog;
    const abandoned = { jobId: `j3${randomBytes(3).toString('hex')}`, spec: spec(`chunks_r${randomBytes(4).toString('hex')}`) };
    const kept = { jobId: `j4${randomBytes(3).toString('hex')}`, spec: spec(`chunks_r${randomBytes(4).toString('hex')}`) };
    expect(await catalog.startBuild(tenant, 'notes', abandoned)).toBe(true);
    expect(await catalog.startBuild(tenant, 'manuals', kept)).toBe(true);
    expect((await indexes.writeTargets(tenant, 'notes')).build?.spec.name).toBe(abandoned.spec.name);
    expect((await indexes.writeTargets(tenant, 'manuals')).build?.spec.name).toBe(kept.spec.name);
    // A search meanwhile reads the serving index: the builds stay open, and none is even due to be closed.
    expect((await indexes.live(tenant, 'notes')).spec.name).toBe(catalog.default.name);
    expect(indexes.retiringIndexes()).not.toEqual(expect.arrayContaining([abandoned.spec.name]));
    expect(indexes.retiringIndexes()).not.toEqual(expect.arrayContaining([kept.spec.name]));
    expect(indexes.openIndexes()).toEqual(expect.arrayContaining([abandoned.spec.name, kept.spec.name]));

    // Once abandoned, the next search here (no write needed) lets the build's index go.
    expect(await catalog.abandonBuild(tenant, 'notes', abandoned.jobId)).toBe(true);
    await indexes.live(tenant, 'notes');
    await waitFor('the abandoned build’s index to be closed', () =>
      indexes.openIndexes().includes(abandoned.spec.name) ? undefined : true,
    );
    expect(indexes.openIndexes()).toContain(kept.spec.name);
  });

  it('then an index another collection still routes to stays open when one collection leaves it', async () => {
    const catalog = indexes.catalog;
    const shared = spec(`chunks_r${randomBytes(4).toString('hex')}`);
    for (const collection of ['left', 'stays']) {
      const jobId = `j${collection}${randomBytes(3).toString('hex')}`;
      expect(await catalog.startBuild(tenant, collection, { jobId, spec: shared })).toBe(true);
      expect(await catalog.switchTo(tenant, collection, jobId)).toBeDefined();
      expect((await indexes.live(tenant, collection)).spec.name).toBe(shared.name);
    }
    const moved = { jobId: `jm${randomBytes(3).toString('hex')}`, spec: spec(`chunks_r${randomBytes(4).toString('hex')}`) };
    expect(await catalog.startBuild(tenant, 'left', moved)).toBe(true);
    expect(await catalog.switchTo(tenant, 'left', moved.jobId)).toBeDefined();
    expect((await indexes.live(tenant, 'left')).spec.name).toBe(moved.spec.name);
    // Its retire delay runs out, and the check finds 'stays' still routed there.
    expect(indexes.retiringIndexes()).toContain(shared.name);
    await waitFor('the shared index’s retire check', () => (indexes.retiringIndexes().includes(shared.name) ? undefined : true));
    expect(indexes.openIndexes()).toContain(shared.name);
    expect(await isClosed((await indexes.live(tenant, 'stays')).store.count(tenant, {}))).toBe(false);
  });

  it('then an index a rebuild holds stays open while every route moves on, and is closed once the rebuild lets go', async () => {
    const catalog = indexes.catalog;
    const build = { jobId: `j5${randomBytes(3).toString('hex')}`, spec: spec(`chunks_r${randomBytes(4).toString('hex')}`) };
    expect(await catalog.startBuild(tenant, 'held', build)).toBe(true);
    await indexes.writeTargets(tenant, 'held');
    await indexes.holding(build.spec, async (target) => {
      // Cancelled meanwhile, and this process has seen it (the rebuild notices at its next check).
      expect(await catalog.abandonBuild(tenant, 'held', build.jobId)).toBe(true);
      await indexes.live(tenant, 'held');
      // Its retire delay runs out while the rebuild holds it: the check keeps it.
      expect(indexes.retiringIndexes()).toContain(build.spec.name);
      await waitFor('the held index’s retire check', () => (indexes.retiringIndexes().includes(build.spec.name) ? undefined : true));
      expect(await isClosed(target.store.count(tenant, {}))).toBe(false);
    });
    await waitFor('the released index to be closed', () => (indexes.openIndexes().includes(build.spec.name) ? undefined : true));
  });

  it('then /metrics shows how many indexes the service process holds open', async () => {
    const metrics = await server.request('GET', '/metrics');
    expect(metrics.body).toMatch(new RegExp(`\\nragmem_vector_indexes_open ${server.services.indexes.openIndexes().length}\\n`));
  });
});
