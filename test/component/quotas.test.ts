import fs from 'node:fs/promises';
import path from 'node:path';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { connectTestRedis, keysMatching } from '../support/test-redis';

/** Per-tenant quotas on documents, bytes and reindex jobs, through HTTP, counted exactly in Redis scripts. */
const A = { authorization: 'Bearer ka' };
const B = { authorization: 'Bearer kb' };
const KEYS = 'ka=alpha,kb=beta,kc=gamma';

/** Every file the source store holds for a tenant (what a refused upload must not leave behind). */
/** Sources of bulk uploads still waiting in Redis for a worker (see SourceInbox). */
const inboxKeys = (server: TestServer) => keysMatching(server.services.redis, `${server.services.config.redisPrefix}:*:srcinbox:*`);

async function sourceFiles(server: TestServer, tenant: string): Promise<string[]> {
  const root = path.join(server.dataDir, 'sources', tenant);
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

const text = (n: number, fill = 'x') => `Note ${n}: ${fill.repeat(40)}`;

describe('When a tenant reaches TENANT_MAX_DOCUMENTS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ API_KEYS: KEYS, TENANT_MAX_DOCUMENTS: '3' });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('then the next new document answers 403 quota_exceeded, while duplicates, other tenants and room made by a delete still work', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await server.request('POST', '/documents', { text: text(i) }, A);
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    const refused = await server.request('POST', '/documents', { text: text(3) }, A);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'documents', limit: 3, used: 3 } });
    expect(refused.body.error.message).toMatch(/TENANT_MAX_DOCUMENTS/);
    // Nothing was stored for it: the sources on disk are the three accepted documents' only.
    expect(await sourceFiles(server, 'alpha')).toHaveLength(3);
    // The same content again is no new document: answered as the duplicate it is.
    expect(await server.request('POST', '/documents', { text: text(0) }, A)).toMatchObject({
      status: 200,
      body: { id: ids[0], duplicate: true },
    });
    // Another tenant has a quota of its own.
    expect((await server.request('POST', '/documents', { text: text(0) }, B)).status).toBe(202);
    // A delete makes room.
    await waitForDocument(server, ids[0], A);
    expect((await server.request('DELETE', `/documents/${ids[0]}`, undefined, A)).status).toBe(204);
    expect((await server.request('POST', '/documents', { text: text(3) }, A)).status).toBe(202);
  });

  it('then concurrent uploads racing for the last places (through two replicas) get exactly the quota', async () => {
    const second = await startTestServer({
      API_KEYS: KEYS,
      TENANT_MAX_DOCUMENTS: '3',
      REDIS_PREFIX: server.services.config.redisPrefix,
      RUN_WORKERS: 'off',
    });
    try {
      const C = { authorization: 'Bearer kc' };
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? server : second).request('POST', '/documents', { text: text(i, 'y') }, C)),
      );
      expect(answers.filter((r) => r.status === 202)).toHaveLength(3);
      expect(answers.filter((r) => r.status === 403).every((r) => r.body.error.code === 'quota_exceeded')).toBe(true);
      expect(answers.filter((r) => r.status === 403)).toHaveLength(9);
      expect((await second.request('GET', '/documents?limit=50', undefined, C)).body.documents).toHaveLength(3);
    } finally {
      await second.cleanup();
    }
  });

  it('then a bulk request that passes the quota answers 403, and the documents recorded before it are still processed', async () => {
    const fresh = await startTestServer({ API_KEYS: 'kd=delta', TENANT_MAX_DOCUMENTS: '5' });
    try {
      const D = { authorization: 'Bearer kd' };
      const documents = Array.from({ length: 8 }, (_, i) => ({ text: text(i, 'z') }));
      const refused = await fresh.request('POST', '/documents/bulk', { documents }, D);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'documents', limit: 5 } });
      const listed = (await fresh.request('GET', '/documents?limit=50', undefined, D)).body.documents as Array<{
        id: string;
        title: string;
      }>;
      expect(listed).toHaveLength(5);
      for (const doc of listed) expect((await waitForDocument(fresh, doc.id, D)).status).toBe('ready');
      // The refused documents' sources were removed again; nothing is left waiting in the inbox.
      expect(await sourceFiles(fresh, 'delta')).toHaveLength(5);
      expect(await inboxKeys(fresh)).toEqual([]);
      // Sent again: the five are duplicates, and the sixth is refused again.
      expect((await fresh.request('POST', '/documents/bulk', { documents }, D)).status).toBe(403);
      // The five it holds (their titles are their texts) are answered as duplicates, with the ids they were given.
      const again = await fresh.request('POST', '/documents/bulk', { documents: listed.map((d) => ({ text: d.title })) }, D);
      expect(again.body.documents).toEqual(listed.map((d) => ({ id: d.id, status: 'ready', duplicate: true })));
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('When two replicas take the last slots of a quota with bulk requests at once', () => {
  it('then exactly the quota is recorded: one request gets all its documents, the other the rest and a 403', async () => {
    const first = await startTestServer({ API_KEYS: 'ke=echo', TENANT_MAX_DOCUMENTS: '10' });
    const second = await startTestServer({
      API_KEYS: 'ke=echo',
      TENANT_MAX_DOCUMENTS: '10',
      REDIS_PREFIX: first.services.config.redisPrefix,
      RUN_WORKERS: 'off',
    });
    try {
      const E = { authorization: 'Bearer ke' };
      const batch = (tag: string) => ({ documents: Array.from({ length: 8 }, (_, i) => ({ text: text(i, tag) })) });
      const answers = await Promise.all([
        first.request('POST', '/documents/bulk', batch('p'), E),
        second.request('POST', '/documents/bulk', batch('q'), E),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([202, 403]);
      expect(answers.find((a) => a.status === 403)!.body.error.details).toMatchObject({ quota: 'documents', limit: 10, used: 10 });
      expect((await first.request('GET', '/usage', undefined, E)).body.storage).toMatchObject({ documents: 10 });
      expect((await first.request('GET', '/documents?limit=50', undefined, E)).body.documents).toHaveLength(10);
    } finally {
      await second.cleanup();
      await first.cleanup();
    }
  });
});

describe('When a bulk request passes TENANT_MAX_BYTES', () => {
  it('then the documents that fit are recorded in order, and the first that does not is refused with its size', async () => {
    const fresh = await startTestServer({ API_KEYS: 'kf=foxtrot', TENANT_MAX_BYTES: '250' });
    try {
      const F = { authorization: 'Bearer kf' };
      const documents = ['a', 'b', 'c', 'd'].map((letter) => ({ text: letter.repeat(100) }));
      const refused = await fresh.request('POST', '/documents/bulk', { documents }, F);
      expect(refused.status).toBe(403);
      expect(refused.body.error.details).toEqual({ quota: 'bytes', limit: 250, used: 200, requested: 100 });
      const titles = ((await fresh.request('GET', '/documents?limit=50', undefined, F)).body.documents as Array<{ title: string }>)
        .map((d) => d.title[0])
        .sort();
      expect(titles).toEqual(['a', 'b']);
      // Small sources wait in Redis until a worker writes them: the two recorded ones, never the refused ones.
      expect(await inboxKeys(fresh)).toHaveLength(2);
      const listed = (await fresh.request('GET', '/documents?limit=50', undefined, F)).body.documents as Array<{ id: string }>;
      for (const doc of listed) expect((await waitForDocument(fresh, doc.id, F)).status).toBe('ready');
      expect(await sourceFiles(fresh, 'foxtrot')).toHaveLength(2);
      expect(await inboxKeys(fresh)).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('When a tenant reaches TENANT_MAX_BYTES', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ API_KEYS: KEYS, TENANT_MAX_BYTES: '1000' });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('then a document that would pass it is refused with its size, exactly at the limit is allowed, and a delete gives the bytes back', async () => {
    const first = await server.request('POST', '/documents', { text: 'a'.repeat(600) }, A);
    expect(first.status).toBe(202);
    const over = await server.request('POST', '/documents', { text: 'b'.repeat(401) }, A);
    expect(over.status).toBe(403);
    expect(over.body.error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'bytes', limit: 1000, used: 600, requested: 401 } });
    const exact = await server.request('POST', '/documents', { text: 'c'.repeat(400) }, A);
    expect(exact.status).toBe(202);
    expect((await server.request('POST', '/documents', { text: 'd' }, A)).status).toBe(403);
    expect((await server.request('POST', '/documents', { text: 'd'.repeat(1000) }, B)).status).toBe(202);
    // GET /usage shows what the tenant holds against its quotas.
    const storage = async (headers: Record<string, string>) => (await server.request('GET', '/usage', undefined, headers)).body.storage;
    expect(await storage(A)).toEqual({
      documents: 2,
      bytes: 1000,
      reindexJobs: 0,
      quotas: { documents: 1_000_000, bytes: 1000, reindexJobs: 2 },
    });
    await waitForDocument(server, first.body.id, A);
    expect((await server.request('DELETE', `/documents/${first.body.id}`, undefined, A)).status).toBe(204);
    expect(await storage(A)).toMatchObject({ documents: 1, bytes: 400 });
    expect((await server.request('POST', '/documents', { text: 'e'.repeat(600) }, A)).status).toBe(202);
    expect(await storage(A)).toMatchObject({ documents: 2, bytes: 1000 });
    expect(await storage(B)).toMatchObject({ documents: 1, bytes: 1000 });
  });

  it('then a new version that grows past it is refused and the old version keeps serving', async () => {
    const fresh = await startTestServer({ API_KEYS: 'kd=delta', TENANT_MAX_BYTES: '1000' });
    try {
      const D = { authorization: 'Bearer kd' };
      const v1 = await fresh.request(
        'POST',
        '/documents',
        { text: 'Herons stand still in the shallows. '.repeat(10), externalId: 'heron' },
        D,
      );
      expect((await waitForDocument(fresh, v1.body.id, D)).status).toBe('ready');
      const grown = await fresh.request('POST', '/documents', { text: 'Herons stand very still. '.repeat(60), externalId: 'heron' }, D);
      expect(grown.status).toBe(403);
      expect(grown.body.error.details).toMatchObject({ quota: 'bytes', limit: 1000 });
      const doc = (await fresh.request('GET', `/documents/${v1.body.id}`, undefined, D)).body;
      expect(doc).toMatchObject({ status: 'ready', bytes: 360 });
      expect(await sourceFiles(fresh, 'delta')).toHaveLength(1);
      const hits = await fresh.request('POST', '/search', { query: 'herons shallows' }, D);
      expect(hits.body.results[0].documentId).toBe(v1.body.id);
      // A smaller new version fits, and the total follows it down.
      const shrunk = await fresh.request('POST', '/documents', { text: 'Herons.', externalId: 'heron' }, D);
      expect(shrunk.status).toBe(202);
      expect((await fresh.request('POST', '/documents', { text: 'f'.repeat(993) }, D)).status).toBe(202);
    } finally {
      await fresh.cleanup();
    }
  });

  it('then documents stored before the quota existed are counted from their records', async () => {
    const prefix = server.services.config.redisPrefix;
    const redis = connectTestRedis();
    try {
      const fresh = await startTestServer({ API_KEYS: 'ke=epsilon', REDIS_PREFIX: `${prefix}x`, RUN_WORKERS: 'off' });
      try {
        const E = { authorization: 'Bearer ke' };
        expect((await fresh.request('POST', '/documents', { text: 'g'.repeat(700) }, E)).status).toBe(202);
        // As a deployment from before the byte counter would look: the records, no counter.
        expect(await redis.del(`${prefix}x:{epsilon}:usage:bytes`)).toBe(1);
      } finally {
        await fresh.cleanup();
      }
      const limited = await startTestServer({
        API_KEYS: 'ke=epsilon',
        REDIS_PREFIX: `${prefix}x`,
        TENANT_MAX_BYTES: '1000',
        RUN_WORKERS: 'off',
      });
      try {
        const E = { authorization: 'Bearer ke' };
        expect((await limited.request('POST', '/documents', { text: 'h'.repeat(301) }, E)).body.error).toMatchObject({
          details: { used: 700 },
        });
        expect((await limited.request('POST', '/documents', { text: 'h'.repeat(300) }, E)).status).toBe(202);
      } finally {
        await limited.cleanup();
      }
    } finally {
      redis.disconnect();
    }
  });
});

describe('When a tenant reaches TENANT_MAX_REINDEX_JOBS', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No workers: the jobs stay queued, each holding its place.
    server = await startTestServer({ API_KEYS: KEYS, TENANT_MAX_REINDEX_JOBS: '1', RUN_WORKERS: 'off' });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('then another reindex answers 403 until the running one ends, and other tenants are not held back', async () => {
    const first = await server.request('POST', '/reindex', { collection: 'one' }, A);
    expect(first.status).toBe(202);
    expect((await server.request('GET', '/usage', undefined, A)).body.storage).toMatchObject({
      reindexJobs: 1,
      quotas: { reindexJobs: 1 },
    });
    const refused = await server.request('POST', '/reindex', { collection: 'two' }, A);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'reindex_jobs', limit: 1, used: 1 } });
    expect((await server.request('POST', '/reindex', { collection: 'two' }, B)).status).toBe(202);
    expect((await server.request('DELETE', `/reindex/${first.body.jobId}`, undefined, A)).status).toBe(200);
    expect((await server.request('POST', '/reindex', { collection: 'two' }, A)).status).toBe(202);
  });

  it('then a place held by a job whose record is gone (a process died between two writes) is given back', async () => {
    const redis = connectTestRedis();
    try {
      const prefix = server.services.config.redisPrefix;
      const fresh = await startTestServer({
        API_KEYS: 'kf=zeta',
        TENANT_MAX_REINDEX_JOBS: '1',
        REDIS_PREFIX: `${prefix}r`,
        RUN_WORKERS: 'off',
      });
      try {
        await redis.sadd(`${prefix}r:reindexes-active:zeta`, 'ghostjob0000000a');
        expect((await fresh.request('POST', '/reindex', { collection: 'one' }, { authorization: 'Bearer kf' })).status).toBe(202);
        expect(await redis.sismember(`${prefix}r:reindexes-active:zeta`, 'ghostjob0000000a')).toBe(0);
      } finally {
        await fresh.cleanup();
      }
    } finally {
      redis.disconnect();
    }
  });
});
