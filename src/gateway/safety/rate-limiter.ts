import type { Redis } from 'ioredis';
import { AppError, invalidRequest } from '../../errors';
import { modelKey, sleep, type Clock } from './keys';
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
  /** Clock in ms; every process sharing the Redis should have roughly the same wall clock. */
  now?: Clock;
}

export interface AcquireOptions {
  /** Estimated tokens of this call; correct it afterwards with `settle`. */
  tokens: number;
  /** How long the caller is willing to wait for budget before `rate_limited` is thrown. */
  maxWaitMs: number;
  signal?: AbortSignal;
}

/**
 * The refill rule both scripts share, as a Lua function: the bucket at KEY's level `v` and time `t` after refilling
 * continuously at cap/60 000 per ms up to `now`. A missing state is a full bucket; a clock behind the stored time
 * never refills (or un-fills) it.
 */
const REFILL = `
local function refill(key, cap, now)
  local h = redis.call('HMGET', key, 'v', 't')
  local v = tonumber(h[1])
  local t = tonumber(h[2])
  if v == nil or t == nil then v = cap; t = now end
  if now > t then v = math.min(cap, v + (now - t) * (cap / 60000)); t = now end
  return v, t
end
`;

/**
 * One script, two token buckets (requests and tokens per minute), both refilled continuously at limit/60 000 per ms
 * and both checked before either is taken from: a call goes through only if both have room, atomically across
 * every process on the Redis. Answers {1, 0} when taken, or {0, ms until both would have room}.
 * A bucket whose state is missing is full. A clock behind the stored time never refills (or un-fills) a bucket.
 *
 * KEYS: requests bucket, tokens bucket. ARGV: now, rpm, tpm, tokens, ttlMs.
 */
const ACQUIRE = `${REFILL}
local now = tonumber(ARGV[1])
local limits = { tonumber(ARGV[2]), tonumber(ARGV[3]) }
local costs = { 1, tonumber(ARGV[4]) }
local ttl = tonumber(ARGV[5])
local levels = {}
local wait = 0
for i = 1, 2 do
  local cap = limits[i]
  if cap > 0 then
    local rate = cap / 60000
    local v, t = refill(KEYS[i], cap, now)
    levels[i] = { v, t }
    if v < costs[i] then
      local w = math.ceil((costs[i] - v) / rate)
      if w > wait then wait = w end
    end
  end
end
if wait > 0 then return { 0, wait } end
for i = 1, 2 do
  if limits[i] > 0 then
    redis.call('HSET', KEYS[i], 'v', tostring(levels[i][1] - costs[i]), 't', tostring(levels[i][2]))
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return { 1, 0 }
`;

/**
 * Corrects the tokens bucket by `delta` (actual - estimated): positive takes more, negative gives back. The level may
 * go below zero (the next callers wait for the debt), never above the capacity, never below minus the capacity.
 * KEYS: tokens bucket. ARGV: now, tpm, delta, ttlMs.
 */
const SETTLE = `${REFILL}
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local delta = tonumber(ARGV[3])
local v, t = refill(KEYS[1], cap, now)
v = math.max(-cap, math.min(cap, v - delta))
redis.call('HSET', KEYS[1], 'v', tostring(v), 't', tostring(t))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return tostring(v)
`;

// A bucket refills completely within a minute; after that its state says nothing a missing key does not.
const BUCKET_TTL_MS = 120_000;

/**
 * Per-model request and token budgets shared by every API and worker process on one Redis.
 * Waiting callers re-try when the script says enough will have refilled; there is no queue, so under contention
 * a waiting caller may lose its turn to another one (budgets still hold; order is not guaranteed).
 */
export class RateLimiter {
  private readonly now: Clock;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: RateLimiterOptions,
  ) {
    this.now = clockOf(options);
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

  /** Takes one request and `tokens` tokens from the model's budget, waiting up to `maxWaitMs` for them. */
  async acquire(model: string, opts: AcquireOptions): Promise<{ waitedMs: number }> {
    const limits = this.limitsOf(model);
    if (!limits) return { waitedMs: 0 };
    const tokens = Math.max(0, Math.ceil(opts.tokens));
    if (limits.tpm > 0 && tokens > limits.tpm) {
      throw invalidRequest(`the request needs about ${tokens} tokens, more than the ${limits.tpm} tokens per minute allowed for ${model}`, {
        model,
        tokens,
        tokensPerMinute: limits.tpm,
      });
    }
    const started = this.now();
    const deadline = started + Math.max(0, opts.maxWaitMs);
    for (;;) {
      opts.signal?.throwIfAborted();
      const now = this.now();
      const [ok, waitMs] = (await this.redis.eval(
        ACQUIRE,
        2,
        modelKey(this.prefix, model, 'rl', 'req'),
        modelKey(this.prefix, model, 'rl', 'tok'),
        now,
        limits.rpm,
        limits.tpm,
        tokens,
        BUCKET_TTL_MS,
      )) as [number, number];
      if (ok === 1) return { waitedMs: now - started };
      if (now + waitMs > deadline) throw rateLimited(model, waitMs);
      await sleep(waitMs, opts.signal);
    }
  }

  /** After the call: `delta` = actual tokens - estimated tokens. No-op for models without a token limit. */
  async settle(model: string, delta: number): Promise<void> {
    const limits = this.limitsOf(model);
    if (!limits || limits.tpm <= 0 || !Number.isFinite(delta) || delta === 0) return;
    await this.redis.eval(SETTLE, 1, modelKey(this.prefix, model, 'rl', 'tok'), this.now(), limits.tpm, Math.round(delta), BUCKET_TTL_MS);
  }
}

function rateLimited(model: string, retryAfterMs: number): AppError {
  return new AppError('rate_limited', `the rate limit of ${model} is reached; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    { model, retryAfterMs },
    { retryable: true, headers: retryAfterHeader(retryAfterMs) },
  );
}
