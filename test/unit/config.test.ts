import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('When nothing is set, then it answers the embedded defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.redis).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379' });
    expect(c.vector.backend).toBe('lancedb');
    expect(c.models.provider).toBe('offline');
    expect(c.apiKeys).toBeUndefined();
    expect(c.workers.mode).toBe('processes');
    // LanceDB's caches are bounded per process (its own defaults are 6 GB and 1 GB per connection).
    expect(c.vector).toMatchObject({
      backend: 'lancedb',
      cache: { indexCacheBytes: 256 * 1024 * 1024, metadataCacheBytes: 64 * 1024 * 1024 },
    });
    expect(c.workers.concurrency).toBe(128);
    expect(c.workers.maxInflightBytes).toBe(64 * 1024 * 1024);
    expect(c.workers.processes).toBeGreaterThanOrEqual(1);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('When QDRANT_URL and MISTRAL_API_KEY are set, then Qdrant and Mistral are chosen', () => {
    const c = loadConfig({ QDRANT_URL: 'http://qdrant:6333', MISTRAL_API_KEY: 'k', MISTRAL_SERVER_URL: 'http://gw:8080' });
    expect(c.vector).toEqual({ backend: 'qdrant', url: 'http://qdrant:6333', apiKey: undefined });
    expect(c.models.provider).toBe('mistral');
    expect(c.models.mistral).toEqual({ apiKey: 'k', serverUrl: 'http://gw:8080' });
  });

  it('When REDIS_CLUSTER_NODES is set, then the cluster is the target, with its credentials and TLS; REDIS_URL beside it is refused', () => {
    const c = loadConfig({
      REDIS_CLUSTER_NODES: 'redis-node-1:6379, 10.0.0.2:7000,[::1]:7001',
      REDIS_USERNAME: 'ragmem',
      REDIS_PASSWORD: 's3cret',
      REDIS_TLS: 'true',
    });
    expect(c.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'redis-node-1', port: 6379 },
        { host: '10.0.0.2', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      username: 'ragmem',
      password: 's3cret',
      tls: true,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).redis).toEqual({
      mode: 'cluster',
      nodes: [{ host: '127.0.0.1', port: 7000 }],
      username: undefined,
      password: undefined,
      tls: false,
    });
    // An empty variable is unset (compose passes `${VAR:-}` through as "").
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redis.mode).toBe('single');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://b:6379' })).toThrow(
      /REDIS_URL .* or REDIS_CLUSTER_NODES .* not both/,
    );
    for (const bad of ['redis-node-1', 'a:1,,b:2', 'a:0', 'a:70000', 'redis://a:1']) {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad })).toThrow(/REDIS_CLUSTER_NODES: expected host:port pairs/);
    }
    // One server keeps its credentials in REDIS_URL: the cluster's variables alone would go unused, so they are refused.
    expect(() => loadConfig({ REDIS_PASSWORD: 'x' })).toThrow(/REDIS_PASSWORD apply to REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_TLS: 'true', REDIS_USERNAME: 'u' })).toThrow(/REDIS_USERNAME, REDIS_TLS apply to REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_TLS: 'yes' })).toThrow(/REDIS_TLS/);
  });

  it('When API_KEYS is set, then keys map to tenants', () => {
    const c = loadConfig({ API_KEYS: 'k1=alpha, k2=beta' });
    expect([...c.apiKeys!.entries()]).toEqual([
      ['k1', 'alpha'],
      ['k2', 'beta'],
    ]);
  });

  it('When HOST is unset, then it is left to startup (loopback without keys); REQUIRE_AUTH and ALLOW_ANONYMOUS default off', () => {
    const c = loadConfig({});
    expect(c.host).toBeUndefined();
    expect(c.requireAuth).toBe(false);
    expect(c.allowAnonymous).toBe(false);
    expect(loadConfig({ HOST: '0.0.0.0', REQUIRE_AUTH: 'true', ALLOW_ANONYMOUS: 'true' })).toMatchObject({
      host: '0.0.0.0',
      requireAuth: true,
      allowAnonymous: true,
    });
    expect(() => loadConfig({ REQUIRE_AUTH: 'yes' })).toThrow(/REQUIRE_AUTH/);
  });

  it('When ADMIN_API_KEY is set, then it is kept apart from the tenant keys; unset, it is undefined', () => {
    expect(loadConfig({ ADMIN_API_KEY: ' admin-0123456789abcdef ', API_KEYS: 'k1=alpha' }).adminApiKey).toBe('admin-0123456789abcdef');
    expect(loadConfig({}).adminApiKey).toBeUndefined();
    expect(loadConfig({ ADMIN_API_KEY: '' }).adminApiKey).toBeUndefined();
    expect(() => loadConfig({ ADMIN_API_KEY: 'short' })).toThrow(/ADMIN_API_KEY: must be at least 16 characters/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'has a space in it ok' })).toThrow(/ADMIN_API_KEY: must not contain whitespace/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'admin-0123456789abcdef', API_KEYS: 'admin-0123456789abcdef=alpha' })).toThrow(
      /ADMIN_API_KEY must differ from every key in API_KEYS/,
    );
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['REDIS_URL', 'not a url'],
    ['RUN_WORKERS', 'sometimes'],
    ['API_KEYS', 'novalue'],
    ['WORKER_CONCURRENCY', '0'],
    ['LOG_LEVEL', 'loud'],
  ])('When %s=%s, then startup stops with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('When the overlap is not smaller than the chunk size, then it is refused', () => {
    expect(() => loadConfig({ CHUNK_SIZE_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '64' })).toThrow(/CHUNK_OVERLAP_TOKENS/);
  });

  it('When session settings are given, then they are typed, and shares over 1 or a negative recall weight are refused', () => {
    const c = loadConfig({
      CONTEXT_MAX_TOKENS: '4096',
      CONTEXT_SHARE_RETRIEVED: '0.5',
      RECALL_DENSE_WEIGHT: '0.25',
      SESSION_TTL_SECONDS: '0',
    });
    expect(c.sessions.context).toMatchObject({
      maxTokens: 4096,
      answerTokens: 1024,
      shares: { retrieved: 0.5, summary: 0.15, recalled: 0.15 },
      recallDenseWeight: 0.25,
    });
    expect(c.sessions.ttlSeconds).toBe(0);
    expect(loadConfig({}).sessions.context.recallDenseWeight).toBeUndefined();
    expect(() => loadConfig({ CONTEXT_SHARE_RETRIEVED: '0.8', CONTEXT_SHARE_RECALLED: '0.3' })).toThrow(/must not exceed 1/);
    expect(() => loadConfig({ RECALL_DENSE_WEIGHT: '-1' })).toThrow(/RECALL_DENSE_WEIGHT/);
  });

  it('When reindex and hybrid-fusion settings are given, then they are typed; unset, fusion follows the embedder', () => {
    const c = loadConfig({ REINDEX_DROP_GRACE_MS: '0', REINDEX_CONCURRENCY: '4', HYBRID_RRF_K: '10', HYBRID_DENSE_WEIGHT: '0.5' });
    expect(c.reindex).toEqual({ dropGraceMs: 0, concurrency: 4 });
    expect(c.search.fusion).toEqual({ k: 10, denseWeight: 0.5 });
    const defaults = loadConfig({});
    expect(defaults.reindex).toEqual({ dropGraceMs: 30_000, concurrency: 16 });
    expect(defaults.search.fusion).toEqual({ k: undefined, denseWeight: undefined });
    expect(() => loadConfig({ HYBRID_RRF_K: '0' })).toThrow(/HYBRID_RRF_K/);
    expect(() => loadConfig({ HYBRID_DENSE_WEIGHT: '0' })).toThrow(/HYBRID_DENSE_WEIGHT/);
    expect(() => loadConfig({ REINDEX_CONCURRENCY: '0' })).toThrow(/REINDEX_CONCURRENCY/);
  });

  it('When CONSOLE_DIR is unset, then the console is dist/console in the package; set, it is resolved from the working directory', () => {
    expect(loadConfig({}).consoleDir).toBe(path.join(__dirname, '..', '..', 'dist', 'console'));
    expect(loadConfig({ CONSOLE_DIR: 'build/ui' }).consoleDir).toBe(path.resolve('build/ui'));
    expect(loadConfig({ CONSOLE_DIR: '/srv/console' }).consoleDir).toBe('/srv/console');
  });

  it('When WORKER_METRICS_PORT is unset, then a worker serves no metrics port; set, it is a port number', () => {
    expect(loadConfig({}).workers.metricsPort).toBeUndefined();
    expect(loadConfig({ WORKER_METRICS_PORT: '9464' }).workers.metricsPort).toBe(9464);
    expect(() => loadConfig({ WORKER_METRICS_PORT: '0' })).toThrow(/WORKER_METRICS_PORT/);
    expect(() => loadConfig({ WORKER_METRICS_PORT: '70000' })).toThrow(/WORKER_METRICS_PORT/);
  });
});

describe('loadConfig with empty variables', () => {
  it('When a variable is set to the empty string, then it counts as unset', () => {
    const c = loadConfig({ MISTRAL_SERVER_URL: '', MISTRAL_API_KEY: '', QDRANT_URL: '', API_KEYS: '' });
    expect(c.models.provider).toBe('offline');
    expect(c.vector.backend).toBe('lancedb');
    expect(c.apiKeys).toBeUndefined();
  });
});
