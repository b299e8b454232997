import { AppError } from '../../errors';
import { retryAfterHeader } from '../safety/retry';

/**
 * Maps whatever the Mistral SDK (or fetch under it) throws to an AppError the gateway can branch on.
 * Duck-typed on purpose: the SDK is ESM-only and its error classes are loaded through `require`, so `instanceof`
 * would tie this module to one loaded copy; `name` and `statusCode` are part of the SDK's documented error shape.
 *
 * - 429                         -> upstream_rate_limited (retryable; details.retryAfterMs from Retry-After)
 * - 5xx, connection, timeout,
 *   broken/invalid response     -> upstream_unavailable (retryable)
 * - other 4xx                   -> upstream_rejected (not retryable)
 * - the caller's signal aborted -> aborted (not retryable)
 */

export interface MistralErrorContext {
  /** The caller's signal: if it fired, the failure is the caller's own abort whatever the SDK says. */
  callerSignal?: AbortSignal;
  /** The provider's own timeout signal: if it fired, the failure is a timeout. */
  timeoutSignal?: AbortSignal;
  timeoutMs?: number;
  operation: string;
}

const PROVIDER = 'mistral';

export function mapMistralError(err: unknown, ctx: MistralErrorContext): AppError {
  if (err instanceof AppError) return err;
  if (ctx.callerSignal?.aborted) {
    return new AppError(
      'aborted',
      `Mistral ${ctx.operation} was aborted by the caller`,
      { provider: PROVIDER },
      { cause: err, retryable: false },
    );
  }
  if (ctx.timeoutSignal?.aborted || errorName(err) === 'RequestTimeoutError' || errorName(err) === 'TimeoutError') {
    return unavailable(ctx, `Mistral ${ctx.operation} timed out after ${ctx.timeoutMs ?? '?'} ms`, err, {
      reason: 'timeout',
      timeoutMs: ctx.timeoutMs,
    });
  }
  const status = statusCodeOf(err);
  if (status !== undefined) {
    if (status === 429) {
      const retryAfterMs = parseRetryAfterMs(headerOf(err, 'retry-after'));
      const details: Record<string, unknown> = { provider: PROVIDER, upstreamStatus: 429 };
      if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
      const headers = retryAfterMs !== undefined ? retryAfterHeader(retryAfterMs) : undefined;
      return new AppError('upstream_rate_limited', `Mistral rate-limited ${ctx.operation}; try again shortly`, details, {
        cause: err,
        retryable: true,
        headers,
      });
    }
    if (status >= 500 || status === 408) {
      return unavailable(ctx, `Mistral ${ctx.operation} failed with HTTP ${status}`, err, { upstreamStatus: status });
    }
    if (status >= 400) {
      return new AppError(
        'upstream_rejected',
        `Mistral rejected ${ctx.operation} with HTTP ${status}`,
        { provider: PROVIDER, upstreamStatus: status, upstreamMessage: upstreamMessage(err) },
        { cause: err, retryable: false },
      );
    }
  }
  if (errorName(err) === 'RequestAbortedError' || errorName(err) === 'AbortError') {
    // Aborted but not by the caller's signal nor our timeout (both checked above): treat as a transport failure.
    return unavailable(ctx, `Mistral ${ctx.operation} was cut off`, err, { reason: 'aborted_upstream' });
  }
  // ConnectionError, a socket closed mid-stream (TypeError: terminated), a response the SDK could not validate
  // (ResponseValidationError / ZodError): the upstream is misbehaving; another attempt may well succeed.
  return unavailable(ctx, `Mistral ${ctx.operation} failed: ${messageOf(err)}`, err, { reason: errorName(err) ?? 'unknown' });
}

function unavailable(ctx: MistralErrorContext, message: string, cause: unknown, extra: Record<string, unknown>): AppError {
  return new AppError(
    'upstream_unavailable',
    message,
    { provider: PROVIDER, ...extra },
    { cause, retryable: true, headers: { 'Retry-After': '2' } },
  );
}

/** Retry-After is either delta-seconds or an HTTP date; returns milliseconds (>= 0) or undefined. */
function parseRetryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string'
    ? (err as { name: string }).name
    : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && Number.isFinite(status) ? status : undefined;
}

function headerOf(err: unknown, name: string): string | null {
  const headers = (err as { headers?: unknown }).headers;
  if (headers && typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  return null;
}

function upstreamMessage(err: unknown): string | undefined {
  const body = (err as { body?: unknown }).body;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.slice(0, 500);
  } catch {
    /* not JSON */
  }
  return body.slice(0, 500);
}
