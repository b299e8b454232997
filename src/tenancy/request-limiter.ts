import type { RedisClient } from '../infra/redis';
import { AppError, retryAfterHeader } from '../errors';
import { isRedisOutOfMemory } from '../infra/redis';
import { takeTokens, type TakeResult } from '../infra/token-bucket';

export interface RequestLimit {
  /** Requests per second refilled into each key's bucket; 0 turns the limit off. */
  perSecond: number;
  /** The most a key may send at once above the steady rate (the bucket's size). */
  burst: number;
}

/**
 * Requests per second per API key, shared by every API replica through one token bucket per key in Redis (a
 * per-process counter would let N replicas admit N times the limit). Refusals cost one Redis round trip and no work.
 */
export class RequestLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limit: RequestLimit,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limit.perSecond > 0;
  }

  /** Takes one request from the key's bucket, or throws 429 `too_many_requests` with Retry-After. */
  async admit(keyId: string): Promise<void> {
    if (!this.enabled) return;
    const bucket = {
      key: `${this.prefix}:reqlimit:${encodeURIComponent(keyId)}`,
      capacity: Math.max(1, this.limit.burst),
      perMs: this.limit.perSecond / 1000,
      cost: 1,
    };
    const taken = await takeTokens(this.redis, [bucket], this.now()).catch((err: unknown): TakeResult => {
      // Redis at maxmemory refuses the bucket's write but still serves reads: let the request through rather than
      // turn every read into a 507 (writes meet the full Redis themselves and answer storage_full).
      if (isRedisOutOfMemory(err)) return { ok: true, waitMs: 0 };
      throw err;
    });
    if (taken.ok) return;
    throw new AppError(
      'too_many_requests',
      `this API key is over its ${this.limit.perSecond} requests per second; try again in ${Math.ceil(taken.waitMs / 1000)} s`,
      { limitPerSecond: this.limit.perSecond, burst: bucket.capacity, retryAfterMs: taken.waitMs },
      { headers: retryAfterHeader(taken.waitMs) },
    );
  }
}
