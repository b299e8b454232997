import { startRedis } from './redis-server';

/**
 * One throwaway Redis for the whole run unless REDIS_URL points at one; tests isolate by key prefix.
 * Its pid travels to globalTeardown through the environment (the two do not share module state).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  const redis = await startRedis();
  process.env.REDIS_URL = redis.url;
  process.env.RAGMEM_TEST_REDIS_PID = String(redis.pid());
}
