import type { RedisClient } from '../../infra/redis';
import { enc, modelKey, sha256, type Clock } from './keys';
import { clockOf, requirePositive, requirePositiveInt } from './options';

export interface EmbeddingCacheOptions {
  /** Time to live of each entry. Default 7 days. */
  ttlMs?: number;
  /** Approximate bound on entries per model; the oldest inserted beyond it are evicted. Default 100 000. */
  maxEntries?: number;
  now?: Clock;
}

export const DEFAULT_EMBEDDING_TTL_MS = 7 * 86_400_000;
export const DEFAULT_EMBEDDING_MAX_ENTRIES = 100_000;

/**
 * Writes entries and keeps the per-model index bounded, in one script.
 * KEYS: index sorted set, then one key per entry. ARGV: now, ttlMs, maxEntries, then one vector per entry.
 * The index maps entry key -> insertion time. Members older than the TTL have expired on their own and are dropped;
 * beyond maxEntries the oldest are deleted (entry and member). Returns the number evicted.
 */
const SET_MANY = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 2], 'PX', ttl)
  redis.call('ZADD', KEYS[1], now, KEYS[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local n = redis.call('ZCARD', KEYS[1])
local evicted = 0
if n > max then
  local old = redis.call('ZRANGE', KEYS[1], 0, n - max - 1)
  for i = 1, #old, 500 do
    redis.call('DEL', unpack(old, i, math.min(i + 499, #old)))
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - max - 1)
  evicted = #old
end
redis.call('PEXPIRE', KEYS[1], ttl)
return evicted
`;

/**
 * Embeddings by model + tenant + sha256(text), stored as raw little-endian Float32 bytes with a TTL.
 *
 * Memory bound: Redis `maxmemory` with an eviction policy (allkeys-lru, volatile-lru, ...) would bound this cache,
 * but the same Redis holds BullMQ queues, which need `maxmemory-policy noeviction` (evicting a job key corrupts the
 * queue). So the bound is kept here instead: each model has a sorted set of its entry keys scored by insertion
 * time, and each write drops the oldest beyond `maxEntries`, in the same script. It is approximate: entries that
 * expired by TTL linger in the index until they are older than the TTL (they only lower the real count), and the
 * bound is per model, so the total is maxEntries x models x dimensions x 4 bytes.
 * Reads do not refresh anything (FIFO, not LRU): cheap, one MGET.
 */
export class EmbeddingCache {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: Clock;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: EmbeddingCacheOptions = {},
  ) {
    this.ttlMs = requirePositive('ttlMs', options.ttlMs ?? DEFAULT_EMBEDDING_TTL_MS);
    this.maxEntries = requirePositiveInt('maxEntries', options.maxEntries ?? DEFAULT_EMBEDDING_MAX_ENTRIES);
    this.now = clockOf(options);
  }

  /**
   * Entries are per tenant: a hit can only come from the same tenant's earlier call, so neither `/usage` (a hit records
   * no usage) nor latency tells a tenant that another one embedded the same text. The gateway always passes the
   * tenant; without one (tools, tests of the cache itself) entries live in a space no tenant's calls read.
   */
  private entryKey(model: string, text: string, tenant: string | undefined) {
    return tenant === undefined
      ? modelKey(this.prefix, model, 'emb', sha256(text))
      : modelKey(this.prefix, model, 'emb', 't', enc(tenant), sha256(text));
  }

  /** One MGET; `undefined` for each miss, in the order of `texts`. */
  async getMany(model: string, texts: string[], tenant?: string): Promise<(Float32Array | undefined)[]> {
    if (texts.length === 0) return [];
    const raw = await this.redis.mgetBuffer(...texts.map((t) => this.entryKey(model, t, tenant)));
    return raw.map((b) => (b && b.length > 0 && b.length % 4 === 0 ? toVector(b) : undefined));
  }

  /** Stores `vectors[i]` for `texts[i]`. Returns how many old entries were evicted to keep the bound. */
  async setMany(model: string, texts: string[], vectors: Float32Array[], tenant?: string): Promise<number> {
    if (texts.length !== vectors.length) throw new Error(`setMany got ${texts.length} texts and ${vectors.length} vectors`);
    if (texts.length === 0) return 0;
    // The same text twice in one batch would be one key twice: keep the last.
    const byKey = new Map<string, Buffer>();
    texts.forEach((t, i) => byKey.set(this.entryKey(model, t, tenant), toBuffer(vectors[i])));
    const keys = [...byKey.keys()];
    return (await this.redis.eval(
      SET_MANY,
      1 + keys.length,
      modelKey(this.prefix, model, 'emb', 'index'),
      ...keys,
      this.now(),
      this.ttlMs,
      this.maxEntries,
      ...byKey.values(),
    )) as number;
  }
}

function toBuffer(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

// Copies into a fresh, aligned ArrayBuffer (a Buffer from ioredis may sit at any offset of a shared pool).
function toVector(b: Buffer): Float32Array {
  return new Float32Array(new Uint8Array(b).buffer);
}
