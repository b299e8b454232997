import { Authenticator } from '../../src/tenancy/authenticator';
import { holdsWithin } from '../support/change-bound';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * API keys stored hashed in Redis, seen by two independent service instances on one Redis prefix (two replicas):
 * a change on one holds on the other within a second, with no restart.
 */
const BOUND_MS = 1000;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer({ RUN_WORKERS: 'off' });
  b = await startTestServer({ RUN_WORKERS: 'off', REDIS_PREFIX: a.services.config.redisPrefix });
});
afterAll(async () => {
  await a?.cleanup();
  await b?.cleanup();
});

const status = async (server: TestServer, headers: Record<string, string> = {}) =>
  (await server.request('GET', '/documents', undefined, headers)).status;

describe('When the first key is created in Redis on one replica', () => {
  let key: string;
  let id: string;

  it('then, before it, both replicas serve without a key (auth is off while no key exists)', async () => {
    expect(await status(a)).toBe(200);
    expect(await status(b)).toBe(200);
  });

  it('then both replicas require a key within a second, and the new key opens both', async () => {
    const created = await a.services.keyStore.create('alpha', 'first');
    const changedAt = Date.now();
    ({ key, id } = created);
    expect(key).toMatch(/^rmk_[A-Za-z0-9_-]{43}$/);
    // The replica that made the change knows at once.
    expect(await status(a)).toBe(401);
    await holdsWithin('auth switched on at replica B', changedAt, BOUND_MS, async () => (await status(b)) === 401);
    const refused = await b.request('GET', '/documents');
    expect(refused.body.error.code).toBe('unauthorized');
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await status(a, bearer(key))).toBe(200);
    await holdsWithin('the new key at replica B', changedAt, BOUND_MS, async () => (await status(b, bearer(key))) === 200);
  });

  it('then a key created later on replica B opens replica A within a second, and a made-up key of that shape does not', async () => {
    expect(await status(a, bearer(`rmk_${'A'.repeat(43)}`))).toBe(401);
    const other = await b.services.keyStore.create('beta');
    const changedAt = Date.now();
    await holdsWithin('key from B at replica A', changedAt, BOUND_MS, async () => (await status(a, bearer(other.key))) === 200);
  });

  it('then data written with one tenant’s key is invisible to another tenant’s key', async () => {
    const beta = await a.services.keyStore.create('beta', 'isolation');
    const doc = await a.request(
      'POST',
      '/documents',
      { text: 'Alpha keeps its herring recipes here.', collection: 'recipes' },
      bearer(key),
    );
    expect(doc.status).toBe(202);
    await holdsWithin('beta key at B', Date.now(), BOUND_MS, async () => (await status(b, bearer(beta.key))) === 200);
    expect((await b.request('GET', `/documents/${doc.body.id}`, undefined, bearer(key))).status).toBe(200);
    expect((await b.request('GET', `/documents/${doc.body.id}`, undefined, bearer(beta.key))).status).toBe(404);
    const listed = await b.request('GET', '/documents?collection=recipes', undefined, bearer(beta.key));
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(doc.body.id);
  });

  it('then revoking it on one replica refuses it on the other within a second, and list shows when', async () => {
    // B now holds the key as valid in its cache; revocation must still reach it within the bound.
    expect(await status(b, bearer(key))).toBe(200);
    const revoked = await a.services.keyStore.revoke(id);
    const changedAt = Date.now();
    expect(revoked?.revokedAt).toEqual(expect.any(String));
    expect(await status(a, bearer(key))).toBe(401);
    await holdsWithin('revocation at replica B', changedAt, BOUND_MS, async () => (await status(b, bearer(key))) === 401);
    const listed = await b.services.keyStore.list('alpha');
    expect(listed).toEqual([{ id, tenant: 'alpha', label: 'first', createdAt: expect.any(String), revokedAt: revoked!.revokedAt }]);
    expect(await a.services.keyStore.revoke('key_nope')).toBeUndefined();
  });

  it('then Redis holds only hashes, all under one hash tag, and list never shows a key or its hash', async () => {
    const fresh = await a.services.keyStore.create('gamma');
    const prefix = a.services.config.redisPrefix;
    const redisKeys = await a.services.redis.keys(`${prefix}:*apikeys*`);
    expect(redisKeys.length).toBeGreaterThan(0);
    for (const k of redisKeys) expect(k.startsWith(`${prefix}:{apikeys}:`)).toBe(true);
    const dump = JSON.stringify(await Promise.all(redisKeys.map(async (k) => [k, await a.services.redis.dump(k)])));
    expect(dump).not.toContain(fresh.key);
    const listed = JSON.stringify(await a.services.keyStore.list());
    expect(listed).not.toContain(fresh.key);
    expect(listed).not.toMatch(/[0-9a-f]{64}/);
    expect(listed).not.toContain('sha');
  });

  it('then a tenant name outside the safe set is refused', async () => {
    await expect(a.services.keyStore.create('../alpha')).rejects.toThrow(/is not valid/);
    await expect(a.services.keyStore.create('{alpha}')).rejects.toThrow(/is not valid/);
  });
});

describe('When API_KEYS is set and keys also exist in Redis', () => {
  let env: TestServer;
  beforeAll(async () => {
    env = await startTestServer({ RUN_WORKERS: 'off', API_KEYS: 'env-key-1=alpha' });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('then both kinds of key work, each as its own tenant, and anything else is refused', async () => {
    const stored = await env.services.keyStore.create('beta');
    const doc = await env.request('POST', '/documents', { text: 'Only alpha wrote this.' }, bearer('env-key-1'));
    expect(doc.status).toBe(202);
    expect((await env.request('GET', `/documents/${doc.body.id}`, undefined, bearer('env-key-1'))).status).toBe(200);
    expect((await env.request('GET', `/documents/${doc.body.id}`, undefined, bearer(stored.key))).status).toBe(404);
    expect(await status(env, bearer(stored.key))).toBe(200);
    for (const headers of [{}, bearer('env-key-2'), bearer(`${stored.key}x`), { authorization: 'Basic ZW52LWtleS0x' }]) {
      expect(await status(env, headers)).toBe(401);
    }
  });

  it('then revoking every Redis key leaves auth on (API_KEYS still exist)', async () => {
    for (const k of await env.services.keyStore.list()) await env.services.keyStore.revoke(k.id);
    expect(await status(env)).toBe(401);
  });

  it('then each request carries a stable key id for per-key limits: the Redis id, or env: and a short hash', async () => {
    const auth = new Authenticator(env.services.config.apiKeys, env.services.keyStore);
    const stored = await env.services.keyStore.create('beta');
    const fromEnv = await auth.identify('env-key-1');
    expect(fromEnv).toEqual({ tenant: 'alpha', keyId: expect.stringMatching(/^env:[0-9a-f]{12}$/) });
    expect(fromEnv!.keyId).not.toContain('env-key-1');
    expect(await auth.identify('env-key-1')).toEqual(fromEnv);
    expect(await auth.identify(stored.key)).toEqual({ tenant: 'beta', keyId: stored.id });
    expect(await auth.identify('nope')).toBeUndefined();
  });
});
