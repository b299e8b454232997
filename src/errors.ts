/**
 * The one catalogue of error codes. Every code the service can answer (or record on a document or job) is here with
 * its HTTP status and whether a worker or the gateway may retry it. `AppError` takes its status and retryability from
 * this table, so a code cannot drift between call sites; docs/errors.md is generated from it (`npm run docs:errors`)
 * and test/unit/error-docs.test.ts fails when the two differ.
 *
 * `where` says where a client meets the code: `http` (an error response), `document` (a document's or reindex job's
 * `error.code`), or both.
 */
type Where = 'http' | 'document' | 'both';
interface CodeSpec {
  status: number;
  retryable: boolean;
  where: Where;
  /** One line for the docs' table. */
  meaning: string;
}

const spec = (status: number, retryable: boolean, where: Where, meaning: string): CodeSpec => ({ status, retryable, where, meaning });

export const ERROR_CATALOGUE = {
  // Requests the client can fix.
  invalid_request: spec(400, false, 'http', 'a field, parameter or path is invalid; details name the failing fields'),
  invalid_json: spec(400, false, 'http', 'the body is not valid JSON'),
  invalid_encoding: spec(400, false, 'both', 'the text is not valid UTF-8'),
  invalid_path_encoding: spec(400, false, 'http', 'a path segment is not valid percent-encoding (e.g. %ZZ or a cut UTF-8 sequence)'),
  invalid_content_encoding: spec(400, false, 'http', 'the body does not decode with its Content-Encoding (e.g. gzip that is not gzip)'),
  invalid_multipart: spec(
    400,
    false,
    'http',
    'a multipart body is malformed: no boundary, truncated, too many parts or oversized part headers',
  ),
  empty_document: spec(400, false, 'http', 'the uploaded file or text is empty'),
  context_too_small: spec(400, false, 'http', 'maxContextTokens cannot hold the system prompt, the question and the newest turn'),
  unknown_model: spec(400, false, 'http', 'the request names a model the registry does not know'),
  unknown_embedding_model: spec(400, false, 'http', 'a reindex names an embedding model the service cannot serve'),
  unauthorized: spec(401, false, 'http', 'no key, or a key that is not valid'),
  quota_exceeded: spec(
    403,
    false,
    'http',
    "the tenant's quota of documents, bytes or running reindex jobs is used up; details name which (TENANT_MAX_*)",
  ),
  not_found: spec(404, false, 'http', 'the document (or job) does not exist for this tenant'),
  session_not_found: spec(404, false, 'http', 'the session does not exist for this tenant'),
  route_not_found: spec(404, false, 'http', 'no such route'),
  console_not_built: spec(404, false, 'http', 'the web console at `/` is not built here: run `npm run build` (or set CONSOLE_DIR)'),
  session_exists: spec(409, false, 'http', 'POST /sessions with an id already taken'),
  session_deleted: spec(409, false, 'http', 'the session was deleted while its answer was being made; nothing was stored'),
  conflict: spec(409, false, 'http', 'the document changed while the request was made; try again'),
  reindex_in_progress: spec(409, false, 'http', 'a reindex of the collection is already running'),
  reindex_finished: spec(409, false, 'http', 'the reindex job already ended'),
  source_missing: spec(409, false, 'both', 'the stored source of a document is gone; upload it again'),
  payload_too_large: spec(413, false, 'http', 'the body or file is over its size limit'),
  too_many_documents: spec(413, false, 'http', 'a bulk request over 1,000 documents'),
  too_many_messages: spec(413, false, 'http', 'an import over MAX_IMPORT_MESSAGES'),
  question_too_large: spec(413, false, 'http', 'a question over MAX_QUESTION_CHARS'),
  metadata_too_large: spec(
    413,
    false,
    'http',
    'document or session metadata over 64 keys or 8 KiB serialized (it is copied into every chunk)',
  ),
  filter_too_large: spec(413, false, 'http', 'a search or ask filter over 32 metadata keys or 256 values in all'),
  unsupported_media_type: spec(415, false, 'http', 'a file type or content encoding the service does not take'),
  rate_limited: spec(
    429,
    true,
    'http',
    "a model's rate budget, or this tenant's share of it (MODEL_TENANT_SHARE), did not free up in time (Retry-After)",
  ),
  too_many_requests: spec(429, true, 'http', 'the API key is over KEY_RATE_LIMIT_RPS requests per second (Retry-After)'),
  headers_too_large: spec(431, false, 'http', "the request line and headers are over 16 KiB (Node's limit); refused before routing"),
  client_closed_request: spec(499, false, 'http', 'the client went away before the answer was made'),
  aborted: spec(499, false, 'http', 'a model call was cancelled by its caller'),
  // Document outcomes (a document's `error.code`).
  pdf_encrypted: spec(422, false, 'document', 'the PDF is password-protected'),
  pdf_invalid: spec(422, false, 'document', 'the file is not a readable PDF (truncated or corrupt)'),
  pdf_no_text: spec(422, false, 'document', 'the PDF has no text layer (a scan)'),
  docx_invalid: spec(422, false, 'document', 'the file is not a readable Word document (.docx): corrupt, or an older .doc'),
  docx_no_text: spec(422, false, 'document', 'the Word document has no text'),
  html_too_deep: spec(422, false, 'document', 'the HTML nests elements thousands of levels deep'),
  ocr_unavailable: spec(
    422,
    false,
    'document',
    'a scan or image needs OCR, which is off (OCR=off) or not installed (tesseract-ocr, poppler-utils)',
  ),
  image_no_text: spec(422, false, 'document', 'OCR found no text in the image'),
  ocr_failed: spec(422, false, 'document', "OCR could not read a page (the message gives tesseract's reason)"),
  pdf_too_large: spec(422, false, 'document', 'the PDF has more pages than PDF_MAX_PAGES (checked before any text is read)'),
  parse_timeout: spec(422, false, 'document', 'parsing ran past PARSE_TIMEOUT_MS and was stopped'),
  parse_out_of_memory: spec(422, false, 'document', 'parsing needed more than PARSE_MAX_MEMORY_MB and was stopped'),
  ingest_failed: spec(500, false, 'document', 'ingestion failed after its last attempt; the message says why'),
  ingest_stalled: spec(
    500,
    false,
    'document',
    'the ingestion job stalled (its worker died or hung past JOB_LOCK_MS) more than JOB_MAX_STALLS times',
  ),
  reindex_failed: spec(500, false, 'document', 'a reindex job failed on an error without a code of its own; the message says why'),
  // Dependencies and our own faults.
  internal_error: spec(500, false, 'http', 'a bug on our side; the log has the cause'),
  embedding_mismatch: spec(500, false, 'http', 'a vector index was built with another embedding model or size'),
  vector_store_error: spec(500, false, 'both', 'the vector store refused a request (a bug on our side)'),
  upstream_rejected: spec(502, false, 'http', 'the model provider refused the request'),
  dependency_unavailable: spec(503, true, 'both', 'Redis or the vector store does not answer right now (Retry-After)'),
  model_unavailable: spec(503, true, 'http', 'no model of the purpose can serve right now (Retry-After)'),
  upstream_unavailable: spec(503, true, 'http', 'the model provider failed or did not answer'),
  upstream_rate_limited: spec(503, true, 'http', 'the model provider rate-limited the call'),
  uploads_busy: spec(503, true, 'http', 'the process already holds MAX_INFLIGHT_UPLOAD_BYTES of request bodies; retry after Retry-After'),
  asks_busy: spec(503, true, 'http', 'the process is answering MAX_INFLIGHT_ASKS questions already; retry after Retry-After'),
  storage_full: spec(
    507,
    true,
    'both',
    'Redis is out of memory (maxmemory with noeviction); an operator must free or add memory (Retry-After)',
  ),
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CATALOGUE, code);

/**
 * The one error type the service raises on purpose. `code` is stable and machine-readable (clients branch on it);
 * `status` (the HTTP status the error middleware answers with) and `retryable` (whether workers and the gateway try
 * again) come from the catalogue. `retryable` may be overridden where one code covers both kinds, which is rare.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly retryable: boolean;
  readonly headers?: Record<string, string>;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown; retryable?: boolean; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = ERROR_CATALOGUE[code].status;
    this.retryable = options?.retryable ?? ERROR_CATALOGUE[code].retryable;
    this.headers = options?.headers;
  }
}

/** Retry-After in whole seconds (at least 1), as HTTP wants it, from a wait in milliseconds. */
export const retryAfterHeader = (ms: number): { 'Retry-After': string } => ({ 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) });

export const notFound = (what: string, id: string) => new AppError('not_found', `${what} ${JSON.stringify(id)} does not exist`, { id });

export const invalidRequest = (message: string, details?: Record<string, unknown>) => new AppError('invalid_request', message, details);

/** A request over one of the service's size limits (413), with the limit and what was sent. */
export const tooLarge = (code: ErrorCode, message: string, limit: { max: number; got: number }) => new AppError(code, message, limit);

/** `label` names the dependency in the message (default: `dependency`); `headers` ride along (e.g. Retry-After). */
export const dependencyUnavailable = (
  dependency: string,
  cause?: unknown,
  options: { label?: string; headers?: Record<string, string> } = {},
) =>
  new AppError(
    'dependency_unavailable',
    `${options.label ?? dependency} is unavailable; try again shortly`,
    { dependency },
    {
      cause,
      headers: options.headers,
    },
  );

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Node's codes for a failure of the network or of a busy resource: the same call may pass a moment later. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAGAIN',
  'EBUSY',
  'EMFILE',
  'ENFILE',
]);

/** Errors of a program's own making: the same code on the same data fails the same way on every try. */
const BUG_NAMES = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'ZodError']);

/**
 * Whether a failed job may pass on a retry. An AppError says so itself (the catalogue's `retryable`). An error
 * without a code of ours is judged by its kind: the network and busy resources (Node's system codes, on the error or
 * its cause, as fetch's `TypeError: fetch failed` carries them; timeouts) are retried; a bug or bad data (TypeError,
 * RangeError, a schema failure) fails at once, as retrying it would only delay the failure behind backoff and hide
 * the bug. What is left (a dependency's own error classes, such as ioredis's "Connection is closed") is retried
 * within the job's attempts, its message logged on each.
 */
export function mayPassOnRetry(err: unknown): boolean {
  if (isAppError(err)) return err.retryable;
  const codeOf = (e: unknown) => (e !== null && typeof e === 'object' ? (e as { code?: unknown }).code : undefined);
  const code = codeOf(err) ?? codeOf((err as { cause?: unknown } | null)?.cause);
  if (typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code)) return true;
  // Zod's errors are not instances of Error (zod 4), so kinds are told by name.
  const name = err !== null && typeof err === 'object' ? (err as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') return true;
  return !(typeof name === 'string' && BUG_NAMES.has(name));
}
