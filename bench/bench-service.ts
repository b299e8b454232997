import type { Config } from '../src/config';
import { startWithTempDataDir, type InProcessService } from '../scripts/eval/in-process-service';
import { startRedis } from '../test/support/redis-server';

export interface BenchService {
  base: string;
  config: Readonly<Config>;
  /** Stops the service and its Redis, and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * The whole service in this process, on a throwaway Redis and a temp data directory (offline provider, LanceDB,
 * workers inline): what the in-process benches measure through HTTP.
 */
export async function startBenchService(name: string, env: Record<string, string> = {}): Promise<BenchService> {
  const redis = await startRedis();
  let service: InProcessService;
  try {
    service = await startWithTempDataDir(`bench-${name}`, {}, { REDIS_URL: redis.url, REDIS_PREFIX: `bench${name}`, ...env });
  } catch (err) {
    await redis.stop();
    throw err;
  }
  return {
    base: service.server.url,
    config: service.config,
    stop: async () => {
      await service.stop();
      await redis.stop();
    },
  };
}
