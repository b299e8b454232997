import { ConfigError } from '../config';
import type { Purpose } from './provider';
import type { ModelPricing } from './safety/pricing';
import type { ModelRateLimits } from './safety/rate-limiter';

/** One model the gateway may call: which provider serves it, under what name, at what price and limits. */
export interface ModelSpec {
  /** Registry id, also the name used in requests, metrics, usage and breaker keys. */
  id: string;
  provider: 'mistral' | 'offline';
  /** The provider's own model name. */
  name: string;
  contextWindow: number;
  maxOutputTokens: number;
  pricing: ModelPricing;
  limits?: ModelRateLimits;
  /** Embedding models: vector size. */
  dimensions?: number;
}

export interface ModelRegistry {
  models: ReadonlyMap<string, ModelSpec>;
  /** For each purpose, the models to try in order (the first is the primary, the rest are fallbacks). */
  routes: Readonly<Record<Purpose, readonly string[]>>;
}

const OFFLINE: ModelSpec[] = [
  { id: 'offline-extractive', provider: 'offline', name: 'offline-extractive', contextWindow: 32_768, maxOutputTokens: 1024, pricing: { inputPerMillion: 0, outputPerMillion: 0 } },
  { id: 'offline-summarizer', provider: 'offline', name: 'offline-summarizer', contextWindow: 32_768, maxOutputTokens: 1024, pricing: { inputPerMillion: 0, outputPerMillion: 0 } },
];

/** Public list prices (USD per million tokens) as of writing; override through configuration when they change. */
const MISTRAL: ModelSpec[] = [
  { id: 'mistral-small-latest', provider: 'mistral', name: 'mistral-small-latest', contextWindow: 131_072, maxOutputTokens: 4096, pricing: { inputPerMillion: 0.1, outputPerMillion: 0.3 }, limits: { requestsPerMinute: 300, tokensPerMinute: 500_000 } },
  { id: 'mistral-medium-latest', provider: 'mistral', name: 'mistral-medium-latest', contextWindow: 131_072, maxOutputTokens: 4096, pricing: { inputPerMillion: 0.4, outputPerMillion: 2 }, limits: { requestsPerMinute: 300, tokensPerMinute: 500_000 } },
  { id: 'mistral-large-latest', provider: 'mistral', name: 'mistral-large-latest', contextWindow: 131_072, maxOutputTokens: 4096, pricing: { inputPerMillion: 2, outputPerMillion: 6 }, limits: { requestsPerMinute: 300, tokensPerMinute: 500_000 } },
  { id: 'mistral-embed', provider: 'mistral', name: 'mistral-embed', contextWindow: 8192, maxOutputTokens: 0, pricing: { inputPerMillion: 0.1, outputPerMillion: 0 }, dimensions: 1024, limits: { requestsPerMinute: 300, tokensPerMinute: 5_000_000 } },
];

/**
 * The registry from configuration: Mistral models when a key is configured (with the offline models as the last
 * fallback for chat and summaries), the offline ones otherwise. Embeddings never fall back to another model:
 * vectors of two models must not share an index.
 */
export function buildModelRegistry(opts: { mistral: boolean; chat?: string; summarize?: string; embed?: string }): ModelRegistry {
  const models = new Map<string, ModelSpec>([...OFFLINE, ...MISTRAL].map((m) => [m.id, m]));
  const pick = (requested: string | undefined, def: string) => {
    const id = requested ?? def;
    if (!models.has(id)) throw new ConfigError(`Invalid configuration: unknown model "${id}" (MODEL_CHAT, MODEL_SUMMARIZE, MODEL_EMBED): known models are ${[...models.keys()].join(', ')}`);
    return id;
  };
  if (!opts.mistral) {
    return {
      models,
      routes: {
        chat: [pick(opts.chat, 'offline-extractive')],
        summarize: [pick(opts.summarize, 'offline-summarizer')],
        embed: [],
      },
    };
  }
  const chat = pick(opts.chat, 'mistral-small-latest');
  const summarize = pick(opts.summarize, 'mistral-small-latest');
  return {
    models,
    routes: {
      chat: unique([chat, 'mistral-small-latest', 'offline-extractive']),
      summarize: unique([summarize, 'mistral-small-latest', 'offline-summarizer']),
      embed: [pick(opts.embed, 'mistral-embed')],
    },
  };
}

const unique = (ids: string[]) => [...new Set(ids)];
