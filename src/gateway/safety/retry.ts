import { isAppError } from '../../errors';
import { sleep } from './keys';

export interface RetryOptions {
  /** Total attempts, the first included. Default 3. */
  attempts?: number;
  /** Backoff of the first retry, before jitter. Default 250 ms. */
  baseMs?: number;
  /** Cap of any one backoff (a Retry-After above it is still honoured, within the budget). Default 10 s. */
  maxMs?: number;
  /** No retry starts if waiting for it would end past this much time since the first attempt. Default 60 s. */
  totalBudgetMs?: number;
  signal?: AbortSignal;
  /** Default: an AppError's `retryable`; anything else is not retried. */
  isRetryable?: (err: unknown) => boolean;
  /** Default: an AppError's `details.retryAfterMs` when it is a non-negative number. */
  retryAfterMs?: (err: unknown) => number | undefined;
  /** Called before each wait. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** For tests. */
  random?: () => number;
  now?: () => number;
}

/** A Retry-After header (whole seconds, at least 1) for a wait of `ms`. */
export { retryAfterHeader } from '../../errors';

const DEFAULT_RETRY = { attempts: 3, baseMs: 250, maxMs: 10_000, totalBudgetMs: 60_000 } as const;

const appErrorRetryable = (err: unknown) => isAppError(err) && err.retryable;
const appErrorRetryAfterMs = (err: unknown) => {
  const v = isAppError(err) ? err.details?.retryAfterMs : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
};

/**
 * Runs `fn` until it succeeds, with exponential backoff and full jitter (delay = random(0, min(maxMs, baseMs·2^(n-1)))).
 * A Retry-After from the error replaces the jittered delay (it is what the server asked for). Gives up, throwing the
 * last error, when: the error is not retryable, attempts are used up, the next wait would overrun totalBudgetMs.
 * Aborting the signal stops at once (before an attempt or during a wait) with the signal's reason.
 */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_RETRY.attempts);
  const baseMs = options.baseMs ?? DEFAULT_RETRY.baseMs;
  const maxMs = options.maxMs ?? DEFAULT_RETRY.maxMs;
  const budget = options.totalBudgetMs ?? DEFAULT_RETRY.totalBudgetMs;
  const isRetryable = options.isRetryable ?? appErrorRetryable;
  const retryAfter = options.retryAfterMs ?? appErrorRetryAfterMs;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const asked = retryAfter(error);
      const delayMs = asked ?? Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
      if (now() - started + delayMs > budget) throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
    }
  }
}
