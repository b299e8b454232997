import type { RedisClient } from './redis';

export interface LexPageOptions {
  limit: number;
  /** The last member of the previous page. */
  cursor?: string;
  /** Filtering happens after the read, so a page may take several rounds; bounded so a filter matching nothing stays cheap. */
  maxRounds: number;
}

/**
 * One page of the items behind a sorted set ordered by member (all scores 0), highest member first: members are read
 * `limit` at a time, `load` fetches their items (undefined for a member whose item is gone, handed to `onMissing`),
 * and `keep` filters. The cursor of the next page is the last member looked at, when the page came back full.
 */
export async function pageByLex<T>(
  redis: RedisClient,
  key: string,
  opts: LexPageOptions,
  load: (members: string[]) => Promise<Array<T | undefined>>,
  keep: (item: T) => boolean,
  onMissing?: (members: string[]) => Promise<void>,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const items: T[] = [];
  let cursor = opts.cursor;
  for (let round = 0; round < opts.maxRounds && items.length < opts.limit; round++) {
    const members = await redis.zrange(key, cursor ? `(${cursor}` : '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, opts.limit);
    if (members.length === 0) return { items, nextCursor: null };
    const loaded = await load(members);
    const missing: string[] = [];
    for (const [i, member] of members.entries()) {
      cursor = member;
      const item = loaded[i];
      if (item === undefined) missing.push(member);
      else if (keep(item)) items.push(item);
      if (items.length === opts.limit) break;
    }
    if (missing.length > 0) await onMissing?.(missing);
    if (members.length < opts.limit && items.length < opts.limit) return { items, nextCursor: null };
  }
  return { items, nextCursor: items.length === opts.limit && cursor ? cursor : null };
}
