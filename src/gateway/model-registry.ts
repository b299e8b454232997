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
  /** What it can be routed for: a MODEL_* variable naming it for another purpose is a configuration error. */
  purposes: readonly Purpose[];
}

export interface ModelRegistry {
  models: ReadonlyMap<string, ModelSpec>;
  /** For each purpose, the models to try in order (the first is the primary, the rest are fallbacks). */
  routes: Readonly<Record<Purpose, readonly string[]>>;
}

const OFFLINE: ModelSpec[] = [
  {
    id: 'offline-extractive',
    provider: 'offline',
    name: 'offline-extractive',
    contextWindow: 32_768,
    maxOutputTokens: 1024,
    pricing: { inputPerMillion: 0, outputPerMillion: 0 },
    purposes: ['chat'],
  },
  {
    id: 'offline-summarizer',
    provider: 'offline',
    name: 'offline-summarizer',
    contextWindow: 32_768,
    maxOutputTokens: 1024,
    pricing: { inputPerMillion: 0, outputPerMillion: 0 },
    purposes: ['summarize'],
  },
];

/** Public list prices (USD per million tokens) as of writing; override through configuration when they change. */
const MISTRAL: ModelSpec[] = [
  {
    id: 'mistral-small-latest',
    provider: 'mistral',
    name: 'mistral-small-latest',
    contextWindow: 131_072,
    maxOutputTokens: 4096,
    pricing: { inputPerMillion: 0.1, outputPerMillion: 0.3 },
    limits: { requestsPerMinute: 300, tokensPerMinute: 500_000 },
    purposes: ['chat', 'summarize'],
  },
  {
    id: 'mistral-medium-latest',
    provider: 'mistral',
    name: 'mistral-medium-latest',
    contextWindow: 131_072,
    maxOutputTokens: 4096,
    pricing: { inputPerMillion: 0.4, outputPerMillion: 2 },
    limits: { requestsPerMinute: 300, tokensPerMinute: 500_000 },
    purposes: ['chat', 'summarize'],
  },
  {
    id: 'mistral-large-latest',
    provider: 'mistral',
    name: 'mistral-large-latest',
    contextWindow: 131_072,
    maxOutputTokens: 4096,
    pricing: { inputPerMillion: 2, outputPerMillion: 6 },
    limits: { requestsPerMinute: 300, tokensPerMinute: 500_000 },
    purposes: ['chat', 'summarize'],
  },
  {
    id: 'mistral-embed',
    provider: 'mistral',
    name: 'mistral-embed',
    contextWindow: 8192,
    maxOutputTokens: 0,
    pricing: { inputPerMillion: 0.1, outputPerMillion: 0 },
    dimensions: 1024,
    limits: { requestsPerMinute: 300, tokensPerMinute: 5_000_000 },
    purposes: ['embed'],
  },
];

/** What the MODEL_* variables ask for, and whether a Mistral key is configured. */
export interface ModelSelection {
  mistral: boolean;
  chat?: string;
  summarize?: string;
  embed?: string;
  /**
   * With Mistral: end the chat and summarize routes with the offline models (default). Off, a Mistral outage answers
   * 503 `model_unavailable` and summaries wait for the queue's retries, instead of extractive stand-ins.
   */
  offlineFallback?: boolean;
}

/** The in-process embedder's name (offline-embedder.ts): the only MODEL_EMBED that needs no key. */
export const OFFLINE_EMBED_MODEL_ID = 'offline-hash-v1';

const CATALOG: ReadonlyMap<string, ModelSpec> = new Map([...OFFLINE, ...MISTRAL].map((m) => [m.id, m]));
const VARIABLE: Record<Purpose, string> = { chat: 'MODEL_CHAT', summarize: 'MODEL_SUMMARIZE', embed: 'MODEL_EMBED' };
/** What to suggest instead of a model that needs a key. */
const WITHOUT_KEY: Record<Purpose, string> = {
  chat: 'use offline-extractive',
  summarize: 'use offline-summarizer',
  embed: 'leave MODEL_EMBED unset for the offline embedder',
};

/**
 * The first MODEL_* value that cannot be served with the keys present, as one line naming that variable and why; or
 * undefined when every one can. Config loading turns it into a ConfigError, so a wrong model stops startup instead of
 * failing every request later (or being silently ignored).
 */
export function modelSelectionProblem(sel: ModelSelection): string | undefined {
  for (const purpose of ['chat', 'summarize', 'embed'] as const) {
    const id = sel[purpose];
    if (id === undefined) continue;
    const variable = `${VARIABLE[purpose]}=${id}`;
    if (purpose === 'embed' && id === OFFLINE_EMBED_MODEL_ID) {
      if (sel.mistral)
        return `${variable} is the offline embedder, used only without MISTRAL_API_KEY (use mistral-embed or unset MODEL_EMBED)`;
      continue;
    }
    const spec = CATALOG.get(id);
    const fits = modelsFor(purpose);
    if (spec === undefined) return `${variable} is not a known model (${purpose} models: ${fits.join(', ')})`;
    if (!spec.purposes.includes(purpose))
      return `${variable} serves ${spec.purposes.join('/')}, not ${purpose} (use one of ${fits.join(', ')})`;
    if (spec.provider === 'mistral' && !sel.mistral) return `${variable} needs MISTRAL_API_KEY (or ${WITHOUT_KEY[purpose]})`;
  }
  return undefined;
}

/** Ids of the models that can serve `purpose` (the offline embedder included for embeddings). */
function modelsFor(purpose: Purpose): string[] {
  const ids = [...CATALOG.values()].filter((m) => m.purposes.includes(purpose)).map((m) => m.id);
  return purpose === 'embed' ? [...ids, OFFLINE_EMBED_MODEL_ID] : ids;
}

/**
 * The registry from configuration: Mistral models when a key is configured (with the offline models as the last
 * fallback for chat and summaries), the offline ones otherwise. Embeddings never fall back to another model:
 * vectors of two models must not share an index. The selection was checked when the configuration was loaded
 * (modelSelectionProblem); a caller that skips loadConfig with a wrong one gets the same message as an Error.
 */
export function buildModelRegistry(opts: ModelSelection): ModelRegistry {
  const problem = modelSelectionProblem(opts);
  if (problem !== undefined) throw new Error(`Invalid configuration: ${problem}`);
  const models = new Map(CATALOG);
  if (!opts.mistral) {
    return {
      models,
      routes: {
        chat: [opts.chat ?? 'offline-extractive'],
        summarize: [opts.summarize ?? 'offline-summarizer'],
        embed: [],
      },
    };
  }
  const chat = opts.chat ?? 'mistral-small-latest';
  const summarize = opts.summarize ?? 'mistral-small-latest';
  const last = (offline: string) => (opts.offlineFallback === false ? [] : [offline]);
  return {
    models,
    routes: {
      chat: unique([chat, 'mistral-small-latest', ...last('offline-extractive')]),
      summarize: unique([summarize, 'mistral-small-latest', ...last('offline-summarizer')]),
      embed: [opts.embed ?? 'mistral-embed'],
    },
  };
}

const unique = (ids: string[]) => [...new Set(ids)];
