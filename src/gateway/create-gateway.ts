import type { RedisClient } from '../infra/redis';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { TokenCounter } from '../core/tokens/token-counter';
import type { Metrics } from '../infra/metrics';
import type { Embedder } from './embedder';
import { Embedders, gatewayEmbedder } from './embedders';
import { OfflineEmbedder } from './offline-embedder';
import { buildModelRegistry } from './model-registry';
import { ModelGateway } from './model-gateway';
import { MistralProvider } from './providers/mistral-provider';
import { OfflineProvider } from './providers/offline-provider';
import { ChatCache, CircuitBreaker, EmbeddingCache, RateLimiter, UsageMeter } from './safety';
import type { ModelRateLimits } from './safety/rate-limiter';

/** Builds the gateway from configuration; every piece of shared state lives in Redis under the service's prefix. */
export function createGateway(
  config: Readonly<Config>,
  redis: RedisClient,
  tokenCounter: TokenCounter,
  logger: Logger,
  metrics?: Metrics,
): { gateway: ModelGateway; usage: UsageMeter; embedder: Embedder; embedders: Embedders } {
  const m = config.models;
  const mistral = m.provider === 'mistral';
  const registry = buildModelRegistry({
    mistral,
    chat: m.chat,
    summarize: m.summarize,
    embed: m.embed,
    offlineFallback: m.offlineFallback,
  });
  const offlineEmbedder = new OfflineEmbedder({ dimensions: m.offlineEmbedDimensions });
  const limits: Record<string, ModelRateLimits> = {};
  for (const spec of registry.models.values()) if (spec.limits) limits[spec.id] = { ...spec.limits, ...definedOnly(m.rateOverride) };
  const prefix = `${config.redisPrefix}:gw`;
  const usage = new UsageMeter(redis, prefix, {});
  const gateway = new ModelGateway({
    registry,
    providers: {
      offline: new OfflineProvider({ tokenCounter, embedder: offlineEmbedder }),
      ...(m.mistral
        ? { mistral: new MistralProvider({ apiKey: m.mistral.apiKey, serverUrl: m.mistral.serverUrl, timeoutMs: m.timeoutMs }) }
        : {}),
    },
    limiter: new RateLimiter(redis, prefix, { limits, tenantShare: m.tenantShare }),
    breaker: new CircuitBreaker(redis, prefix, { failureThreshold: m.breaker.failures, coolDownMs: m.breaker.coolDownMs }),
    embeddingCache: new EmbeddingCache(redis, prefix, { ttlMs: m.embedCache.ttlMs, maxEntries: m.embedCache.maxEntries }),
    chatCache: new ChatCache(redis, prefix, { enabled: m.chatCache }),
    usage,
    logger: logger.child({ component: 'gateway' }),
    retry: { attempts: m.retryAttempts },
    maxQueueWaitMs: m.queueWaitMs,
    countTokens: (t) => tokenCounter.count(t),
    logPrompts: m.logPrompts,
    metrics,
  });
  // Offline embeddings are computed in-process in microseconds: the cache and accounting would only add round trips.
  const embedModel = registry.routes.embed[0];
  const embedder: Embedder = embedModel ? gatewayEmbedder(gateway, registry.models.get(embedModel)!) : offlineEmbedder;
  return { gateway, usage, embedder, embedders: new Embedders(embedder, registry, gateway) };
}

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
