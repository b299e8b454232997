import type { RedisClient } from '../../infra/redis';
import type { ChatRequest, ChatResult } from '../provider';
import { enc, modelKey, sha256 } from './keys';
import { requirePositive } from './options';

export interface ChatCacheOptions {
  /** Off by default: a cached answer is only right when the same request must give the same answer. */
  enabled?: boolean;
  /** Default 1 hour. */
  ttlMs?: number;
}

export const DEFAULT_CHAT_CACHE_TTL_MS = 3_600_000;

/**
 * Answers to identical temperature-0 chat requests (same model, messages and maxTokens), with a TTL.
 * Requests with any other temperature (including unset, which means the provider's default) are never cached.
 * Only complete answers (finishReason `stop`) are stored.
 *
 * Entries are per tenant, like the embedding cache's: a hit costs nothing and records no usage, so a cache shared
 * across tenants would tell one tenant that another had sent the same prompt. Without a tenant (tests of the cache
 * itself) entries live in a space no tenant's calls read.
 */
export class ChatCache {
  readonly enabled: boolean;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: ChatCacheOptions = {},
  ) {
    this.enabled = options.enabled ?? false;
    this.ttlMs = requirePositive('ttlMs', options.ttlMs ?? DEFAULT_CHAT_CACHE_TTL_MS);
  }

  isCacheable(req: ChatRequest): boolean {
    return this.enabled && req.temperature === 0;
  }

  private key(req: ChatRequest, tenant: string | undefined) {
    const canonical = JSON.stringify({
      model: req.model,
      messages: req.messages.map((m) => [m.role, m.content]),
      maxTokens: req.maxTokens ?? null,
    });
    const hash = sha256(canonical);
    return tenant === undefined
      ? modelKey(this.prefix, req.model, 'chat', hash)
      : modelKey(this.prefix, req.model, 'chat', 't', enc(tenant), hash);
  }

  async get(req: ChatRequest, tenant?: string): Promise<ChatResult | undefined> {
    if (!this.isCacheable(req)) return undefined;
    const raw = await this.redis.get(this.key(req, tenant));
    return raw ? (JSON.parse(raw) as ChatResult) : undefined;
  }

  /** Returns whether the result was stored. */
  async set(req: ChatRequest, result: ChatResult, tenant?: string): Promise<boolean> {
    if (!this.isCacheable(req) || result.finishReason !== 'stop') return false;
    await this.redis.set(this.key(req, tenant), JSON.stringify(result), 'PX', this.ttlMs);
    return true;
  }
}
