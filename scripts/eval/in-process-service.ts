import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/infra/logger';
import { startServer, type RunningServer } from '../../src/server';

export interface InProcessService {
  server: RunningServer;
  config: Readonly<Config>;
  /** Stops the service and removes what it left: its temp dir and every Redis key under its random prefix. */
  stop(): Promise<void>;
}

/**
 * The service under evaluation, in this process: the caller's environment configures it (models, chunking, store,
 * context shares...), then `fixed` and these win: a random Redis prefix on REDIS_URL (default the local Redis), and
 * startWithTempDataDir's settings. Stopping it also deletes every key under the prefix.
 */
export async function startInProcessService(name: string, fixed: Record<string, string> = {}): Promise<InProcessService> {
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const redisPrefix = `eval${randomBytes(5).toString('hex')}`;
  const service = await startWithTempDataDir(name, process.env, { REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix, ...fixed });
  return {
    ...service,
    stop: async () => {
      await service.stop();
      await dropRedisKeys(redisUrl, redisPrefix).catch((err) => console.error(`could not clean Redis keys: ${err}`));
    },
  };
}

/**
 * The service in this process: `base`, then a temp DATA_DIR, port 0, workers inline and warnings only, then
 * `overrides`. Stopping it (or a failed start) removes the directory; what else the caller set up, it tears down.
 */
export async function startWithTempDataDir(
  name: string,
  base: Record<string, string | undefined>,
  overrides: Record<string, string>,
): Promise<InProcessService> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `ragmem-${name}-`));
  let server: RunningServer;
  let config: Readonly<Config>;
  try {
    config = loadConfig({
      ...base,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RUN_WORKERS: 'inline',
      ...overrides,
    });
    server = await startServer(config, createLogger(config.logLevel));
  } catch (err) {
    await fs.rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    config,
    stop: async () => {
      await server.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every key holding the run's random prefix (queues, documents, sessions, usage) goes. */
async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
