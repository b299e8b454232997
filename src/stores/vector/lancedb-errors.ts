import { AppError, dependencyUnavailable } from '../../errors';

/**
 * Maps what LanceDB (its native core, via napi) throws on a request path to an AppError, at the store boundary, so a
 * route never answers a raw `Error` as 500 `internal_error`:
 * - I/O failures (a data file unreadable or gone, disk full, too many open files) and commit conflicts (another
 *   process committed the same version first): `dependency_unavailable` (503, retryable). Both can pass: a retry of
 *   a conflicting commit succeeds, and I/O faults are the disk's, not the request's.
 * - anything else (a bad filter, a schema mismatch): `vector_store_error` (500), a bug on our side as every request
 *   is validated before it reaches the store; still retryable for workers (see below).
 * - a call on a closed store (during shutdown): `dependency_unavailable`.
 * The native message can quote filter values (tenant data): it goes to the log as the cause, never into the answer.
 */

/** LanceDB error kinds and OS messages that mean "the storage failed", not "the request was wrong". */
const IO_FAILURE =
  /LanceError\(IO\)|\bIO error\b|I\/O error|os error \d+|No such file|Permission denied|Too many open files|No space left|Not found: .*\.(lance|manifest|txn)|Object at location .* not found|EACCES|ENOENT|ENOSPC|EMFILE|EIO\b/i;
const COMMIT_CONFLICT = /commit conflict|CommitConflict|Retryable commit|concurrent (write|commit)/i;

export function isLanceDbRetryable(err: unknown): boolean {
  // Duck-typed: the native module's errors may come from another realm (a test VM context), failing instanceof.
  const raw = typeof err === 'string' ? err : (err as { message?: unknown } | null)?.message;
  const message = typeof raw === 'string' ? raw : '';
  const code = (err as { code?: unknown } | null)?.code;
  return (
    IO_FAILURE.test(message) || COMMIT_CONFLICT.test(message) || (typeof code === 'string' && /^E(ACCES|NOENT|NOSPC|MFILE|IO)$/.test(code))
  );
}

/** The AppError for a failure of LanceDB during `operation` (e.g. 'search', 'upsert'). */
export function mapLanceDbError(err: unknown, operation: string): AppError {
  if (err instanceof AppError) return err;
  const message = (err as { message?: unknown } | null)?.message;
  if (message === 'LanceDbVectorStore is closed') {
    // A request that arrives while the service shuts down: another replica (or this one, restarted) can serve it.
    return new AppError(
      'dependency_unavailable',
      'The LanceDB store is closed (the service is shutting down); try again shortly',
      {
        dependency: 'lancedb',
        operation,
      },
      { cause: err, headers: { 'Retry-After': '2' } },
    );
  }
  if (isLanceDbRetryable(err)) {
    const failure = dependencyUnavailable('lancedb', err, { label: 'LanceDB', headers: { 'Retry-After': '2' } });
    failure.details!.operation = operation;
    return failure;
  }
  // Retryable for workers, as a raw error was before this mapping: an ingest job backs off and tries again rather
  // than failing its document on the first unknown native error; the HTTP answer is 500 either way.
  return new AppError(
    'vector_store_error',
    `LanceDB ${operation} failed`,
    { dependency: 'lancedb', operation },
    { cause: err, retryable: true },
  );
}

/** Runs one store operation, mapping its failure. */
export async function callLanceDb<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapLanceDbError(err, operation);
  }
}
