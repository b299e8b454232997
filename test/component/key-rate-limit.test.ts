import { randomBytes } from 'node:crypto';
import { RequestLimiter } from '../../src/tenancy/request-limiter';
import { startTestServer, type TestServer } from '../support/test-server';
import { connectTestRedis, keysMatching } from '../support/test-redis';
import type { RedisClient } from '../../src/infra/redis';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('When one API key sends more than KEY_RATE_LIMIT_RPS', () => {
  let server: TestServer;
  beforeAll(async () => {
    // 2 per second with bursts of 10: a burst of 40 at once is far past it, and refills add few during the test.
    server = await startTestServer({
      API_KEYS: 'a1=alpha,a2=alpha,b1=beta',
      KEY_RATE_LIMIT_RPS: '2',
      KEY_RATE_LIMIT_BURST: '10',
      RUN_WORKERS: 'off',
    });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('then its requests past the burst answer 429 too_many_requests with Retry-After, and other keys are untouched', async () => {
    const started = Date.now();
    const flood = await Promise.all(Array.from({ length: 40 }, () => server.request('GET', '/documents', undefined, bearer('a1'))));
    const elapsedS = (Date.now() - started) / 1000;
    const ok = flood.filter((r) => r.status === 200).length;
    // The burst, plus at most what refilled while the flood was answered.
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThanOrEqual(10 + Math.ceil(2 * elapsedS));
    const refused = flood.filter((r) => r.status !== 200);
    expect(refused.length).toBe(40 - ok);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.body.error.code).toBe('too_many_requests');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.body.error.details).toMatchObject({ limitPerSecond: 2, burst: 10 });
    }
    // Limits are per key: another key of the same tenant and another tenant's key each have their own bucket.
    for (const key of ['a2', 'b1']) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => server.request('GET', '/documents', undefined, bearer(key))));
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    }
  });

  it('then probes and a refused key are not counted against anyone: /healthz answers and a bad key still gets 401', async () => {
    for (let i = 0; i < 20; i++) expect((await server.request('GET', '/healthz')).status).toBe(200);
    expect((await server.request('GET', '/documents', undefined, bearer('nope'))).status).toBe(401);
  });
});

describe('RequestLimiter across replicas', () => {
  let a: RedisClient;
  let b: RedisClient;
  beforeAll(() => {
    a = connectTestRedis();
    b = connectTestRedis();
  });
  afterAll(async () => {
    await Promise.all([a.quit(), b.quit()]);
  });

  it('When two processes admit one key at once, then together they admit the burst and no more', async () => {
    const prefix = `t${randomBytes(5).toString('hex')}`;
    let t = Date.parse('2026-01-01T00:00:00Z');
    const now = () => t;
    const limit = { perSecond: 5, burst: 20 };
    const one = new RequestLimiter(a, prefix, limit, now);
    const two = new RequestLimiter(b, prefix, limit, now);
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => (i % 2 ? one : two).admit('key_x')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    const refusal = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
    expect(refusal).toMatchObject({ code: 'too_many_requests', status: 429, retryable: true, details: { retryAfterMs: 200 } });
    // One request refills every 200 ms.
    t += 200;
    await one.admit('key_x');
    await expect(two.admit('key_x')).rejects.toMatchObject({ code: 'too_many_requests' });
  });

  it('When the rate is 0, then the limiter is off and touches nothing', async () => {
    const prefix = `t${randomBytes(5).toString('hex')}`;
    const off = new RequestLimiter(a, prefix, { perSecond: 0, burst: 1 });
    expect(off.enabled).toBe(false);
    for (let i = 0; i < 50; i++) await off.admit('key_x');
    expect(await keysMatching(a, `${prefix}:*`)).toEqual([]);
  });
});
