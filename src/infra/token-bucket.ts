import type { RedisClient } from './redis';

/**
 * Token buckets kept in Redis, so every API and worker process draws on the same budget. Hand-written rather than a
 * rate-limit library: one script must check several buckets (a model's and a tenant's share of it) and take from
 * all or none, and callers need the exact wait until all of them have room.
 *
 * A bucket holds at most `capacity` and refills continuously at `perMs` per millisecond. A missing bucket is full;
 * a clock behind the stored time never refills (or un-fills) one.
 */
export interface Bucket {
  key: string;
  capacity: number;
  /** Refill per millisecond (capacity / 60 000 for a per-minute budget). */
  perMs: number;
  /** What this call takes (or, for `adjust`, the signed correction). */
  cost: number;
}

export interface TakeResult {
  ok: boolean;
  /** When refused: ms until every bucket would have room for its cost. */
  waitMs: number;
  /** When refused: the index (into the buckets given) of the one that needs the longest wait. */
  blocking?: number;
}

const REFILL = `
local function refill(key, cap, per, now)
  local h = redis.call('HMGET', key, 'v', 't')
  local v = tonumber(h[1])
  local t = tonumber(h[2])
  if v == nil or t == nil then v = cap; t = now end
  if now > t then v = math.min(cap, v + (now - t) * per); t = now end
  return v, t
end
`;

/**
 * Checks every bucket, then takes from all of them or from none. Answers {1, 0, 0} when taken, else
 * {0, ms until all would have room, 1-based index of the bucket with the longest wait}.
 * KEYS: the buckets. ARGV: now, ttlMs, then capacity, perMs, cost for each bucket.
 */
const TAKE = `${REFILL}
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local levels = {}
local wait = 0
local blocking = 0
for i = 1, #KEYS do
  local cap = tonumber(ARGV[3 * i])
  local per = tonumber(ARGV[3 * i + 1])
  local cost = tonumber(ARGV[3 * i + 2])
  local v, t = refill(KEYS[i], cap, per, now)
  levels[i] = { v, t, cost }
  if v < cost then
    local w = math.ceil((cost - v) / per)
    if w > wait then wait = w; blocking = i end
  end
end
if wait > 0 then return { 0, wait, blocking } end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'v', tostring(levels[i][1] - levels[i][3]), 't', tostring(levels[i][2]))
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return { 1, 0, 0 }
`;

/**
 * Corrects each bucket by its cost (positive takes more, negative gives back): the level may go below zero (later
 * callers wait for the debt), never above the capacity, never below minus the capacity.
 * KEYS: the buckets. ARGV: now, ttlMs, then capacity, perMs, delta for each bucket.
 */
const ADJUST = `${REFILL}
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
for i = 1, #KEYS do
  local cap = tonumber(ARGV[3 * i])
  local v, t = refill(KEYS[i], cap, tonumber(ARGV[3 * i + 1]), now)
  v = math.max(-cap, math.min(cap, v - tonumber(ARGV[3 * i + 2])))
  redis.call('HSET', KEYS[i], 'v', tostring(v), 't', tostring(t))
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 1
`;

const argsOf = (buckets: readonly Bucket[]) => buckets.flatMap((b) => [b.capacity, b.perMs, b.cost]);

/** A bucket's state expires once it would have refilled completely anyway (then a missing key says the same). */
const ttlOf = (buckets: readonly Bucket[]) => Math.ceil(Math.max(...buckets.map((b) => b.capacity / b.perMs)) * 2) + 1000;

/**
 * Takes each bucket's cost from it, atomically, or nothing. On Redis Cluster all keys must share a slot (one hash tag).
 */
export async function takeTokens(redis: RedisClient, buckets: readonly Bucket[], now: number): Promise<TakeResult> {
  if (buckets.length === 0) return { ok: true, waitMs: 0 };
  const [ok, waitMs, blocking] = (await redis.eval(
    TAKE,
    buckets.length,
    ...buckets.map((b) => b.key),
    now,
    ttlOf(buckets),
    ...argsOf(buckets),
  )) as [number, number, number];
  return ok === 1 ? { ok: true, waitMs: 0 } : { ok: false, waitMs, blocking: blocking - 1 };
}

/** Corrects buckets after the fact (a call's actual tokens minus its estimate), each by its `cost`. */
export async function adjustTokens(redis: RedisClient, buckets: readonly Bucket[], now: number): Promise<void> {
  if (buckets.length === 0) return;
  await redis.eval(ADJUST, buckets.length, ...buckets.map((b) => b.key), now, ttlOf(buckets), ...argsOf(buckets));
}
