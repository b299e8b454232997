import { startRedis } from './redis-server';

/** One throwaway Redis for the whole run unless REDIS_URL points at one; tests isolate by key prefix. */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  const redis = await startRedis();
  process.env.REDIS_URL = redis.url;
  (globalThis as { __testRedis?: typeof redis }).__testRedis = redis;
}
