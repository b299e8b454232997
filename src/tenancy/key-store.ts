import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../infra/redis';
import { AppError } from '../errors';
import { tenantNameProblem } from './tenant-name';

/** What `create` answers: the only time the key itself is ever shown. */
export interface CreatedKey {
  id: string;
  key: string;
  tenant: string;
  label?: string;
  createdAt: string;
}

/** What `list` shows: never the key, nor its hash. */
export interface KeyInfo {
  id: string;
  tenant: string;
  label?: string;
  createdAt: string;
  revokedAt?: string;
}

export interface KeyStoreOptions {
  /**
   * How long this process trusts a lookup (a key's tenant, a miss, whether any key exists). Every replica reads Redis
   * again after this, so a create or revoke on one replica holds on all of them within this bound (the issue asks for
   * one second; 500 ms leaves room for a slow round trip).
   */
  cacheMs?: number;
  /** Lookups cached at most; past it the cache starts over, so a flood of made-up keys cannot grow memory. */
  maxCacheEntries?: number;
  now?: () => number;
}

export const DEFAULT_KEY_CACHE_MS = 500;
const DEFAULT_MAX_CACHE_ENTRIES = 10_000;

/** Keys this store makes: a fixed prefix (easy to spot in a leaked log or a secret scanner) and 256 random bits. */
export const KEY_PREFIX = 'rmk_';
const KEY_SHAPE = /^rmk_[A-Za-z0-9_-]{43}$/;
const LABEL_MAX = 200;

/** A MULTI answers each step's error instead of rejecting: surface the first. */
function throwOnFailedStep(results: Array<[Error | null, unknown]> | null) {
  const failed = results?.find(([err]) => err);
  if (failed) throw failed[0];
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * API keys stored hashed in Redis (beside API_KEYS in the environment), managed with `npm run keys`.
 * Layout, all under one hash tag so a MULTI stays in one Cluster slot:
 * - `<prefix>:{apikeys}:rec:<id>`   hash: id, tenant, label, createdAt, revokedAt, sha (the key's SHA-256)
 * - `<prefix>:{apikeys}:sha:<sha>`  string: JSON {id, tenant}; exists only while the key is not revoked
 * - `<prefix>:{apikeys}:ids`        zset of every id by creation time (for `list`)
 * - `<prefix>:{apikeys}:active`     set of ids not revoked (auth is on as soon as it is non-empty)
 * A key is 256 random bits, so an unsalted SHA-256 is enough: there is nothing to guess from the hash.
 */
export class KeyStore {
  private readonly cacheMs: number;
  private readonly maxCacheEntries: number;
  private readonly now: () => number;
  private readonly lookups = new Map<string, { at: number; value: { id: string; tenant: string } | null }>();
  private anyKeys: { at: number; value: boolean } | undefined;
  private lastKnownAnyKeys: boolean | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: KeyStoreOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? DEFAULT_KEY_CACHE_MS;
    this.maxCacheEntries = options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  private k(suffix: string) {
    return `${this.prefix}:{apikeys}:${suffix}`;
  }

  async create(tenant: string, label?: string): Promise<CreatedKey> {
    const problem = tenantNameProblem(tenant);
    if (problem) throw new AppError('invalid_request', problem);
    if (label !== undefined && (label.length > LABEL_MAX || /[\u0000-\u001f\u007f]/.test(label))) {
      throw new AppError('invalid_request', `a label has at most ${LABEL_MAX} characters and no control characters`);
    }
    const id = `key_${randomBytes(9).toString('base64url')}`;
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const sha = sha256(key);
    const createdMs = this.now();
    const createdAt = new Date(createdMs).toISOString();
    const record: Record<string, string> = { id, tenant, createdAt, sha, ...(label ? { label } : {}) };
    await this.redis
      .multi()
      .hset(this.k(`rec:${id}`), record)
      .set(this.k(`sha:${sha}`), JSON.stringify({ id, tenant }))
      .zadd(this.k('ids'), String(createdMs), id)
      .sadd(this.k('active'), id)
      .exec()
      .then(throwOnFailedStep);
    this.forget();
    return { id, key, tenant, ...(label ? { label } : {}), createdAt };
  }

  /** Every key (of one tenant, if given), oldest first. */
  async list(tenant?: string): Promise<KeyInfo[]> {
    const ids = await this.redis.zrange(this.k('ids'), '0', '-1');
    const records = await Promise.all(ids.map((id) => this.redis.hgetall(this.k(`rec:${id}`))));
    return records
      .filter((r) => r.id && (tenant === undefined || r.tenant === tenant))
      .map((r) => ({
        id: r.id,
        tenant: r.tenant,
        ...(r.label ? { label: r.label } : {}),
        createdAt: r.createdAt,
        ...(r.revokedAt ? { revokedAt: r.revokedAt } : {}),
      }));
  }

  /**
   * Revokes a key: it stops resolving here at once and on every replica within `cacheMs`. The record stays (for `list`).
   * Undefined when no key has this id; revoking twice keeps the first time.
   */
  async revoke(id: string): Promise<KeyInfo | undefined> {
    const record = await this.redis.hgetall(this.k(`rec:${id}`));
    if (!record.id) return undefined;
    // Each step is idempotent, so two revokes racing end in the same state without a script.
    await this.redis
      .multi()
      .del(this.k(`sha:${record.sha}`))
      .hsetnx(this.k(`rec:${id}`), 'revokedAt', new Date(this.now()).toISOString())
      .srem(this.k('active'), id)
      .exec()
      .then(throwOnFailedStep);
    this.forget();
    return (await this.list(record.tenant)).find((k) => k.id === id);
  }

  /** The tenant and key id a presented key stands for, or undefined (unknown or revoked). */
  async resolve(presented: string): Promise<{ id: string; tenant: string } | undefined> {
    // Only keys of our shape can be ours: anything else never costs a Redis round trip nor a cache entry.
    if (!KEY_SHAPE.test(presented)) return undefined;
    const sha = sha256(presented);
    const cached = this.lookups.get(sha);
    if (cached && this.now() - cached.at < this.cacheMs) return cached.value ?? undefined;
    // Timed from before the read: a slow answer must not stretch how long a stale value is trusted.
    const at = this.now();
    const raw = await this.redis.get(this.k(`sha:${sha}`));
    const value = raw ? (JSON.parse(raw) as { id: string; tenant: string }) : null;
    if (this.lookups.size >= this.maxCacheEntries) this.lookups.clear();
    this.lookups.set(sha, { at, value });
    return value ?? undefined;
  }

  /**
   * Whether any key is not revoked (cached like lookups). With `lastKnownOnError`, a Redis failure answers the last value
   * read instead of throwing (for what only decides how much an operator page shows, never for authentication).
   */
  async hasActiveKeys(options: { lastKnownOnError?: boolean } = {}): Promise<boolean> {
    if (this.anyKeys && this.now() - this.anyKeys.at < this.cacheMs) return this.anyKeys.value;
    try {
      const at = this.now();
      const value = (await this.redis.scard(this.k('active'))) > 0;
      this.anyKeys = { at, value };
      this.lastKnownAnyKeys = value;
      return value;
    } catch (err) {
      if (options.lastKnownOnError && this.lastKnownAnyKeys !== undefined) return this.lastKnownAnyKeys;
      throw err;
    }
  }

  /** This process's own changes show at once; other replicas see them when their cache entries expire. */
  private forget() {
    this.lookups.clear();
    this.anyKeys = undefined;
    this.lastKnownAnyKeys = undefined;
  }
}
