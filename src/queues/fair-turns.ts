import type { RedisClient } from '../infra/redis';

/** BullMQ's highest priority number (2^21); a lower number runs first. */
const MAX_PRIORITY = 2 ** 21;
/** A tenant's count is forgotten a day after its last job was queued, so a count that drifted heals by itself. */
const COUNT_TTL_MS = 24 * 3600 * 1000;

// KEYS[1] the tenant's count. Never below zero (a job can start twice: a stalled job is taken over).
const STARTED = `local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v > 0 then return redis.call('DECR', KEYS[1]) end
return 0`;

/**
 * Fair turns between tenants on one queue, so a tenant with a backlog of thousands of documents does not starve one
 * that uploads a single document. Open-source BullMQ has no per-group fairness (that is BullMQ Pro's groups), so each
 * job's priority is its place in its tenant's line: a tenant's 1st waiting job gets priority 1, its 1,000th 1,000.
 * Workers take the lowest number first and FIFO within one, so the queue serves tenants round-robin, with no
 * scheduler of our own. The count per tenant is a Redis counter: raised when jobs are queued, lowered when one starts
 * or is removed before starting. It only orders work; a drifted count costs order, never a job.
 */
export class FairTurns {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly queue: string,
  ) {}

  private key(tenant: string) {
    return `${this.prefix}:fair:${this.queue}:${encodeURIComponent(tenant)}`;
  }

  /** Priorities for `count` new jobs of a tenant, in the order they are queued. */
  async take(tenant: string, count = 1): Promise<number[]> {
    const key = this.key(tenant);
    const [[, last]] = (await this.redis.multi().incrby(key, count).pexpire(key, COUNT_TTL_MS).exec()) as [[Error | null, number]];
    return Array.from({ length: count }, (_, i) => Math.max(1, Math.min(MAX_PRIORITY, last - count + 1 + i)));
  }

  /** A job of the tenant started (or was removed before it could): the tenant's line is one shorter. */
  async started(tenant: string): Promise<void> {
    await this.redis.eval(STARTED, 1, this.key(tenant));
  }
}
