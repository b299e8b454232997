import { invalidRequest } from '../../errors';
import type { RedisClient } from '../../infra/redis';
import type { Purpose } from '../provider';
import { enc, type Clock } from './keys';
import { clockOf } from './options';

export interface UsageRecord {
  tenant: string;
  model: string;
  purpose: Purpose;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface UsageRow {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  calls: number;
}

export interface UsageMeterOptions {
  /** How long a day's totals are kept. Default 400 days. */
  retentionDays?: number;
  now?: Clock;
}

export const DEFAULT_USAGE_RETENTION_DAYS = 400;
/** Longest range one query may ask for. */
export const MAX_QUERY_DAYS = 400;
const FIELDS = ['promptTokens', 'completionTokens', 'costUsd', 'calls'] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Token and cost totals per tenant, UTC day and model: one hash per (tenant, day) with fields `<model>|<field>`,
 * incremented with HINCRBY / HINCRBYFLOAT in one MULTI, expiring `retentionDays` after its last write.
 * Keys carry the tenant as hash tag, so a tenant's days sit in one Cluster slot and a query is one pipeline.
 * `purpose` is accepted for callers' convenience but totals are per model (a model serves one purpose).
 */
export class UsageMeter {
  private readonly now: Clock;
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: UsageMeterOptions = {},
  ) {
    this.now = clockOf(options);
    this.ttlSeconds = Math.round((options.retentionDays ?? DEFAULT_USAGE_RETENTION_DAYS) * 86_400);
  }

  private key(tenant: string, day: string) {
    return `${this.prefix}:{usage:${enc(tenant)}}:${day}`;
  }

  async record(r: UsageRecord): Promise<void> {
    const key = this.key(r.tenant, utcDay(this.now()));
    const m = enc(r.model);
    await this.redis
      .multi()
      .hincrby(key, `${m}|promptTokens`, Math.round(r.promptTokens))
      .hincrby(key, `${m}|completionTokens`, Math.round(r.completionTokens))
      .hincrbyfloat(key, `${m}|costUsd`, r.costUsd)
      .hincrby(key, `${m}|calls`, 1)
      .expire(key, this.ttlSeconds)
      .exec();
  }

  /** Rows for each day in [fromDay, toDay] (inclusive, UTC) and model with usage, ordered by day then model. */
  async query(tenant: string, fromDay: string, toDay: string): Promise<UsageRow[]> {
    const days = dayRange(fromDay, toDay);
    const pipeline = this.redis.pipeline();
    for (const d of days) pipeline.hgetall(this.key(tenant, d));
    const results = (await pipeline.exec()) ?? [];
    const rows: UsageRow[] = [];
    results.forEach(([err, hash], i) => {
      if (err) throw err;
      const byModel = new Map<string, UsageRow>();
      for (const [field, value] of Object.entries(hash as Record<string, string>)) {
        const cut = field.lastIndexOf('|');
        const model = decodeURIComponent(field.slice(0, cut));
        const name = field.slice(cut + 1) as (typeof FIELDS)[number];
        if (!FIELDS.includes(name)) continue;
        let row = byModel.get(model);
        if (!row) byModel.set(model, (row = { day: days[i], model, promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 }));
        row[name] = Number(value);
      }
      rows.push(...[...byModel.values()].sort((a, b) => a.model.localeCompare(b.model)));
    });
    return rows;
  }
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Every UTC day from `from` to `to`, inclusive. Throws on a malformed day, a reversed range or more than MAX_QUERY_DAYS. */
export function dayRange(from: string, to: string): string[] {
  if (!DAY.test(from) || !DAY.test(to)) throw invalidRequest(`days must be YYYY-MM-DD, got ${from} and ${to}`);
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end)) throw invalidRequest(`not a day: ${from} or ${to}`);
  if (end < start) throw invalidRequest(`the range ends (${to}) before it starts (${from})`);
  const n = Math.round((end - start) / 86_400_000) + 1;
  if (n > MAX_QUERY_DAYS) throw invalidRequest(`a usage query covers at most ${MAX_QUERY_DAYS} days, not ${n}`);
  return Array.from({ length: n }, (_, i) => utcDay(start + i * 86_400_000));
}
