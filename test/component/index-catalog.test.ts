import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { IndexCatalog } from '../../src/indexes/index-catalog';
import type { IndexSpec } from '../../src/indexes/index-spec';

/** The routing of collections to indexes, on a real Redis: the switch and its guards are Lua scripts. */
const prefix = `t${randomBytes(5).toString('hex')}`;
const DEFAULT: IndexSpec = {
  name: 'chunks',
  embeddingModel: 'offline-hash-v1',
  dimensions: 384,
  chunking: { chunkSize: 512, chunkOverlap: 64 },
};
const spec = (name: string, dimensions = 256): IndexSpec => ({
  name,
  embeddingModel: `offline-hash-v1-${dimensions}`,
  dimensions,
  chunking: { chunkSize: 128, chunkOverlap: 16 },
});
let redis: Redis;
let catalog: IndexCatalog;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
  catalog = new IndexCatalog(redis, prefix, DEFAULT);
});
afterAll(async () => {
  await redis?.quit();
});

let n = 0;
const tenant = () => `tenant-${++n}`;

describe('IndexCatalog', () => {
  test('When nothing was reindexed, then every collection is served by the default index and has no build', async () => {
    const t = tenant();
    expect(await catalog.route(t, 'docs')).toEqual(DEFAULT);
    expect(await catalog.writeTargets(t, 'docs')).toEqual({ live: DEFAULT });
  });

  test('When a build runs, then writes target both indexes, a second build is refused, and the switch swaps the route', async () => {
    const t = tenant();
    const build = { jobId: 'job-1', spec: spec('chunks_rjob1') };
    expect(await catalog.startBuild(t, 'docs', build)).toBe(true);
    expect(await catalog.startBuild(t, 'docs', { jobId: 'job-2', spec: spec('chunks_rjob2') })).toBe(false);
    expect(await catalog.writeTargets(t, 'docs')).toEqual({ live: DEFAULT, build });
    // Another collection and another tenant are untouched.
    expect(await catalog.writeTargets(t, 'other')).toEqual({ live: DEFAULT });
    expect(await catalog.writeTargets(tenant(), 'docs')).toEqual({ live: DEFAULT });

    expect(await catalog.switchTo(t, 'docs', 'job-2')).toBeUndefined(); // not the owner
    expect(await catalog.switchTo(t, 'docs', 'job-1')).toEqual(DEFAULT);
    expect(await catalog.route(t, 'docs')).toEqual(build.spec);
    expect(await catalog.build(t, 'docs')).toBeUndefined();
    expect(await catalog.previousOf(t, 'docs', 'job-1')).toEqual(DEFAULT);
    expect(await catalog.switchTo(t, 'docs', 'job-1')).toBeUndefined(); // once only

    // The next rebuild switches away from the dedicated index, which is then the one to drop.
    expect(await catalog.startBuild(t, 'docs', { jobId: 'job-3', spec: spec('chunks_rjob3', 128) })).toBe(true);
    expect(await catalog.switchTo(t, 'docs', 'job-3')).toEqual(build.spec);
  });

  test('When a build is abandoned, then it can no longer switch, and only its owner can abandon it', async () => {
    const t = tenant();
    expect(await catalog.startBuild(t, 'docs', { jobId: 'job-a', spec: spec('chunks_rjoba') })).toBe(true);
    expect(await catalog.abandonBuild(t, 'docs', 'someone-else')).toBe(false);
    expect(await catalog.abandonBuild(t, 'docs', 'job-a')).toBe(true);
    expect(await catalog.switchTo(t, 'docs', 'job-a')).toBeUndefined();
    expect(await catalog.route(t, 'docs')).toEqual(DEFAULT);
    expect(await catalog.startBuild(t, 'docs', { jobId: 'job-b', spec: spec('chunks_rjobb') })).toBe(true);
  });

  test('When documents are marked built, then versions read back by page, scan in full, and forget clears them', async () => {
    const t = tenant();
    const ids = Array.from({ length: 250 }, (_, i) => `doc-${i}`);
    for (const [i, id] of ids.entries()) await catalog.markBuilt(t, 'docs', 'job-x', id, 1 + (i % 3));
    expect(await catalog.builtVersionsOf(t, 'docs', 'job-x', ['doc-0', 'doc-1', 'missing', 'doc-5'])).toEqual([1, 2, undefined, 3]);
    expect(await catalog.builtCount(t, 'docs', 'job-x')).toBe(250);
    const scanned: string[] = [];
    for await (const page of catalog.scanBuilt(t, 'docs', 'job-x', 100)) scanned.push(...page);
    expect(new Set(scanned)).toEqual(new Set(ids));
    await catalog.unmarkBuilt(t, 'docs', 'job-x', 'doc-0');
    expect(await catalog.builtCount(t, 'docs', 'job-x')).toBe(249);
    await catalog.forgetBuilt(t, 'docs', 'job-x');
    expect(await catalog.builtCount(t, 'docs', 'job-x')).toBe(0);
  });
});
