import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { buildModelRegistry } from '../../src/gateway/model-registry';
import { ModelGateway } from '../../src/gateway/model-gateway';
import { MistralProvider } from '../../src/gateway/providers/mistral-provider';
import { OfflineProvider } from '../../src/gateway/providers/offline-provider';
import { ChatCache, CircuitBreaker, EmbeddingCache, RateLimiter, UsageMeter } from '../../src/gateway/safety';
import { utcDay } from '../../src/gateway/safety/usage-meter';
import { TokenCounter } from '../../src/core/tokens/token-counter';
import { DOUBLE_API_KEY, startMistralDouble, type MistralDouble } from '../support/mistral-double';

/** The gateway as the service builds it: real Redis for the shared state, Mistral's wire format from a local double. */
let redis: Redis;
let upstream: MistralDouble;
const tokenCounter = new TokenCounter();

function gateway(
  prefix: string,
  opts: { limits?: Record<string, { requestsPerMinute?: number; tokensPerMinute?: number }>; countTokens?: (text: string) => number } = {},
) {
  const registry = buildModelRegistry({ mistral: true });
  return new ModelGateway({
    registry,
    providers: {
      mistral: new MistralProvider({ apiKey: DOUBLE_API_KEY, serverUrl: upstream.url, timeoutMs: 2000 }),
      offline: new OfflineProvider({ tokenCounter }),
    },
    limiter: new RateLimiter(redis, prefix, { limits: opts.limits ?? {} }),
    breaker: new CircuitBreaker(redis, prefix, { failureThreshold: 2, coolDownMs: 60_000 }),
    embeddingCache: new EmbeddingCache(redis, prefix, {}),
    chatCache: new ChatCache(redis, prefix, { enabled: false }),
    usage: new UsageMeter(redis, prefix, {}),
    logger: pino({ level: 'silent' }),
    retry: { attempts: 2, baseMs: 1, maxMs: 5 },
    maxQueueWaitMs: 50,
    countTokens: opts.countTokens ?? ((t) => tokenCounter.count(t)),
  });
}

beforeAll(async () => {
  redis = new Redis(process.env.REDIS_URL!);
  upstream = await startMistralDouble({ dimensions: 1024 });
});
afterAll(async () => {
  await upstream.close();
  redis.disconnect();
});
const prefix = () => `gw${randomBytes(4).toString('hex')}`;
const ask = [{ role: 'user' as const, content: 'What is the capital of Norway?' }];

describe('When the primary chat model answers', () => {
  it('then the answer, usage and cost come back, and usage is accounted per tenant', async () => {
    const p = prefix();
    const gw = gateway(p);
    const before = upstream.requests.length;
    const res = await gw.chat({ tenant: 'acme', purpose: 'chat', messages: ask, maxTokens: 64 });
    expect(res.modelId).toBe('mistral-small-latest');
    expect(upstream.requests[before].body).toMatchObject({ model: 'mistral-small-latest', max_tokens: 64, messages: ask });
    expect(res.usage.promptTokens).toBeGreaterThan(0);
    const usage = await new UsageMeter(redis, p, {}).query('acme', utcDay(Date.now()), utcDay(Date.now()));
    expect(usage).toEqual([expect.objectContaining({ model: 'mistral-small-latest', calls: 1, promptTokens: res.usage.promptTokens })]);
    expect(usage[0].costUsd).toBeCloseTo(res.costUsd, 10);
  });
});

describe('When the primary model keeps failing', () => {
  it('then the breaker opens and calls fall back to the next model, without touching the failing one', async () => {
    const gw = gateway(prefix());
    // Two calls' worth of failures (2 attempts each): each failed call counts once, and 2 open the breaker.
    upstream.script(Array.from({ length: 4 }, () => ({ status: 503 })));
    for (let i = 0; i < 2; i++) {
      const res = await gw.chat({ tenant: 'acme', purpose: 'chat', messages: ask });
      expect(res.modelId).toBe('offline-extractive');
    }
    const seen = upstream.requests.length;
    const third = await gw.chat({ tenant: 'acme', purpose: 'chat', messages: ask });
    expect(third.modelId).toBe('offline-extractive');
    expect(upstream.requests.length).toBe(seen);
  });

  it('then a request pinned to that model gets 503 model_unavailable at once', async () => {
    const gw = gateway(prefix());
    upstream.script(Array.from({ length: 4 }, () => ({ status: 500 })));
    await expect(gw.chat({ tenant: 'acme', purpose: 'chat', messages: ask, model: 'mistral-large-latest' })).rejects.toMatchObject({
      code: 'model_unavailable',
    });
    await expect(gw.chat({ tenant: 'acme', purpose: 'chat', messages: ask, model: 'mistral-large-latest' })).rejects.toMatchObject({
      code: 'model_unavailable',
    });
    upstream.script([]);
    await expect(gw.chat({ tenant: 'acme', purpose: 'chat', messages: ask, model: 'no-such-model' })).rejects.toMatchObject({
      code: 'unknown_model',
      status: 400,
    });
  });
});

describe('When the same texts are embedded twice', () => {
  it('then the second time is served from the cache without an upstream call', async () => {
    const gw = gateway(prefix());
    const texts = ['fjords of the west coast', 'midnight sun in Tromsø'];
    const seen = upstream.requests.length;
    const a = await gw.embed('acme', texts);
    expect(upstream.requests.length).toBe(seen + 1);
    expect(upstream.requests[seen].body).toMatchObject({ model: 'mistral-embed', input: texts });
    const b = await gw.embed('acme', [texts[1], texts[0], 'a new one']);
    expect(upstream.requests.length).toBe(seen + 2);
    expect(upstream.requests[seen + 1].body.input).toEqual(['a new one']);
    expect(Array.from(b[0])).toEqual(Array.from(a[1]));
    expect(a[0]).toHaveLength(1024);
  });
});

describe('When the caller gives the texts’ token counts (chunks and messages carry theirs)', () => {
  it('then the rate-limit charge uses them, and the gateway does not tokenise the texts again', async () => {
    const counted: string[] = [];
    const countTokens = (t: string) => {
      counted.push(t);
      return tokenCounter.count(t);
    };
    const gw = gateway(prefix(), { limits: { 'mistral-embed': { tokensPerMinute: 100 } }, countTokens });
    const seen = upstream.requests.length;
    // Short texts declared long: more than the 100-token bucket holds, refused at once and never sent.
    await expect(gw.embed('acme', ['aurora', 'glacier'], { tokenCounts: [80, 80] })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(upstream.requests.length).toBe(seen);
    // Long texts declared short: charged as declared.
    const long = [0, 1].map((i) => `${i}: ${'the northern lights over the Lyngen Alps, '.repeat(12)}`);
    expect(tokenCounter.count(long[0]) + tokenCounter.count(long[1])).toBeGreaterThan(100);
    await expect(gw.embed('acme', long, { tokenCounts: [5, 5] })).resolves.toHaveLength(2);
    expect(counted).toEqual([]);
    // Without counts, the gateway counts what it sends (its own bucket: the last call was charged its real usage).
    await gateway(prefix(), { countTokens }).embed('acme', ['reindeer'], {});
    expect(counted).toEqual(['reindeer']);
  });
});

describe('When two gateways share one Redis and a model allows 2 requests a minute', () => {
  it('then their third call between them is refused with rate_limited and a Retry-After', async () => {
    const p = prefix();
    const limits = { 'mistral-small-latest': { requestsPerMinute: 2 } };
    const one = gateway(p, { limits });
    const two = gateway(p, { limits });
    await one.chat({ tenant: 'acme', purpose: 'chat', messages: ask });
    await two.chat({ tenant: 'acme', purpose: 'chat', messages: ask });
    const err = await one.chat({ tenant: 'acme', purpose: 'chat', messages: ask }).catch((e) => e);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(Number(err.headers['Retry-After'])).toBeGreaterThan(0);
  });
});

describe('When the upstream answers 429 with Retry-After once', () => {
  it('then the gateway waits, retries and succeeds on the same model', async () => {
    const gw = gateway(prefix());
    upstream.script([{ status: 429, retryAfter: 1 }]);
    const seen = upstream.requests.length;
    const started = Date.now();
    const res = await gw.chat({ tenant: 'acme', purpose: 'chat', messages: ask });
    expect(res.modelId).toBe('mistral-small-latest');
    expect(upstream.requests.length).toBe(seen + 2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('When a chat answer is streamed through the gateway', () => {
  it('then the deltas add up to the final text, and a model failing before its first delta falls back', async () => {
    const p = prefix();
    const gw = gateway(p);
    let text = '';
    let done: any;
    for await (const e of gw.chatStream({ tenant: 'acme', purpose: 'chat', messages: ask, maxTokens: 32 })) {
      if (e.type === 'delta') text += e.text;
      else done = e.result;
    }
    expect(done.modelId).toBe('mistral-small-latest');
    expect(text).toBe(done.text);
    expect(text.length).toBeGreaterThan(0);

    upstream.script([{ status: 500 }]);
    const events: string[] = [];
    for await (const e of gw.chatStream({ tenant: 'acme', purpose: 'chat', messages: ask }))
      events.push(e.type === 'done' ? `done:${e.result.modelId}` : 'delta');
    expect(events.at(-1)).toBe('done:offline-extractive');
    const usage = await new UsageMeter(redis, p, {}).query('acme', utcDay(Date.now()), utcDay(Date.now()));
    expect(usage.map((u) => u.model).sort()).toEqual(['mistral-small-latest', 'offline-extractive']);
  });
});
