import type { RedisClient } from '../infra/redis';
import type { IndexSpec } from './index-spec';

/** A rebuild in progress: the index it writes and the job that owns it. */
export interface IndexBuild {
  jobId: string;
  spec: IndexSpec;
}

/**
 * Which index serves each (tenant, collection), in Redis, so every API and worker process agrees. All keys of one
 * route carry the hash tag `{ix:<tenant>:<collection>}`, so the switch below is one script on one Redis Cluster slot:
 * - `:route`: the serving IndexSpec (JSON); absent means the default index.
 * - `:build`: the IndexBuild in progress, if any (at most one per route; writers also write into it).
 * - `:built:<jobId>`: a hash, document id -> the document version already written into that build's index.
 * - `:previous:<jobId>`: the spec that served before that build switched (to drop after the grace period).
 *
 * The switch is the pointer swap: one SET of `:route` under a check that the build is still the one switching, so a
 * search reads either the old spec or the new one, never a mix, and a cancelled build can never switch.
 */
export class IndexCatalog {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly defaultSpec: IndexSpec,
  ) {}

  get default(): IndexSpec {
    return this.defaultSpec;
  }

  private key(tenant: string, collection: string, part: string): string {
    return `${this.prefix}:{ix:${encodeURIComponent(tenant)}:${encodeURIComponent(collection)}}:${part}`;
  }

  /** The index search reads for this collection. */
  async route(tenant: string, collection: string): Promise<IndexSpec> {
    const raw = await this.redis.get(this.key(tenant, collection, 'route'));
    return raw ? (JSON.parse(raw) as IndexSpec) : this.defaultSpec;
  }

  /** The serving index and the build in progress (both written by ingestion and deletes), in one round trip. */
  async writeTargets(tenant: string, collection: string): Promise<{ live: IndexSpec; build?: IndexBuild }> {
    const [route, build] = await this.redis.mget(this.key(tenant, collection, 'route'), this.key(tenant, collection, 'build'));
    return {
      live: route ? (JSON.parse(route) as IndexSpec) : this.defaultSpec,
      ...(build ? { build: JSON.parse(build) as IndexBuild } : {}),
    };
  }

  async build(tenant: string, collection: string): Promise<IndexBuild | undefined> {
    const raw = await this.redis.get(this.key(tenant, collection, 'build'));
    return raw ? (JSON.parse(raw) as IndexBuild) : undefined;
  }

  /** Registers a build; false when another one already runs for this collection. */
  async startBuild(tenant: string, collection: string, build: IndexBuild): Promise<boolean> {
    return (await this.redis.set(this.key(tenant, collection, 'build'), JSON.stringify(build), 'NX')) === 'OK';
  }

  async markBuilt(tenant: string, collection: string, jobId: string, documentId: string, version: number): Promise<void> {
    await this.redis.hset(this.key(tenant, collection, `built:${jobId}`), documentId, String(version));
  }

  async unmarkBuilt(tenant: string, collection: string, jobId: string, documentId: string): Promise<void> {
    await this.redis.hdel(this.key(tenant, collection, `built:${jobId}`), documentId);
  }

  /** The versions the build holds of these documents (undefined where it holds none), in order. */
  async builtVersionsOf(tenant: string, collection: string, jobId: string, documentIds: string[]): Promise<Array<number | undefined>> {
    if (documentIds.length === 0) return [];
    const versions = await this.redis.hmget(this.key(tenant, collection, `built:${jobId}`), ...documentIds);
    return versions.map((v) => (v === null ? undefined : Number(v)));
  }

  /** How many documents the build holds. */
  async builtCount(tenant: string, collection: string, jobId: string): Promise<number> {
    return this.redis.hlen(this.key(tenant, collection, `built:${jobId}`));
  }

  /** The document ids the build holds, a page at a time (HSCAN: memory stays bounded for any collection size). */
  async *scanBuilt(tenant: string, collection: string, jobId: string, pageSize: number): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.key(tenant, collection, `built:${jobId}`), cursor, 'COUNT', pageSize);
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }

  /**
   * Makes the build's index the serving one and ends the build, atomically, if `jobId` still owns the build.
   * Answers the spec that served before (to drop), or undefined when the build was cancelled meanwhile.
   */
  async switchTo(tenant: string, collection: string, jobId: string): Promise<IndexSpec | undefined> {
    const result = (await this.redis.eval(
      SWITCH,
      3,
      this.key(tenant, collection, 'build'),
      this.key(tenant, collection, 'route'),
      this.key(tenant, collection, `previous:${jobId}`),
      jobId,
      JSON.stringify(this.defaultSpec),
    )) as string | null;
    return result ? (JSON.parse(result) as IndexSpec) : undefined;
  }

  /** What served before `jobId` switched (recorded by the switch itself, so a worker dying after it loses nothing). */
  async previousOf(tenant: string, collection: string, jobId: string): Promise<IndexSpec | undefined> {
    const raw = await this.redis.get(this.key(tenant, collection, `previous:${jobId}`));
    return raw ? (JSON.parse(raw) as IndexSpec) : undefined;
  }

  /** Ends the build without switching (failed or cancelled); true if `jobId` owned it. */
  async abandonBuild(tenant: string, collection: string, jobId: string): Promise<boolean> {
    return (await this.redis.eval(ABANDON, 1, this.key(tenant, collection, 'build'), jobId)) === 1;
  }

  /** Removes what the build kept beside the route: its built hash and the previous spec. */
  async forgetBuilt(tenant: string, collection: string, jobId: string): Promise<void> {
    await this.redis.del(this.key(tenant, collection, `built:${jobId}`), this.key(tenant, collection, `previous:${jobId}`));
  }
}

// KEYS[1] build, KEYS[2] route, KEYS[3] where the previous spec is kept; ARGV[1] job id, ARGV[2] the default spec
// (what an absent route means).
const SWITCH = `local raw = redis.call('get', KEYS[1])
if not raw then return false end
local build = cjson.decode(raw)
if build.jobId ~= ARGV[1] then return false end
local old = redis.call('get', KEYS[2]) or ARGV[2]
redis.call('set', KEYS[2], cjson.encode(build.spec))
redis.call('set', KEYS[3], old)
redis.call('del', KEYS[1])
return old`;

const ABANDON = `local raw = redis.call('get', KEYS[1])
if not raw then return 0 end
if cjson.decode(raw).jobId ~= ARGV[1] then return 0 end
redis.call('del', KEYS[1])
return 1`;
