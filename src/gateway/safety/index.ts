export { RateLimiter, type ModelRateLimits, type RateLimiterOptions, type AcquireOptions } from './rate-limiter';
export { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker';
export { EmbeddingCache, type EmbeddingCacheOptions } from './embedding-cache';
export { ChatCache, type ChatCacheOptions } from './chat-cache';
export { UsageMeter, type UsageRecord, type UsageRow, type UsageMeterOptions } from './usage-meter';
export { costUsd, type ModelPricing } from './pricing';
export { retryWithBackoff, type RetryOptions } from './retry';
