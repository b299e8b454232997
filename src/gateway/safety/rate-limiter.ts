import type { RedisClient } from '../../infra/redis';
import { AppError, invalidRequest } from '../../errors';
import { adjustTokens, takeTokens, type Bucket } from '../../infra/token-bucket';
import { enc, modelKey, sleep, type Clock } from './keys';
import { clockOf } from './options';
import { retryAfterHeader } from './retry';

export interface ModelRateLimits {
  /** Requests per minute; unset or 0 means no request limit. */
  requestsPerMinute?: number;
  /** Tokens (prompt + expected completion) per minute; unset or 0 means no token limit. */
  tokensPerMinute?: number;
}

export interface RateLimiterOptions {
  /** Limits per model registry id (the id the gateway passes to `acquire`). A model without an entry passes through. */
  limits: Record<string, ModelRateLimits>;
  /**
   * The fraction (0 < share <= 1) of each model's budgets one tenant may use, so a flood from one tenant leaves the
   * rest to the others. 1 (the default here) means no per-tenant budget.
   */
  tenantShare?: number;
  /** Clock in ms; every process sharing the Redis should have roughly the same wall clock. */
  now?: Clock;
}

export interface AcquireOptions {
  /** Whose share of the budget the call takes from. */
  tenant: string;
  /** Estimated tokens of this call; correct it afterwards with `settle`. */
  tokens: number;
  /** How long the caller is willing to wait for budget before `rate_limited` is thrown. */
  maxWaitMs: number;
  signal?: AbortSignal;
}

/**
 * Per-model request and token budgets shared by every API and worker process on one Redis, and within each a
 * per-tenant share (MODEL_TENANT_SHARE). A call takes from the model's buckets and from its tenant's in one script, so
 * it goes through only if both have room. All of a model's buckets carry the model's hash tag: one Redis Cluster slot.
 * Waiting callers re-try when the script says enough will have refilled; there is no queue, so under contention
 * a waiting caller may lose its turn to another one (budgets still hold; order is not guaranteed).
 */
export class RateLimiter {
  private readonly now: Clock;
  private readonly share: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly options: RateLimiterOptions,
  ) {
    this.now = clockOf(options);
    this.share = options.tenantShare ?? 1;
    if (!(this.share > 0 && this.share <= 1)) throw new Error('the tenant share of a model budget must be in (0, 1]');
    for (const [model, l] of Object.entries(options.limits)) {
      for (const v of [l.requestsPerMinute, l.tokensPerMinute]) {
        if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new Error(`rate limits of ${model} must be non-negative numbers`);
      }
    }
  }

  private limitsOf(model: string) {
    const l = this.options.limits[model];
    const rpm = l?.requestsPerMinute ?? 0;
    const tpm = l?.tokensPerMinute ?? 0;
    return rpm > 0 || tpm > 0 ? { rpm, tpm } : undefined;
  }

  /** A tenant's share of a per-minute budget: never below one unit, or a small budget would admit nobody. */
  private shareOf(perMinute: number) {
    return Math.max(1, Math.floor(perMinute * this.share));
  }

  /**
   * The buckets a call draws on: the model's requests and tokens, then (with a share below 1) the tenant's. `scope`
   * says whose each one is, for the error when it is the one that refuses.
   */
  private buckets(model: string, tenant: string, limits: { rpm: number; tpm: number }, tokens: number) {
    const out: Array<Bucket & { scope: 'model' | 'tenant'; kind: 'req' | 'tok' }> = [];
    const add = (scope: 'model' | 'tenant', kind: 'req' | 'tok', perMinute: number, cost: number) => {
      if (perMinute <= 0) return;
      const capacity = scope === 'model' ? perMinute : this.shareOf(perMinute);
      const key = scope === 'model' ? modelKey(this.prefix, model, 'rl', kind) : modelKey(this.prefix, model, 'rl', kind, 't', enc(tenant));
      out.push({ key, capacity, perMs: capacity / 60_000, cost, scope, kind });
    };
    add('model', 'req', limits.rpm, 1);
    add('model', 'tok', limits.tpm, tokens);
    if (this.share < 1) {
      add('tenant', 'req', limits.rpm, 1);
      add('tenant', 'tok', limits.tpm, tokens);
    }
    return out;
  }

  /** Takes one request and `tokens` tokens from the model's budget and the tenant's share, waiting up to `maxWaitMs`. */
  async acquire(model: string, opts: AcquireOptions): Promise<{ waitedMs: number }> {
    const limits = this.limitsOf(model);
    if (!limits) return { waitedMs: 0 };
    const tokens = Math.max(0, Math.ceil(opts.tokens));
    const buckets = this.buckets(model, opts.tenant, limits, tokens);
    const tooBig = buckets.find((b) => b.kind === 'tok' && tokens > b.capacity);
    if (tooBig) {
      const whose = tooBig.scope === 'model' ? `allowed for ${model}` : `a tenant may use of ${model} (MODEL_TENANT_SHARE)`;
      throw invalidRequest(`the request needs about ${tokens} tokens, more than the ${tooBig.capacity} tokens per minute ${whose}`, {
        model,
        tokens,
        tokensPerMinute: tooBig.capacity,
      });
    }
    const started = this.now();
    const deadline = started + Math.max(0, opts.maxWaitMs);
    for (;;) {
      opts.signal?.throwIfAborted();
      const now = this.now();
      const taken = await takeTokens(this.redis, buckets, now);
      if (taken.ok) return { waitedMs: now - started };
      if (now + taken.waitMs > deadline) throw rateLimited(model, taken.waitMs, buckets[taken.blocking ?? 0].scope, this.share);
      await sleep(taken.waitMs, opts.signal);
    }
  }

  /** After the call: `delta` = actual tokens - estimated tokens. No-op for models without a token limit. */
  async settle(model: string, tenant: string, delta: number): Promise<void> {
    const limits = this.limitsOf(model);
    if (!limits || limits.tpm <= 0 || !Number.isFinite(delta) || delta === 0) return;
    const buckets = this.buckets(model, tenant, { rpm: 0, tpm: limits.tpm }, Math.round(delta));
    await adjustTokens(this.redis, buckets, this.now());
  }
}

function rateLimited(model: string, retryAfterMs: number, scope: 'model' | 'tenant', share: number): AppError {
  const what =
    scope === 'model' ? `the rate limit of ${model}` : `this tenant's share (${Math.round(share * 100)}%) of the rate limit of ${model}`;
  return new AppError(
    'rate_limited',
    `${what} is reached; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    { model, scope, retryAfterMs },
    { retryable: true, headers: retryAfterHeader(retryAfterMs) },
  );
}
