import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { startServer } from '../src/server';
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
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `ragmem-bench-${name}-`));
  const config = loadConfig({
    REDIS_URL: redis.url,
    REDIS_PREFIX: `bench${name}`,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RUN_WORKERS: 'inline',
    ...env,
  });
  const server = await startServer(config, createLogger(config.logLevel));
  return {
    base: server.url,
    config,
    stop: async () => {
      await server.stop();
      await redis.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
