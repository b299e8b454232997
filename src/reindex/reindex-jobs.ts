import type { RedisClient } from '../infra/redis';
import type { IndexSpec } from '../indexes/index-spec';
import { pageByLex } from '../infra/lex-pages';
import { updateJson } from '../infra/redis-json';
import { AppError } from '../errors';

export const REINDEX_STATUSES = ['queued', 'running', 'switching', 'completed', 'failed', 'cancelled'] as const;
export type ReindexStatus = (typeof REINDEX_STATUSES)[number];

export interface ReindexRecord {
  jobId: string;
  tenant: string;
  collection: string;
  status: ReindexStatus;
  /** Documents rebuilt into the new index, of those the collection serves. */
  progress: { done: number; total: number };
  /** The index being built. */
  spec: IndexSpec;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
  /**
   * After the switch: the index the collection left is dropped once searches that read the old route have finished
   * (REINDEX_DROP_GRACE_MS after `completed`), reported here rather than by holding the job open.
   */
  oldIndex?: { dropAfter: string; droppedAt?: string };
}

export const isFinished = (status: ReindexStatus) => status === 'completed' || status === 'failed' || status === 'cancelled';

// KEYS[1] the tenant's active set; ARGV: job id, max. Answers {1} when taken, else {0, how many are held}.
const TAKE_SLOT = `local n = redis.call('SCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return { 0, n } end
redis.call('SADD', KEYS[1], ARGV[1])
return { 1 }`;

/** Finished reindex records are kept this long for clients polling them. */
const FINISHED_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Reindex job records in Redis (a JSON string per job): what `GET /reindex/:jobId` answers. Written by the API
 * (created, cancel) and by the worker running the job (progress, outcome).
 *
 * The record, the tenant's list and its active set are three keys with no common hash tag (the names predate Redis
 * Cluster, and renaming them would orphan the jobs of a running deployment), so on a cluster they may sit in three
 * slots: nothing here touches two of them in one command. Each write is one key, in an order that leaves a crash
 * between two of them harmless: a list entry is written after its record and removed before it (a member whose record
 * is gone is dropped as the list is read), and an active-set entry left behind is given back by reserveSlot.
 */
export class ReindexJobs {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(jobId: string): string {
    return `${this.prefix}:reindex:${jobId}`;
  }

  /** A tenant's jobs, newest first: a sorted set read BYLEX, members `<createdAt ms, zero-padded>-<jobId>`. */
  private listKey(tenant: string): string {
    return `${this.prefix}:reindexes:${encodeURIComponent(tenant)}`;
  }

  /** The tenant's jobs not yet finished (queued, running, switching): what TENANT_MAX_REINDEX_JOBS bounds. */
  private activeKey(tenant: string): string {
    return `${this.prefix}:reindexes-active:${encodeURIComponent(tenant)}`;
  }

  /**
   * Takes one of the tenant's `max` reindex slots for `jobId` (0: no quota), or throws 403 `quota_exceeded`. The check
   * and the take are one script, so replicas racing for the last slot cannot both win. Slots are given back when a job
   * finishes (`update`) or is deleted; one left behind by a process that died between the two writes is found here,
   * because its record is finished or gone, and given back before counting.
   */
  async reserveSlot(tenant: string, jobId: string, max: number): Promise<void> {
    if (max <= 0) return;
    const key = this.activeKey(tenant);
    const held = await this.redis.smembers(key);
    if (held.length >= max) {
      const records = await Promise.all(held.map((id) => this.get(id)));
      const stale = held.filter((_, i) => !records[i] || isFinished(records[i]!.status));
      if (stale.length > 0) await this.redis.srem(key, ...stale);
    }
    const [taken, used] = (await this.redis.eval(TAKE_SLOT, 1, key, jobId, max)) as [number, number?];
    if (taken !== 1) {
      throw new AppError(
        'quota_exceeded',
        `this tenant already has ${max} reindex jobs queued or running (TENANT_MAX_REINDEX_JOBS); wait for one to finish or cancel one`,
        {
          quota: 'reindex_jobs',
          limit: max,
          used,
        },
      );
    }
  }

  /** How many of the tenant's reindex jobs hold a slot (queued, running or switching). */
  async activeCount(tenant: string): Promise<number> {
    return this.redis.scard(this.activeKey(tenant));
  }

  private static member(record: Pick<ReindexRecord, 'createdAt' | 'jobId'>): string {
    return `${String(Date.parse(record.createdAt)).padStart(15, '0')}-${record.jobId}`;
  }

  async create(record: ReindexRecord): Promise<void> {
    await this.redis.set(this.key(record.jobId), JSON.stringify(record));
    await this.redis.zadd(this.listKey(record.tenant), 0, ReindexJobs.member(record));
  }

  /**
   * A tenant's jobs, newest first, optionally of one collection; the cursor is the last member of the previous page.
   * Records that expired (finished jobs are kept 7 days) leave the list as it is read.
   */
  async list(
    tenant: string,
    opts: { collection?: string; limit: number; cursor?: string },
  ): Promise<{ jobs: ReindexRecord[]; nextCursor: string | null }> {
    const listKey = this.listKey(tenant);
    const { items, nextCursor } = await pageByLex<ReindexRecord>(
      this.redis,
      listKey,
      { limit: opts.limit, cursor: opts.cursor, maxRounds: 20 },
      async (members) => {
        // One GET per record (records of one tenant may sit in different cluster slots); sent together, one round trip.
        const raws = await Promise.all(members.map((m) => this.redis.get(this.key(m.slice(m.indexOf('-') + 1)))));
        return raws.map((raw) => (raw === null ? undefined : (JSON.parse(raw) as ReindexRecord)));
      },
      (record) => opts.collection === undefined || record.collection === opts.collection,
      async (expired) => {
        await this.redis.zrem(listKey, ...expired);
      },
    );
    return { jobs: items, nextCursor };
  }

  async get(jobId: string): Promise<ReindexRecord | undefined> {
    const raw = await this.redis.get(this.key(jobId));
    return raw ? (JSON.parse(raw) as ReindexRecord) : undefined;
  }

  /**
   * Applies `change` unless the job already finished (a cancel and the worker's last write may race: the first
   * outcome stays). Answers the record after the change, or undefined when it was missing or finished.
   */
  async update(jobId: string, change: (record: ReindexRecord) => Partial<ReindexRecord>): Promise<ReindexRecord | undefined> {
    // Only the worker and a cancel ever write a record: contention is brief, so retry for as long as it lasts.
    const updated = await updateJson<ReindexRecord>(
      this.redis,
      this.key(jobId),
      (record) => {
        if (isFinished(record.status)) return undefined;
        const value = { ...record, ...change(record) };
        return { value, ttlSeconds: isFinished(value.status) ? FINISHED_TTL_SECONDS : undefined };
      },
      Number.POSITIVE_INFINITY,
    );
    if (updated && isFinished(updated.status)) await this.redis.srem(this.activeKey(updated.tenant), jobId);
    return updated;
  }

  /** Records that the old index of a completed job is gone (the one write a finished record still takes). */
  async noteOldIndexDropped(jobId: string, droppedAt: string): Promise<void> {
    await updateJson<ReindexRecord>(
      this.redis,
      this.key(jobId),
      (record) =>
        record.oldIndex && !record.oldIndex.droppedAt
          ? {
              value: { ...record, oldIndex: { ...record.oldIndex, droppedAt } },
              ttlSeconds: isFinished(record.status) ? FINISHED_TTL_SECONDS : undefined,
            }
          : undefined,
      Number.POSITIVE_INFINITY,
    );
  }

  async delete(record: ReindexRecord): Promise<void> {
    await this.redis.zrem(this.listKey(record.tenant), ReindexJobs.member(record));
    await this.redis.del(this.key(record.jobId));
    await this.redis.srem(this.activeKey(record.tenant), record.jobId);
  }
}
