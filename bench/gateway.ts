import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { buildModelRegistry } from '../src/gateway/model-registry';
import { ModelGateway } from '../src/gateway/model-gateway';
import { MistralProvider } from '../src/gateway/providers/mistral-provider';
import { ChatCache, CircuitBreaker, EmbeddingCache, RateLimiter, UsageMeter } from '../src/gateway/safety';
import { TokenCounter } from '../src/core/tokens/token-counter';
import { startRedis } from '../test/support/redis-server';
import { DOUBLE_API_KEY, startMistralDouble } from '../test/support/mistral-double';

export interface GatewayRow extends Record<string, string | number> {
  path: string;
  calls: number;
  'p50 ms': number;
  'p95 ms': number;
  'added p50 ms': string;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/**
 * What the gateway adds to a call: the same chat request to the local Mistral double, once through the provider
 * alone and once through the gateway (breaker check, rate-limit script, usage accounting, all on a real Redis).
 * Calls alternate so both paths see the same machine state.
 */
export async function runGatewayBench(opts: { calls: number }): Promise<GatewayRow[]> {
  const redis = await startRedis();
  const client = new Redis(redis.url, { enableAutoPipelining: true });
  const upstream = await startMistralDouble({ dimensions: 1024 });
  const tokenCounter = new TokenCounter();
  const provider = new MistralProvider({ apiKey: DOUBLE_API_KEY, serverUrl: upstream.url });
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const registry = buildModelRegistry({ mistral: true });
  const limits = { 'mistral-small-latest': { requestsPerMinute: 1e9, tokensPerMinute: 1e12 } };
  const gateway = new ModelGateway({
    registry,
    providers: { mistral: provider },
    limiter: new RateLimiter(client, prefix, { limits }),
    breaker: new CircuitBreaker(client, prefix, {}),
    embeddingCache: new EmbeddingCache(client, prefix, {}),
    chatCache: new ChatCache(client, prefix, { enabled: false }),
    usage: new UsageMeter(client, prefix, {}),
    logger: pino({ level: 'silent' }),
    countTokens: (t) => tokenCounter.count(t),
  });
  const messages = [{ role: 'user' as const, content: 'Summarise the opening hours of the museum on weekends.' }];
  const direct: number[] = [];
  const through: number[] = [];
  try {
    for (let i = 0; i < opts.calls + 20; i++) {
      let t0 = performance.now();
      await provider.chat({ model: 'mistral-small-latest', messages, maxTokens: 64 });
      const d = performance.now() - t0;
      t0 = performance.now();
      await gateway.chat({ tenant: 'bench', purpose: 'chat', messages, maxTokens: 64 });
      const g = performance.now() - t0;
      if (i >= 20) {
        direct.push(d);
        through.push(g);
      }
    }
  } finally {
    await upstream.close();
    client.disconnect();
    await redis.stop();
  }
  const added = pct(through, 50) - pct(direct, 50);
  return [
    {
      path: 'provider alone (SDK -> double)',
      calls: direct.length,
      'p50 ms': pct(direct, 50),
      'p95 ms': pct(direct, 95),
      'added p50 ms': '-',
    },
    {
      path: 'through the gateway',
      calls: through.length,
      'p50 ms': pct(through, 50),
      'p95 ms': pct(through, 95),
      'added p50 ms': added.toFixed(2),
    },
  ];
}
