import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { AppError } from '../../src/errors';
import { RateLimiter } from '../../src/gateway/safety/rate-limiter';
import { CircuitBreaker } from '../../src/gateway/safety/circuit-breaker';
import { EmbeddingCache } from '../../src/gateway/safety/embedding-cache';
import { ChatCache } from '../../src/gateway/safety/chat-cache';
import { UsageMeter } from '../../src/gateway/safety/usage-meter';
import type { ChatRequest, ChatResult } from '../../src/gateway/provider';

// Two clients on one Redis stand for two processes (API and worker).
let a: Redis;
let b: Redis;
let prefix: string;

beforeAll(() => {
  a = new Redis(process.env.REDIS_URL!);
  b = new Redis(process.env.REDIS_URL!);
});
afterAll(async () => {
  await Promise.all([a.quit(), b.quit()]);
});
beforeEach(() => {
  prefix = `t${randomBytes(5).toString('hex')}`;
});
afterEach(async () => {
  const keys = await a.keys(`${prefix}:*`);
  if (keys.length) await Promise.all(keys.map((k) => a.del(k)));
});

const clock = (start = Date.parse('2026-01-01T12:00:00Z')) => {
  const c = { t: start, now: () => c.t };
  return c;
};

describe('RateLimiter', () => {
  it('When two instances on one Redis take from one model, then they share one requests-per-minute budget', async () => {
    const c = clock();
    const limits = { m: { requestsPerMinute: 5 } };
    const one = new RateLimiter(a, prefix, { limits, now: c.now });
    const two = new RateLimiter(b, prefix, { limits, now: c.now });
    for (let i = 0; i < 3; i++) await one.acquire('m', { tenant: 't1', tokens: 0, maxWaitMs: 0 });
    for (let i = 0; i < 2; i++) await two.acquire('m', { tenant: 't1', tokens: 0, maxWaitMs: 0 });
    const err = await one.acquire('m', { tenant: 't1', tokens: 0, maxWaitMs: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('rate_limited');
    expect(err.status).toBe(429);
    expect(err.retryable).toBe(true);
    expect(err.details).toEqual({ model: 'm', scope: 'model', retryAfterMs: 12_000 }); // one request refills in 60 000 / 5 ms
    expect(err.headers).toEqual({ 'Retry-After': '12' });
    // Refill is continuous: 12 s later exactly one more request fits.
    c.t += 12_000;
    await two.acquire('m', { tenant: 't1', tokens: 0, maxWaitMs: 0 });
    await expect(one.acquire('m', { tenant: 't1', tokens: 0, maxWaitMs: 0 })).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('When many callers race in two processes, then no more than the budget is granted', async () => {
    const c = clock();
    const limits = { m: { requestsPerMinute: 1000, tokensPerMinute: 1000 } };
    const one = new RateLimiter(a, prefix, { limits, now: c.now });
    const two = new RateLimiter(b, prefix, { limits, now: c.now });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).acquire('m', { tenant: 't1', tokens: 100, maxWaitMs: 0 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
  });

  it('When both buckets are configured, then the token bucket limits too and settle corrects it', async () => {
    const c = clock();
    const rl = new RateLimiter(a, prefix, { limits: { m: { requestsPerMinute: 100, tokensPerMinute: 600 } }, now: c.now });
    await rl.acquire('m', { tenant: 't1', tokens: 500, maxWaitMs: 0 });
    const err = await rl.acquire('m', { tenant: 't1', tokens: 200, maxWaitMs: 0 }).catch((e) => e);
    expect(err.details.retryAfterMs).toBe(10_000); // 100 tokens missing at 10 tokens/s
    // The call used only 300 tokens: 200 go back, and the 200-token request fits now.
    await rl.settle('m', 't1', 300 - 500);
    await rl.acquire('m', { tenant: 't1', tokens: 200, maxWaitMs: 0 });
    // Under-estimation puts the bucket into debt.
    await rl.settle('m', 't1', 300);
    await expect(rl.acquire('m', { tenant: 't1', tokens: 1, maxWaitMs: 0 })).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('When the budget refills within maxWaitMs, then acquire waits for it instead of failing', async () => {
    const rl = new RateLimiter(a, prefix, { limits: { m: { tokensPerMinute: 600 } } }); // 10 tokens/s, real clock
    // Timed from before the bucket is emptied: the refill starts then, however late the next call comes.
    const started = Date.now();
    await rl.acquire('m', { tenant: 't1', tokens: 600, maxWaitMs: 0 });
    const { waitedMs } = await rl.acquire('m', { tenant: 't1', tokens: 10, maxWaitMs: 5_000 }); // ~1 s of refill
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5_000);
    expect(waitedMs).toBeGreaterThan(0);
  });

  it('When the wait would exceed maxWaitMs, then it fails at once with rate_limited', async () => {
    const rl = new RateLimiter(a, prefix, { limits: { m: { requestsPerMinute: 1 } } }); // next one in 60 s
    await rl.acquire('m', { tenant: 't1', tokens: 0, maxWaitMs: 0 });
    const started = Date.now();
    await expect(rl.acquire('m', { tenant: 't1', tokens: 0, maxWaitMs: 5_000 })).rejects.toMatchObject({ code: 'rate_limited' });
    expect(Date.now() - started).toBeLessThan(2_500); // waiting would take the full 5 s
  });

  it('When the signal aborts while waiting, then acquire stops with the abort reason', async () => {
    const rl = new RateLimiter(a, prefix, { limits: { m: { tokensPerMinute: 600 } } }); // 10 tokens/s
    await rl.acquire('m', { tenant: 't1', tokens: 600, maxWaitMs: 0 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('client went away')), 50);
    const started = Date.now();
    // Needs ~10 s of refill and may wait 60 s: only the abort ends it early.
    await expect(rl.acquire('m', { tenant: 't1', tokens: 100, maxWaitMs: 60_000, signal: ctl.signal })).rejects.toThrow('client went away');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('When a request needs more tokens than the bucket holds, then it is refused at once as invalid', async () => {
    const rl = new RateLimiter(a, prefix, { limits: { m: { tokensPerMinute: 1000 } } });
    await expect(rl.acquire('m', { tenant: 't1', tokens: 1001, maxWaitMs: 60_000 })).rejects.toMatchObject({
      code: 'invalid_request',
      status: 400,
      details: { model: 'm', tokens: 1001, tokensPerMinute: 1000 },
    });
  });

  it('When a model has no limits, then it passes through without touching Redis', async () => {
    const rl = new RateLimiter(a, prefix, { limits: { other: { requestsPerMinute: 1 } } });
    for (let i = 0; i < 20; i++) await rl.acquire('free', { tenant: 't1', tokens: 1e9, maxWaitMs: 0 });
    await rl.settle('free', 't1', 1e6);
    expect(await a.keys(`${prefix}:*`)).toEqual([]);
  });

  it('When limits are stored, then keys carry the model as hash tag', async () => {
    const rl = new RateLimiter(a, prefix, { limits: { 'mistral-small-latest': { requestsPerMinute: 5, tokensPerMinute: 100 } } });
    await rl.acquire('mistral-small-latest', { tenant: 't1', tokens: 10, maxWaitMs: 0 });
    const keys = (await a.keys(`${prefix}:*`)).sort();
    expect(keys).toEqual([`${prefix}:{gw:mistral-small-latest}:rl:req`, `${prefix}:{gw:mistral-small-latest}:rl:tok`]);
  });
});

describe('RateLimiter with a per-tenant share (MODEL_TENANT_SHARE)', () => {
  const limits = { m: { requestsPerMinute: 10, tokensPerMinute: 1000 } };

  it('When one tenant floods a model, then it gets its share and the others still get the rest', async () => {
    const c = clock();
    // Two processes, as an API and a worker would be.
    const one = new RateLimiter(a, prefix, { limits, tenantShare: 0.5, now: c.now });
    const two = new RateLimiter(b, prefix, { limits, tenantShare: 0.5, now: c.now });
    const flood = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).acquire('m', { tenant: 'noisy', tokens: 1, maxWaitMs: 0 })),
    );
    expect(flood.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = flood.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason;
    expect(refused).toMatchObject({ code: 'rate_limited', status: 429, details: { model: 'm', scope: 'tenant' } });
    expect(refused.message).toMatch(/this tenant's share \(50%\) of the rate limit of m/);
    // The quiet tenants share what is left of the model's budget: 5 requests, then the model itself is the limit.
    for (let i = 0; i < 3; i++) await one.acquire('m', { tenant: 'quiet-a', tokens: 1, maxWaitMs: 0 });
    for (let i = 0; i < 2; i++) await two.acquire('m', { tenant: 'quiet-b', tokens: 1, maxWaitMs: 0 });
    await expect(one.acquire('m', { tenant: 'quiet-b', tokens: 1, maxWaitMs: 0 })).rejects.toMatchObject({
      code: 'rate_limited',
      details: { scope: 'model' },
    });
  });

  it('When a call needs more tokens than a tenant share holds, then it is refused at once as invalid, naming the share', async () => {
    const rl = new RateLimiter(a, prefix, { limits, tenantShare: 0.25 });
    await expect(rl.acquire('m', { tenant: 't1', tokens: 251, maxWaitMs: 60_000 })).rejects.toMatchObject({
      code: 'invalid_request',
      details: { model: 'm', tokens: 251, tokensPerMinute: 250 },
    });
    await rl.acquire('m', { tenant: 't1', tokens: 250, maxWaitMs: 0 });
  });

  it('When a call used fewer tokens than estimated, then settle gives them back to the tenant share too', async () => {
    const c = clock();
    const rl = new RateLimiter(a, prefix, { limits, tenantShare: 0.5, now: c.now });
    await rl.acquire('m', { tenant: 't1', tokens: 500, maxWaitMs: 0 });
    await expect(rl.acquire('m', { tenant: 't1', tokens: 100, maxWaitMs: 0 })).rejects.toMatchObject({ details: { scope: 'tenant' } });
    await rl.settle('m', 't1', 100 - 500);
    await rl.acquire('m', { tenant: 't1', tokens: 100, maxWaitMs: 0 });
    // Every bucket of the model, the tenant's included, sits in the model's hash tag (one Redis Cluster slot).
    for (const key of await a.keys(`${prefix}:*`)) expect(key.startsWith(`${prefix}:{gw:m}:rl:`)).toBe(true);
  });

  it('When the share is 1, then no per-tenant bucket exists and one tenant may use the whole budget', async () => {
    const c = clock();
    const rl = new RateLimiter(a, prefix, { limits, tenantShare: 1, now: c.now });
    for (let i = 0; i < 10; i++) await rl.acquire('m', { tenant: 't1', tokens: 1, maxWaitMs: 0 });
    expect((await a.keys(`${prefix}:*`)).sort()).toEqual([`${prefix}:{gw:m}:rl:req`, `${prefix}:{gw:m}:rl:tok`]);
  });
});

describe('CircuitBreaker', () => {
  it('When one instance records threshold failures, then the breaker is open for the other instance too', async () => {
    const c = clock();
    const one = new CircuitBreaker(a, prefix, { failureThreshold: 3, coolDownMs: 10_000, now: c.now });
    const two = new CircuitBreaker(b, prefix, { failureThreshold: 3, coolDownMs: 10_000, now: c.now });
    expect(await two.canCall('m')).toBe(true);
    await one.recordFailure('m');
    await two.recordFailure('m');
    expect(await two.canCall('m')).toBe(true);
    expect(await one.recordFailure('m')).toBe('open');
    expect(await two.canCall('m')).toBe(false);
    expect(await one.canCall('m')).toBe(false);
    expect((await two.state('m')).state).toBe('open');
    // Other models are unaffected.
    expect(await two.canCall('other')).toBe(true);
  });

  it('When a success comes between failures, then the consecutive count starts again', async () => {
    const cb = new CircuitBreaker(a, prefix, { failureThreshold: 2 });
    await cb.recordFailure('m');
    await cb.recordSuccess('m');
    expect(await cb.recordFailure('m')).toBe('closed');
    expect(await cb.recordFailure('m')).toBe('open');
  });

  it('When N failures fall within the window though not consecutive, then the breaker opens', async () => {
    const c = clock();
    const cb = new CircuitBreaker(a, prefix, { failureThreshold: 100, windowFailures: 3, windowMs: 10_000, now: c.now });
    await cb.recordFailure('m');
    await cb.recordSuccess('m'); // a success resets the window too
    await cb.recordFailure('m');
    c.t += 20_000; // that one leaves the window
    await cb.recordFailure('m');
    await cb.recordFailure('m');
    expect((await cb.state('m')).state).toBe('closed');
    c.t += 1_000;
    expect(await cb.recordFailure('m')).toBe('open');
  });

  it('When the cool-down ends and many callers in two processes ask at once, then exactly one trial goes through', async () => {
    const c = clock();
    const one = new CircuitBreaker(a, prefix, { failureThreshold: 1, coolDownMs: 5_000, now: c.now });
    const two = new CircuitBreaker(b, prefix, { failureThreshold: 1, coolDownMs: 5_000, now: c.now });
    await one.recordFailure('m');
    c.t += 4_999;
    expect(await two.canCall('m')).toBe(false);
    c.t += 1;
    expect((await two.state('m')).state).toBe('half_open'); // read-only: claims nothing
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? one : two).canCall('m')));
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(await one.canCall('m')).toBe(false);
  });

  it('When the half-open trial succeeds, then the breaker closes for everyone', async () => {
    const c = clock();
    const one = new CircuitBreaker(a, prefix, { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    const two = new CircuitBreaker(b, prefix, { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    await one.recordFailure('m');
    c.t += 1_000;
    expect(await one.canCall('m')).toBe(true);
    await one.recordSuccess('m');
    expect(await two.canCall('m')).toBe(true);
    expect(await two.canCall('m')).toBe(true);
    expect((await two.state('m')).state).toBe('closed');
  });

  it('When the half-open trial fails, then the breaker re-opens for another cool-down', async () => {
    const c = clock();
    const one = new CircuitBreaker(a, prefix, { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    const two = new CircuitBreaker(b, prefix, { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    await one.recordFailure('m');
    c.t += 1_000;
    expect(await two.canCall('m')).toBe(true);
    expect(await two.recordFailure('m')).toBe('open');
    c.t += 999;
    expect(await one.canCall('m')).toBe(false);
    c.t += 1;
    expect(await one.canCall('m')).toBe(true);
  });

  it('When the trial caller never reports back, then after trialTimeoutMs another caller may trial', async () => {
    const c = clock();
    const cb = new CircuitBreaker(a, prefix, { failureThreshold: 1, coolDownMs: 1_000, trialTimeoutMs: 2_000, now: c.now });
    await cb.recordFailure('m');
    c.t += 1_000;
    expect(await cb.canCall('m')).toBe(true);
    c.t += 1_999;
    expect(await cb.canCall('m')).toBe(false);
    c.t += 1;
    expect(await cb.canCall('m')).toBe(true);
  });
});

describe('EmbeddingCache', () => {
  const vec = (...xs: number[]) => Float32Array.from(xs);

  it('When vectors are stored by one instance, then the other reads hits and misses in order', async () => {
    const one = new EmbeddingCache(a, prefix);
    const two = new EmbeddingCache(b, prefix);
    await one.setMany('embed', ['alpha', 'gamma'], [vec(1, 2.5, -3), vec(0.1, 0.2, 0.3)]);
    const got = await two.getMany('embed', ['alpha', 'beta', 'gamma']);
    expect(got[0]).toEqual(vec(1, 2.5, -3));
    expect(got[1]).toBeUndefined();
    expect(Array.from(got[2]!)).toEqual(Array.from(vec(0.1, 0.2, 0.3))); // exact Float32 round trip
    expect(got[2]).toBeInstanceOf(Float32Array);
    // Keyed by model: another model misses.
    expect(await two.getMany('other', ['alpha'])).toEqual([undefined]);
    expect(await two.getMany('embed', [])).toEqual([]);
  });

  it('When entries are stored, then they are raw Float32 bytes with a TTL', async () => {
    const cache = new EmbeddingCache(a, prefix, { ttlMs: 60_000 });
    await cache.setMany('embed', ['x'], [vec(1, 2)]);
    const keys = (await a.keys(`${prefix}:*`)).filter((k) => !k.endsWith(':index'));
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}:\\{gw:embed\\}:emb:[0-9a-f]{64}$`));
    expect((await a.getBuffer(keys[0]))!.length).toBe(8);
    const ttl = await a.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('When more than maxEntries are inserted, then the oldest are evicted and the bound holds', async () => {
    const c = clock();
    const cache = new EmbeddingCache(a, prefix, { maxEntries: 5, now: c.now });
    const texts = Array.from({ length: 8 }, (_, i) => `text ${i}`);
    for (let i = 0; i < 4; i++) {
      c.t += 1;
      await cache.setMany('embed', [texts[i]], [vec(i)]);
    }
    c.t += 1;
    const evicted = await cache.setMany(
      'embed',
      texts.slice(4),
      texts.slice(4).map((_, i) => vec(4 + i)),
    );
    expect(evicted).toBe(3);
    const got = await cache.getMany('embed', texts);
    expect(got.map((v) => (v ? v[0] : undefined))).toEqual([undefined, undefined, undefined, 3, 4, 5, 6, 7]);
    expect(await a.zcard(`${prefix}:{gw:embed}:emb:index`)).toBe(5);
    const entryKeys = (await a.keys(`${prefix}:*`)).filter((k) => !k.endsWith(':index'));
    expect(entryKeys).toHaveLength(5);
  });

  it('When the same text is stored again, then it counts once toward the bound', async () => {
    const cache = new EmbeddingCache(a, prefix, { maxEntries: 2 });
    await cache.setMany('embed', ['same', 'same'], [vec(1), vec(2)]);
    await cache.setMany('embed', ['same'], [vec(3)]);
    await cache.setMany('embed', ['other'], [vec(4)]);
    expect((await cache.getMany('embed', ['same', 'other'])).map((v) => v?.[0])).toEqual([3, 4]);
  });

  it('When texts and vectors differ in count, then setMany refuses', async () => {
    const cache = new EmbeddingCache(a, prefix);
    await expect(cache.setMany('embed', ['a', 'b'], [vec(1)])).rejects.toThrow('2 texts and 1 vectors');
  });
});

describe('ChatCache', () => {
  const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({
    model: 'small',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ],
    maxTokens: 100,
    temperature: 0,
    ...over,
  });
  const result: ChatResult = { text: 'hello', model: 'small', usage: { promptTokens: 5, completionTokens: 1 }, finishReason: 'stop' };

  it('When enabled and the same temperature-0 request comes again, then the cached answer is returned', async () => {
    const one = new ChatCache(a, prefix, { enabled: true });
    const two = new ChatCache(b, prefix, { enabled: true });
    expect(await two.get(req())).toBeUndefined();
    expect(await one.set(req(), result)).toBe(true);
    expect(await two.get(req())).toEqual(result);
    // Anything that changes the answer misses.
    expect(await two.get(req({ maxTokens: 101 }))).toBeUndefined();
    expect(await two.get(req({ model: 'large' }))).toBeUndefined();
    expect(await two.get(req({ messages: [{ role: 'user', content: 'hi' }] }))).toBeUndefined();
  });

  it('When disabled (the default), then nothing is stored or read', async () => {
    const cache = new ChatCache(a, prefix);
    expect(cache.enabled).toBe(false);
    expect(await cache.set(req(), result)).toBe(false);
    expect(await cache.get(req())).toBeUndefined();
    expect(await a.keys(`${prefix}:*`)).toEqual([]);
  });

  it('When the temperature is not 0 or the answer was cut off, then it is not cached', async () => {
    const cache = new ChatCache(a, prefix, { enabled: true, ttlMs: 10_000 });
    expect(await cache.set(req({ temperature: 0.7 }), result)).toBe(false);
    expect(await cache.set(req({ temperature: undefined }), result)).toBe(false);
    expect(await cache.set(req(), { ...result, finishReason: 'length' })).toBe(false);
    expect(await a.keys(`${prefix}:*`)).toEqual([]);
    await cache.set(req(), result);
    const [key] = await a.keys(`${prefix}:*`);
    expect(await a.pttl(key)).toBeGreaterThan(9_000);
  });
});

describe('UsageMeter', () => {
  it('When calls are recorded across days, models and processes, then the query returns totals per day and model', async () => {
    const c = clock(Date.parse('2026-03-01T23:59:00Z'));
    const one = new UsageMeter(a, prefix, { now: c.now });
    const two = new UsageMeter(b, prefix, { now: c.now });
    const rec = (m: UsageMeter, model: string, p: number, o: number, cost: number, tenant = 'acme') =>
      m.record({ tenant, model, purpose: 'chat', promptTokens: p, completionTokens: o, costUsd: cost });
    await rec(one, 'small', 100, 10, 0.001);
    await rec(two, 'small', 200, 20, 0.002);
    await rec(two, 'embed', 50, 0, 0.0005);
    await rec(one, 'small', 999, 999, 1, 'other-tenant');
    c.t += 120_000; // next UTC day
    await rec(one, 'small', 1, 2, 0.25);
    const rows = await two.query('acme', '2026-02-28', '2026-03-03');
    expect(rows.map((r) => ({ ...r, costUsd: Number(r.costUsd.toFixed(9)) }))).toEqual([
      { day: '2026-03-01', model: 'embed', promptTokens: 50, completionTokens: 0, costUsd: 0.0005, calls: 1 },
      { day: '2026-03-01', model: 'small', promptTokens: 300, completionTokens: 30, costUsd: 0.003, calls: 2 },
      { day: '2026-03-02', model: 'small', promptTokens: 1, completionTokens: 2, costUsd: 0.25, calls: 1 },
    ]);
    expect(await two.query('acme', '2026-03-02', '2026-03-02')).toHaveLength(1);
    expect(await two.query('nobody', '2026-03-01', '2026-03-02')).toEqual([]);
  });

  it('When usage is recorded, then the day hash expires after the retention', async () => {
    const meter = new UsageMeter(a, prefix, { now: () => Date.parse('2026-03-01T10:00:00Z') });
    await meter.record({ tenant: 't{1}', model: 'a|b', purpose: 'embed', promptTokens: 1, completionTokens: 0, costUsd: 0 });
    const [key] = await a.keys(`${prefix}:*`);
    expect(key).toBe(`${prefix}:{usage:t%7B1%7D}:2026-03-01`);
    const ttl = await a.ttl(key);
    expect(ttl).toBeGreaterThan(399 * 86_400);
    expect(ttl).toBeLessThanOrEqual(400 * 86_400);
    expect((await meter.query('t{1}', '2026-03-01', '2026-03-01'))[0].model).toBe('a|b');
  });

  it('When the range is reversed or malformed, then the query refuses', async () => {
    const meter = new UsageMeter(a, prefix);
    await expect(meter.query('acme', '2026-03-02', '2026-03-01')).rejects.toThrow('before it starts');
    await expect(meter.query('acme', '2026-3-1', '2026-03-01')).rejects.toThrow('YYYY-MM-DD');
    await expect(meter.query('acme', '2024-01-01', '2026-03-01')).rejects.toThrow('at most 400 days');
  });
});
