import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/infra/logger';
import { startServer, type RunningServer } from '../../src/server';
import { startQdrantDouble } from './qdrant-double';
import { waitFor } from './wait-for';
import { testRedisEnv } from './test-redis';

export interface TestServer extends RunningServer {
  dataDir: string;
  /** fetch against the server with JSON helpers. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  cleanup(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * The real service (Express, BullMQ workers inline, LanceDB in a temp dir) on port 0 against the test Redis (or the
 * test Redis Cluster in the `redis-cluster` project), under a unique key prefix so test files never see each other's data.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-test-'));
  // The `qdrant` jest project runs the HTTP ingestion suites again on the Qdrant store, against the strict double.
  const qdrant = process.env.TEST_VECTOR_STORE === 'qdrant' && !env.QDRANT_URL ? await startQdrantDouble() : undefined;
  // The project's Redis (the `redis-cluster` project: its cluster), unless the test points the server elsewhere.
  const redis = env.REDIS_URL || env.REDIS_CLUSTER_NODES ? {} : testRedisEnv();
  const config: Readonly<Config> = loadConfig({
    ...redis,
    REDIS_PREFIX: `t${randomBytes(5).toString('hex')}`,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JOB_BACKOFF_MS: '200',
    JOB_LOCK_MS: '5000',
    // In-process workers: the test sees and stops everything it starts. The process model has its own tests.
    RUN_WORKERS: 'inline',
    ...(qdrant ? { QDRANT_URL: qdrant.url } : {}),
    ...env,
  });
  const server = await startServer(config, createLogger(config.logLevel));
  const request = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (typeof body === 'string') init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(server.url + p, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep text */
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };
  return {
    ...server,
    dataDir,
    request,
    cleanup: async () => {
      await server.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
      if (qdrant) {
        await qdrant.close();
        // Strictness: any request the store sent that Qdrant's OpenAPI document rejects fails the suite.
        if (qdrant.rejected.length > 0)
          throw new Error(`the Qdrant double rejected requests: ${JSON.stringify(qdrant.rejected.slice(0, 3))}`);
      }
    },
  };
}

/** Polls a document until it leaves queued/processing. */
export async function waitForDocument(server: TestServer, id: string, headers: Record<string, string> = {}, timeoutMs = 60_000) {
  return waitFor(
    `document ${id} to be ready or failed`,
    async () => {
      const res = await server.request('GET', `/documents/${id}`, undefined, headers);
      if (res.status !== 200) throw new Error(`GET /documents/${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.status === 'ready' || res.body.status === 'failed' ? res.body : undefined;
    },
    timeoutMs,
    50,
  );
}
