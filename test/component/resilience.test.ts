import { startRedis, freePort, type ThrowawayRedis } from '../support/redis-server';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';

import { spawnEntry } from '../support/spawn-entry';
import { waitFor } from '../support/wait-for';

describe('When Redis is not reachable at startup', () => {
  it('then the process ends at once with one clear line naming REDIS_URL', async () => {
    const port = await freePort();
    const started = Date.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawnEntry('src/server.ts', { REDIS_URL: `redis://127.0.0.1:${port}`, DATA_DIR: '/tmp/ragmem-no-redis', PORT: '0' }, [
        'ignore',
        'ignore',
        'pipe',
      ]);
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      child.on('exit', (c) => resolve({ code: c, stderr: err }));
    });
    expect(code).toBe(1);
    // Not a speed figure: it gives up instead of retrying Redis (a retry loop would run for minutes). Starting the
    // sources through tsx alone takes several seconds on a loaded machine (16 s was seen with other work running).
    expect(Date.now() - started).toBeLessThan(45_000);
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`REDIS_URL=redis://127.0.0.1:${port}`);
    expect(lines[0]).toContain('redis-server');
  });
});

describe('When Redis goes away while the service runs', () => {
  let redis: ThrowawayRedis;
  let server: TestServer;
  beforeAll(async () => {
    redis = await startRedis();
    server = await startTestServer({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await redis.restart().catch(() => undefined);
    await server?.cleanup();
    await redis?.stop();
  });

  it('then readiness and the API answer 503 until it returns, and the process keeps serving', async () => {
    const created = await server.request('POST', '/documents', { text: 'Kestrels hover over the motorway verge.' });
    await waitForDocument(server, created.body.id);
    expect((await server.request('GET', '/readyz')).status).toBe(200);

    await redis.stop();
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis).toMatch(/unavailable/);
    const get = await server.request('GET', `/documents/${created.body.id}`);
    expect(get.status).toBe(503);
    expect(get.body.error.code).toBe('dependency_unavailable');
    expect(get.headers.get('retry-after')).toBe('2');
    const post = await server.request('POST', '/documents', { text: 'Written while Redis is down.' });
    expect(post.status).toBe(503);
    expect((await server.request('GET', '/healthz')).status).toBe(200);

    await redis.restart();
    await waitFor(
      'the service to be ready again',
      async () => ((await server.request('GET', '/readyz')).status === 200 ? true : undefined),
      20_000,
      100,
    );
    // This Redis keeps nothing on disk, so the store is empty again, but the service takes new work.
    const again = await server.request('POST', '/documents', { text: 'Back in business after the outage.' });
    expect(again.status).toBe(202);
    expect((await waitForDocument(server, again.body.id)).status).toBe('ready');
  });
});
