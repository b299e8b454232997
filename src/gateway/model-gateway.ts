import type { Logger } from 'pino';
import { AppError, isAppError } from '../errors';
import type { ModelRegistry, ModelSpec } from './model-registry';
import type { ChatMessage } from '../core/chat-message';
import type { ChatRequest, ChatResult, ModelProvider, Purpose, TokenUsage } from './provider';
import type { BreakerState, CircuitBreaker } from './safety/circuit-breaker';
import type { ChatCache } from './safety/chat-cache';
import type { EmbeddingCache } from './safety/embedding-cache';
import { costUsd } from './safety/pricing';
import type { RateLimiter } from './safety/rate-limiter';
import { retryWithBackoff, type RetryOptions } from './safety/retry';
import type { UsageMeter } from './safety/usage-meter';
import type { Metrics } from '../infra/metrics';
import { countMessages } from '../core/tokens/message-tokens';

/** Default of GatewayDeps.maxQueueWaitMs. */
export const DEFAULT_MAX_QUEUE_WAIT_MS = 10_000;

export interface GatewayDeps {
  registry: ModelRegistry;
  providers: Partial<Record<ModelSpec['provider'], ModelProvider>>;
  limiter: RateLimiter;
  breaker: CircuitBreaker;
  embeddingCache: EmbeddingCache;
  chatCache: ChatCache;
  usage: UsageMeter;
  logger: Logger;
  retry?: Omit<RetryOptions, 'signal'>;
  /** How long a caller waits for rate-limit budget before `rate_limited`. */
  maxQueueWaitMs?: number;
  /** Token counter (tekken), for the rate limiter's estimate of a call's tokens before it is made. */
  countTokens: (text: string) => number;
  logPrompts?: boolean;
  metrics?: Pick<Metrics, 'modelCalls' | 'modelTokens' | 'modelCostUsd'> &
    Partial<Pick<Metrics, 'cacheLookups' | 'rateLimitWaits' | 'rateLimitWaitSeconds'>>;
}

export interface GatewayChatRequest {
  tenant: string;
  purpose: 'chat' | 'summarize';
  messages: ChatMessage[];
  /** A registry id: overrides the route (no fallback then). */
  model?: string;
  maxTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
  /**
   * The prompt's token count when the caller already has it (the context builder counts exactly this), so the
   * gateway does not tokenise the whole prompt again for its rate-limit estimate.
   */
  promptTokens?: number;
}

export type GatewayChatResult = ChatResult & { modelId: string; costUsd: number; cached: boolean };

/**
 * The one way the service calls models. Per call: pick the route's first model whose breaker is closed, wait for
 * rate-limit budget (shared through Redis), call with retries (backoff with jitter, Retry-After honoured), then
 * account tokens and cost per tenant. A model that keeps failing opens its breaker and the next one is tried; when
 * every model is open the caller gets 503 `model_unavailable` at once.
 */
export class ModelGateway {
  constructor(private readonly deps: GatewayDeps) {}

  spec(id: string): ModelSpec {
    const spec = this.deps.registry.models.get(id);
    if (!spec)
      throw new AppError('unknown_model', `Model "${id}" is not in the registry`, { known: [...this.deps.registry.models.keys()] });
    return spec;
  }

  /** The model a chat or summary request would try first: the one it pins, else its route's primary. */
  primary(purpose: 'chat' | 'summarize', model?: string): ModelSpec {
    const id = model ?? this.deps.registry.routes[purpose][0];
    if (!id) throw new AppError('model_unavailable', `No ${purpose} model is configured`);
    return this.spec(id);
  }

  async chat(req: GatewayChatRequest): Promise<GatewayChatResult> {
    const candidates = this.route(req);
    const promptTokens = this.promptTokens(req);
    let lastError: unknown;
    for await (const { id, spec, provider } of this.callable(candidates)) {
      const providerReq = this.providerRequest(spec, req);
      const cached = await this.deps.chatCache.get(providerReq, req.tenant);
      if (this.deps.chatCache.isCacheable(providerReq)) {
        this.deps.metrics?.cacheLookups?.inc({ cache: req.purpose === 'summarize' ? 'summary' : 'chat', result: cached ? 'hit' : 'miss' });
      }
      if (cached) return { ...cached, modelId: id, costUsd: 0, cached: true };
      try {
        const estimated = promptTokens + providerReq.maxTokens;
        const { result, cost } = await this.call(
          spec,
          provider,
          req.purpose,
          req.tenant,
          estimated,
          req.signal,
          (p) => p.chat(providerReq),
          req.messages,
        );
        await this.deps.chatCache.set(providerReq, result, req.tenant);
        return { ...result, modelId: id, costUsd: cost, cached: false };
      } catch (err) {
        if (!isAppError(err) || !err.retryable || err.code === 'rate_limited') throw err;
        lastError = err; // this model is failing: try the next one
      }
    }
    throw unavailable(req.purpose, candidates, lastError);
  }

  /**
   * Streams a chat answer: deltas, then `done` with the result. A model that fails before its first delta is
   * treated like a failed call (breaker, next model); once text has been sent, an error ends the stream.
   */
  async *chatStream(
    req: GatewayChatRequest,
  ): AsyncGenerator<{ type: 'delta'; text: string } | { type: 'done'; result: GatewayChatResult }> {
    const candidates = this.route(req);
    const promptTokens = this.promptTokens(req);
    let lastError: unknown;
    for await (const { id, spec, provider } of this.callable(candidates)) {
      const providerReq = this.providerRequest(spec, req);
      const estimated = promptTokens + providerReq.maxTokens;
      await this.acquire(spec, req.purpose, req.tenant, estimated, req.signal);
      const started = performance.now();
      let sent = false;
      try {
        for await (const event of provider.chatStream(providerReq)) {
          if (event.type === 'delta') {
            sent = true;
            yield event;
            continue;
          }
          const cost = await this.succeeded(spec, req.purpose, req.tenant, event.result.usage, estimated, {
            started,
            attempts: 1,
            stream: true,
            messages: req.messages,
          });
          yield { type: 'done', result: { ...event.result, modelId: id, costUsd: cost, cached: false } };
          return;
        }
        throw new AppError('upstream_unavailable', `The ${id} stream ended without a result`, { model: id });
      } catch (err) {
        await this.failed(spec, req.purpose, req.tenant, err, { started, attempts: 1, stream: true });
        if (sent || !(isAppError(err) && err.retryable)) throw err;
        lastError = err;
      }
    }
    throw unavailable(req.purpose, candidates, lastError);
  }

  /**
   * Embeddings through the cache: only texts this tenant has not embedded before (with this model) reach the provider.
   * `model` pins another embedding model than the configured one (a collection reindexed to it); there is never a
   * fallback. The cache is per tenant, so a hit is always the tenant's own earlier (already metered) call: recording no
   * usage for it tells the tenant nothing about other tenants. A shared cache would save the provider calls of texts
   * several tenants embed, but its hits (no usage, faster answer) would tell one tenant what another had embedded.
   */
  async embed(
    tenant: string,
    texts: string[],
    opts: { signal?: AbortSignal; model?: string; tokenCounts?: readonly number[] } = {},
  ): Promise<Float32Array[]> {
    const { signal, model, tokenCounts } = opts;
    const id = model ?? this.deps.registry.routes.embed[0];
    if (!id) throw new AppError('model_unavailable', 'No embedding model is configured');
    const cached = await this.deps.embeddingCache.getMany(id, texts, tenant);
    const missing = texts.map((t, i) => (cached[i] ? -1 : i)).filter((i) => i >= 0);
    this.deps.metrics?.cacheLookups?.inc({ cache: 'embedding', result: 'hit' }, texts.length - missing.length);
    this.deps.metrics?.cacheLookups?.inc({ cache: 'embedding', result: 'miss' }, missing.length);
    if (missing.length === 0) return cached as Float32Array[];
    const candidate = (await this.callable([id]).next()).value;
    if (!candidate) throw unavailable('embed', [id]);
    const { spec, provider } = candidate;
    const fresh = missing.map((i) => texts[i]);
    const estimated = missing.reduce((n, i) => n + (tokenCounts?.[i] ?? this.deps.countTokens(texts[i])), 0);
    const { result } = await this.call(spec, provider, 'embed', tenant, estimated, signal, (p) => p.embed(spec.name, fresh, { signal }));
    await this.deps.embeddingCache.setMany(id, fresh, result.vectors, tenant);
    const out = [...cached];
    missing.forEach((i, j) => (out[i] = result.vectors[j]));
    return out as Float32Array[];
  }

  private get maxQueueWaitMs(): number {
    return this.deps.maxQueueWaitMs ?? DEFAULT_MAX_QUEUE_WAIT_MS;
  }

  /** The models to try: the one the request pins, or the purpose's route. */
  private route(req: GatewayChatRequest): string[] {
    return req.model ? [this.spec(req.model).id] : [...this.deps.registry.routes[req.purpose]];
  }

  /**
   * The breaker state of every model this deployment serves, read from Redis (shared by all processes), for the
   * metrics scrape. An open breaker past its cool-down reads as half-open: the next call is its trial.
   */
  async breakerStates(): Promise<Array<{ model: string; provider: string; state: BreakerState }>> {
    const served = [...this.deps.registry.models.values()].filter((spec) => this.serves(spec));
    return Promise.all(
      served.map(async (spec) => ({ model: spec.id, provider: spec.provider, state: (await this.deps.breaker.state(spec.id)).state })),
    );
  }

  /** Whether this deployment has the model's provider configured (Mistral needs its key; offline is always there). */
  serves(spec: ModelSpec): boolean {
    return this.deps.providers[spec.provider] !== undefined;
  }

  /**
   * The candidates that may be called now, in order: a model whose provider is not configured is skipped before its
   * breaker is asked (so it never claims a half-open trial); then one whose breaker refuses the call.
   */
  private async *callable(candidates: string[]): AsyncGenerator<{ id: string; spec: ModelSpec; provider: ModelProvider }> {
    for (const id of candidates) {
      const spec = this.spec(id);
      if (!this.serves(spec) || !(await this.deps.breaker.canCall(id))) continue;
      yield { id, spec, provider: this.deps.providers[spec.provider]! };
    }
  }

  /** The prompt's tokens for the rate limiter's estimate (the same count for every candidate). */
  private promptTokens(req: GatewayChatRequest): number {
    return req.promptTokens ?? countMessages(req.messages, { count: this.deps.countTokens });
  }

  private providerRequest(spec: ModelSpec, req: GatewayChatRequest): ChatRequest & { maxTokens: number } {
    return {
      model: spec.name,
      messages: req.messages,
      maxTokens: req.maxTokens ?? spec.maxOutputTokens,
      temperature: req.temperature,
      signal: req.signal,
    };
  }

  /** One provider call with the rate limit before it, retries around it and the bookkeeping after it. */
  private async call<T extends { usage: TokenUsage }>(
    spec: ModelSpec,
    provider: ModelProvider,
    purpose: Purpose,
    tenant: string,
    estimatedTokens: number,
    signal: AbortSignal | undefined,
    fn: (provider: ModelProvider) => Promise<T>,
    messages?: ChatMessage[],
  ): Promise<{ result: T; cost: number }> {
    const started = performance.now();
    let attempts = 0;
    await this.acquire(spec, purpose, tenant, estimatedTokens, signal);
    try {
      const result = await retryWithBackoff(
        () => {
          attempts++;
          return fn(provider);
        },
        { ...this.deps.retry, signal },
      );
      const cost = await this.succeeded(spec, purpose, tenant, result.usage, estimatedTokens, { started, attempts, messages });
      return { result, cost };
    } catch (err) {
      await this.failed(spec, purpose, tenant, err, { started, attempts });
      throw err;
    }
  }

  /** Rate-limit budget for one call, waiting up to MODEL_QUEUE_WAIT_MS; a wait (or a refusal) is counted. */
  private async acquire(spec: ModelSpec, purpose: Purpose, tenant: string, tokens: number, signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    const m = this.deps.metrics;
    const counted = (outcome: 'acquired' | 'refused', waitedMs: number) => {
      m?.rateLimitWaits?.inc({ limiter: 'model', model: spec.id, purpose, outcome });
      m?.rateLimitWaitSeconds?.inc({ limiter: 'model', model: spec.id, purpose }, waitedMs / 1000);
    };
    try {
      const { waitedMs } = await this.deps.limiter.acquire(spec.id, { tenant, tokens, maxWaitMs: this.maxQueueWaitMs, signal });
      if (waitedMs > 0) counted('acquired', waitedMs);
    } catch (err) {
      if (isAppError(err) && err.code === 'rate_limited') counted('refused', performance.now() - started);
      throw err;
    }
  }

  /** After a successful call: breaker, rate-limit correction, usage, log and metrics. Answers the call's cost. */
  private async succeeded(
    spec: ModelSpec,
    purpose: Purpose,
    tenant: string,
    usage: TokenUsage,
    estimatedTokens: number,
    info: { started: number; attempts: number; stream?: boolean; messages?: ChatMessage[] },
  ): Promise<number> {
    const cost = costUsd(spec.pricing, usage);
    // Independent writes: issued together, they share one Redis round trip.
    await Promise.all([
      this.deps.breaker.recordSuccess(spec.id),
      this.deps.limiter.settle(spec.id, tenant, usage.promptTokens + usage.completionTokens - estimatedTokens),
      this.deps.usage.record({ tenant, model: spec.id, purpose, ...usage, costUsd: cost }),
    ]);
    // Prompt text stays out of logs unless LOG_PROMPTS=true: it holds users' documents and questions.
    const prompt = this.deps.logPrompts && info.messages ? { messages: info.messages } : {};
    const ms = Math.round(performance.now() - info.started);
    this.deps.logger.info(
      { model: spec.id, purpose, tenant, ms, attempts: info.attempts, stream: info.stream, ...usage, outcome: 'ok', ...prompt },
      'model call',
    );
    const m = this.deps.metrics;
    m?.modelCalls.inc({ model: spec.id, purpose, outcome: 'ok' });
    m?.modelTokens.inc({ model: spec.id, purpose, kind: 'prompt' }, usage.promptTokens);
    m?.modelTokens.inc({ model: spec.id, purpose, kind: 'completion' }, usage.completionTokens);
    m?.modelCostUsd.inc({ model: spec.id, purpose }, cost);
    return cost;
  }

  /** After a failed call: only retryable failures (the provider is unwell) count against the breaker. */
  private async failed(
    spec: ModelSpec,
    purpose: Purpose,
    tenant: string,
    err: unknown,
    info: { started: number; attempts: number; stream?: boolean },
  ) {
    if (isAppError(err) && err.retryable) await this.deps.breaker.recordFailure(spec.id);
    const outcome = isAppError(err) ? err.code : 'error';
    const ms = Math.round(performance.now() - info.started);
    this.deps.logger.warn(
      { model: spec.id, purpose, tenant, ms, attempts: info.attempts, stream: info.stream, outcome },
      'model call failed',
    );
    this.deps.metrics?.modelCalls.inc({ model: spec.id, purpose, outcome });
  }
}

const unavailable = (purpose: Purpose, tried: string[], cause?: unknown) =>
  new AppError('model_unavailable', `No ${purpose} model is available right now`, { tried }, { cause, headers: { 'Retry-After': '5' } });
