import { AppError } from '../../errors';

/**
 * Maps whatever the Qdrant REST client throws to an AppError:
 * - no answer (connection refused/reset, DNS, timeouts), 408, 429 and 5xx: `dependency_unavailable` (503, retryable),
 *   its details saying why (`reason`, see unavailableReason): on a distributed Qdrant, a shard whose replicas are all
 *   away answers 503 ("Shard temporarily unavailable"), 500 ("... does not have enough active replicas", "N of M read
 *   operations failed") or 408 ("Timeout error: ..."), and Qdrant itself counts each of them as transient;
 * - any other 4xx or unexpected response: a bug on our side (the request was wrong), `vector_store_error` (500, not
 *   retryable). The response body is logged by shape only (keys and value types): Qdrant's error text can echo request
 *   values, which may be tenant data.
 */

export interface QdrantErrorLogger {
  warn(obj: object, msg?: string): void;
}

/** Node/undici error codes that mean "the server did not answer". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The shape of a JSON value: keys kept, leaves replaced by their type names; bounded in depth and breadth. */
export function bodyShape(value: unknown, depth = 0): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return depth >= 4 ? 'array' : value.length === 0 ? [] : [bodyShape(value[0], depth + 1)];
  if (typeof value === 'object') {
    if (depth >= 4) return 'object';
    const shape: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).slice(0, 20)) shape[key] = bodyShape((value as Record<string, unknown>)[key], depth + 1);
    return shape;
  }
  return typeof value;
}

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  for (let i = 0; i < 5 && current && typeof current === 'object'; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    // AggregateError (happy eyeballs: IPv4 and IPv6 both refused)
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner));
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/** Duck-typed on purpose: errors from fetch may come from another realm (a test VM context), failing instanceof. */
function isUnreachable(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const { name, message } = err as { name?: unknown; message?: unknown };
  if (
    name === 'QdrantClientTimeoutError' ||
    name === 'QdrantClientResourceExhaustedError' ||
    name === 'AbortError' ||
    name === 'TimeoutError'
  )
    return true;
  if (errorCodes(err).some((code) => UNREACHABLE_CODES.has(code))) return true;
  // undici's fetch rejects with TypeError('fetch failed') for every network-level failure
  return name === 'TypeError' && message === 'fetch failed';
}

const RETRY_AFTER = { 'Retry-After': '2' };

/** Why Qdrant cannot serve right now, as far as its answer tells: the `reason` of a dependency_unavailable. */
export type QdrantUnavailableReason = 'unreachable' | 'shard_unavailable' | 'timeout' | 'rate_limited' | 'server_error';

/**
 * Qdrant's own words (its CollectionError and replica-set messages) for a shard it cannot reach a live replica of:
 * `Shard temporarily unavailable: ...` (503), `The replica set for shard N on peer P does not have enough active
 * replicas`, `No active replica ...`, `Replica set is not available`, `N of M read operations failed`, `Operation
 * cancelled: N out of M shards failed to apply operation` (500).
 */
const SHARD_UNAVAILABLE =
  /shard temporarily unavailable|enough active replicas|no active replica|replica set is not available|read operations failed|shards failed to apply|shard \S+ is not active/i;
const TIMED_OUT = /timeout error|timed out|deadline exceeded/i;

/** The error text of a Qdrant answer (`{"status": {"error": "..."}}`), if any. */
function answerText(err: unknown): string {
  const status = (err as { data?: { status?: unknown } } | null)?.data?.status;
  const text = status !== null && typeof status === 'object' ? (status as { error?: unknown }).error : undefined;
  return typeof text === 'string' ? text : '';
}

export function unavailableReason(status: number, text: string): QdrantUnavailableReason {
  if (status === 503 || SHARD_UNAVAILABLE.test(text)) return 'shard_unavailable';
  if (status === 408 || TIMED_OUT.test(text)) return 'timeout';
  if (status === 429) return 'rate_limited';
  return 'server_error';
}

const UNAVAILABLE_MESSAGES: Record<QdrantUnavailableReason, string> = {
  unreachable: 'Qdrant is unavailable; try again shortly',
  shard_unavailable: 'A Qdrant shard is temporarily unavailable (no active replica); try again shortly',
  timeout: 'Qdrant timed out; try again shortly',
  rate_limited: 'Qdrant is rate-limiting requests; try again shortly',
  server_error: 'Qdrant is unavailable; try again shortly',
};

/** A call that got no answer: our client's own timeout, Qdrant's 429 as the client reports it, or no connection. */
function noAnswerReason(err: unknown): QdrantUnavailableReason {
  const name = (err as { name?: unknown }).name;
  if (name === 'QdrantClientTimeoutError' || name === 'TimeoutError') return 'timeout';
  if (name === 'QdrantClientResourceExhaustedError') return 'rate_limited';
  return 'unreachable';
}

/**
 * Retryable, with Retry-After as for Redis and LanceDB: the catalogue promises it with every dependency_unavailable a
 * client can retry. The message and `reason` say why (never Qdrant's text, which can echo request values); the API's
 * and the workers' logs carry them, so nothing more is logged here.
 */
function qdrantUnavailable(err: unknown, reason: QdrantUnavailableReason): AppError {
  return new AppError(
    'dependency_unavailable',
    UNAVAILABLE_MESSAGES[reason],
    { dependency: 'qdrant', reason },
    { cause: err, headers: RETRY_AFTER },
  );
}

/** Maps an error thrown by the client during `operation` (e.g. 'query', 'upsert') to an AppError. */
export function mapQdrantError(err: unknown, operation: string, logger?: QdrantErrorLogger): AppError {
  if (err instanceof AppError) return err;
  if (isUnreachable(err)) return qdrantUnavailable(err, noAnswerReason(err));
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number') {
    if (status === 408 || status === 429 || status >= 500) return qdrantUnavailable(err, unavailableReason(status, answerText(err)));
    const data = (err as { data?: unknown }).data;
    logger?.warn({ dependency: 'qdrant', operation, status, bodyShape: bodyShape(data) }, 'qdrant rejected a request');
    const known = mapQdrantClientError(status, operation, err);
    if (known) return known;
    return new AppError(
      'vector_store_error',
      `Qdrant rejected the ${operation} request (HTTP ${status})`,
      { dependency: 'qdrant', operation, status },
      { retryable: false, cause: err },
    );
  }
  logger?.warn({ dependency: 'qdrant', operation, errorName: (err as Error | null)?.name }, 'qdrant call failed unexpectedly');
  return new AppError(
    'vector_store_error',
    `Qdrant ${operation} failed unexpectedly`,
    { dependency: 'qdrant', operation },
    { retryable: false, cause: err },
  );
}

/**
 * The 4xx answers that are not a malformed request of ours, each with its own code:
 * - 401/403: Qdrant refuses our credentials (QDRANT_API_KEY wrong or missing): to the client the store is unavailable
 *   (503), but not retryable, as no retry fixes a key; the message names the setting for the operator's log.
 * - 404: the collection or alias is gone (dropped behind the service's back): `vector_store_error` saying so.
 * - 409: another replica created the same collection or alias first: `conflict`, retryable (the next try sees it).
 */
function mapQdrantClientError(status: number, operation: string, err: unknown): AppError | undefined {
  const details = { dependency: 'qdrant', operation, status };
  if (status === 401 || status === 403) {
    return new AppError('dependency_unavailable', 'Qdrant refused the credentials of this service (check QDRANT_API_KEY)', details, {
      cause: err,
      retryable: false,
    });
  }
  if (status === 404) {
    return new AppError('vector_store_error', `Qdrant has no such collection or alias for the ${operation} request (HTTP 404)`, details, {
      cause: err,
      retryable: false,
    });
  }
  if (status === 409) {
    return new AppError('conflict', `Qdrant ${operation} conflicted with a concurrent change; try again`, details, {
      cause: err,
      retryable: true,
    });
  }
  return undefined;
}

/** Runs one client call, mapping its failure. */
export async function callQdrant<T>(operation: string, logger: QdrantErrorLogger | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapQdrantError(err, operation, logger);
  }
}
