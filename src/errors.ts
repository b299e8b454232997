/**
 * The one error type the service raises on purpose. `code` is stable and machine-readable (clients branch on it);
 * `status` is the HTTP status the error middleware answers with; `retryable` tells workers whether to try again.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown; retryable?: boolean; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options?.retryable ?? status >= 500;
    this.headers = options?.headers;
  }
  readonly retryable: boolean;
  readonly headers?: Record<string, string>;
}

export const notFound = (what: string, id: string) =>
  new AppError('not_found', 404, `${what} ${JSON.stringify(id)} does not exist`, { id });

export const invalidRequest = (message: string, details?: Record<string, unknown>) =>
  new AppError('invalid_request', 400, message, details);

/** A request over one of the service's size limits (413), with the limit and what was sent. */
export const tooLarge = (code: string, message: string, limit: { max: number; got: number }) => new AppError(code, 413, message, limit);

/** `label` names the dependency in the message (default: `dependency`); `headers` ride along (e.g. Retry-After). */
export const dependencyUnavailable = (
  dependency: string,
  cause?: unknown,
  options: { label?: string; headers?: Record<string, string> } = {},
) =>
  new AppError('dependency_unavailable', 503, `${options.label ?? dependency} is unavailable; try again shortly`, { dependency }, {
    cause,
    headers: options.headers,
  });

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
