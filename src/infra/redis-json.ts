import type { RedisClient } from './redis';

/**
 * Read-modify-write of a JSON value by compare-and-set: read, compute, then write only if the value is still what was
 * read, else read again. No WATCH: the command connection is shared by concurrent requests, and WATCH state belongs
 * to the connection. `change` answers the new value (and, optionally, for how long to keep it), or undefined to leave
 * the value alone; the result is the value written, or undefined when the key is missing or `change` declined.
 */
export async function updateJson<T>(
  redis: RedisClient,
  key: string,
  change: (current: T) => { value: T; ttlSeconds?: number } | undefined,
  maxAttempts: number,
): Promise<T | undefined> {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const raw = await redis.get(key);
    if (raw === null) return undefined;
    const next = change(JSON.parse(raw) as T);
    if (next === undefined) return undefined;
    if ((await redis.eval(COMPARE_AND_SET, 1, key, raw, JSON.stringify(next.value), next.ttlSeconds ?? 0)) === 1) return next.value;
  }
  throw new Error(`${key}: too much contention updating it`);
}

// KEYS[1] the value; ARGV[1] the value read, ARGV[2] the new value, ARGV[3] seconds to keep it (0: no expiry).
const COMPARE_AND_SET = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) else redis.call('set', KEYS[1], ARGV[2]) end
return 1`;
