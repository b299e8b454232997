import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { ADMIN_QUEUES_PATH } from '../../src/api/openapi/openapi-document';
import { ConfigError, loadConfig } from '../../src/config';
import { startServer, type RunningServer } from '../../src/server';
import { KeyStore } from '../../src/tenancy/key-store';
import { holdsWithin } from '../support/change-bound';
import { startRedis, type ThrowawayRedis } from '../support/redis-server';
import { exitOf, spawnEntry } from '../support/spawn-entry';
import { startTestServer, type TestServer } from '../support/test-server';

/** Where the API listens and what it shows without keys, decided at startup from whether any key exists. */
const ADMIN_KEY = 'admin-0123456789abcdef';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const newPrefix = () => `t${randomBytes(5).toString('hex')}`;

/** The real startServer with the environment as given (HOST unset unless named) and the warn lines it logs. */
async function startRaw(env: Record<string, string>): Promise<{ server: RunningServer; warnings: string[]; done: () => Promise<void> }> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-test-'));
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  const config = loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: newPrefix(),
    DATA_DIR: dataDir,
    PORT: '0',
    RUN_WORKERS: 'off',
    ...env,
  });
  const done = () => fs.rm(dataDir, { recursive: true, force: true });
  try {
    const server = await startServer(config, logger);
    return {
      server,
      warnings,
      done: async () => {
        await server.stop();
        await done();
      },
    };
  } catch (err) {
    await done();
    throw err;
  }
}

/** A KeyStore of its own on a prefix (as `npm run keys` would be), to make keys before a server starts. */
async function withKeyStore<T>(prefix: string, run: (store: KeyStore) => Promise<T>): Promise<T> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(process.env.REDIS_URL!);
  try {
    return await run(new KeyStore(redis, prefix));
  } finally {
    redis.disconnect();
  }
}

describe('When the service starts with no key at all and HOST unset', () => {
  it('then it listens on 127.0.0.1 only and says so in one warn line naming how to add a key', async () => {
    const { server, warnings, done } = await startRaw({});
    try {
      expect(server.host).toBe('127.0.0.1');
      const line = warnings.filter((w) => /authentication is off/.test(w));
      expect(line).toHaveLength(1);
      expect(line[0]).toMatch(/listens on 127\.0\.0\.1 only; add one with "npm run keys -- create --tenant NAME" or API_KEYS=key=tenant/);
      expect((await fetch(`${server.url}/documents`)).status).toBe(200);
    } finally {
      await done();
    }
  });
});

describe('When keys exist at startup and HOST is unset', () => {
  it('then it listens on 0.0.0.0 (API_KEYS)', async () => {
    const { server, warnings, done } = await startRaw({ API_KEYS: 'ka=alpha' });
    try {
      expect(server.host).toBe('0.0.0.0');
      expect(warnings.filter((w) => /authentication is off/.test(w))).toEqual([]);
    } finally {
      await done();
    }
  });

  it('then a key in Redis counts too, and revoking the last one does not open the public listener', async () => {
    const prefix = newPrefix();
    const made = await withKeyStore(prefix, (store) => store.create('alpha'));
    const { server, done } = await startRaw({ REDIS_PREFIX: prefix });
    try {
      expect(server.host).toBe('0.0.0.0');
      expect((await fetch(`${server.url}/documents`, { headers: bearer(made.key) })).status).toBe(200);
      await server.services.keyStore.revoke(made.id);
      expect(await server.services.keyStore.hasActiveKeys()).toBe(false);
      for (const headers of [{}, bearer(made.key)]) expect((await fetch(`${server.url}/documents`, { headers })).status).toBe(401);
    } finally {
      await done();
    }
  });
});

describe('When HOST names a non-loopback address and no key exists', () => {
  it('then startup refuses in one line naming the fixes', async () => {
    const refused = startRaw({ HOST: '0.0.0.0' });
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(refused).rejects.toThrow(/HOST=0\.0\.0\.0 is not a loopback address.*ALLOW_ANONYMOUS=true/);
  });

  it('then ALLOW_ANONYMOUS=true lets it serve without keys, with a warning', async () => {
    const { server, warnings, done } = await startRaw({ HOST: '0.0.0.0', ALLOW_ANONYMOUS: 'true' });
    try {
      expect(server.host).toBe('0.0.0.0');
      expect(warnings.some((w) => /ALLOW_ANONYMOUS=true: authentication is off on 0\.0\.0\.0/.test(w))).toBe(true);
      expect((await fetch(`${server.url}/documents`)).status).toBe(200);
    } finally {
      await done();
    }
  });
});

describe('When REQUIRE_AUTH=true', () => {
  it('then the process exits 1 with one line when no key exists (as compose runs it)', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-test-'));
    try {
      const child = spawnEntry(
        'src/server.ts',
        {
          REDIS_URL: process.env.REDIS_URL,
          REDIS_PREFIX: newPrefix(),
          DATA_DIR: dataDir,
          PORT: '0',
          RUN_WORKERS: 'off',
          REQUIRE_AUTH: 'true',
        },
        ['ignore', 'ignore', 'pipe'],
      );
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      expect(await exitOf(child)).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^ragmem: REQUIRE_AUTH=true but no API key exists: add one with "npm run keys -- create --tenant NAME"/),
      ]);
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('then it starts once a key exists in Redis', async () => {
    const prefix = newPrefix();
    await withKeyStore(prefix, (store) => store.create('alpha'));
    const { server, done } = await startRaw({ REDIS_PREFIX: prefix, REQUIRE_AUTH: 'true', HOST: '127.0.0.1' });
    try {
      expect((await fetch(`${server.url}/documents`)).status).toBe(401);
    } finally {
      await done();
    }
  });
});

describe('When keys exist and ADMIN_API_KEY is set', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ API_KEYS: 'ka=alpha', ADMIN_API_KEY: ADMIN_KEY, RUN_WORKERS: 'off' });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('then /metrics needs the admin key (a tenant key is not enough)', async () => {
    for (const headers of [{}, bearer('ka'), bearer(`${ADMIN_KEY}x`)]) {
      const res = await server.request('GET', '/metrics', undefined, headers);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const ok = await server.request('GET', '/metrics', undefined, bearer(ADMIN_KEY));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/ragmem_/);
  });

  it('then /readyz answers only its status without the admin key, and the dependency checks with it', async () => {
    for (const headers of [{}, bearer('ka')])
      expect(await server.request('GET', '/readyz', undefined, headers)).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect((await server.request('GET', '/readyz')).body).toEqual({ status: 'ready' });
    expect((await server.request('GET', '/readyz', undefined, bearer(ADMIN_KEY))).body).toEqual({
      status: 'ready',
      checks: { redis: 'ok', vectorStore: 'ok' },
    });
  });

  it('then /healthz stays public', async () => {
    expect(await server.request('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('When keys exist, ADMIN_API_KEY is not set, and Redis goes away', () => {
  let redis: ThrowawayRedis;
  let server: TestServer;
  beforeAll(async () => {
    redis = await startRedis();
    server = await startTestServer({ REDIS_URL: redis.url, API_KEYS: 'ka=alpha', RUN_WORKERS: 'off' });
  });
  afterAll(async () => {
    // Back up first, so closing the queues does not wait out reconnects.
    await redis?.restart().catch(() => undefined);
    await server?.cleanup();
    await redis?.stop();
  });

  it('then /metrics is closed to everyone, and /readyz says 503 not_ready without the error text', async () => {
    const metrics = await server.request('GET', '/metrics', undefined, bearer('ka'));
    expect(metrics.status).toBe(401);
    expect(metrics.body.error.message).toMatch(/ADMIN_API_KEY is not set/);
    await redis.stop();
    const ready = await server.request('GET', '/readyz');
    expect(ready).toMatchObject({ status: 503, body: { status: 'not_ready' } });
    expect(ready.body).toEqual({ status: 'not_ready' });
  });
});

describe('When no key exists (local, loopback only)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RUN_WORKERS: 'off' });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('then /metrics and the /readyz checks are open, until the first key appears in Redis (within a second)', async () => {
    expect((await server.request('GET', '/metrics')).status).toBe(200);
    expect((await server.request('GET', '/readyz')).body).toEqual({ status: 'ready', checks: { redis: 'ok', vectorStore: 'ok' } });
    expect((await server.request('GET', ADMIN_QUEUES_PATH)).status).toBe(200);

    // Another process (the CLI, another replica) creates the first key.
    await withKeyStore(server.services.config.redisPrefix, (store) => store.create('alpha'));
    const changedAt = Date.now();
    await holdsWithin('/metrics closing', changedAt, 1000, async () => (await server.request('GET', '/metrics')).status === 401);
    await holdsWithin(
      '/readyz details hiding',
      changedAt,
      1000,
      async () => (await server.request('GET', '/readyz')).body.checks === undefined,
    );
    await holdsWithin(
      'the open dashboard disappearing',
      changedAt,
      1000,
      async () => (await server.request('GET', ADMIN_QUEUES_PATH)).status === 404,
    );
  });
});
