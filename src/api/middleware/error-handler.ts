import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MulterError } from 'multer';
import { ZodError } from 'zod';
import { AppError, isAppError, isErrorCode, type ErrorCode } from '../../errors';
import { isRedisOutOfMemory, isRedisUnavailable, redisOutOfMemory, redisUnavailable } from '../../infra/redis';
import { toErrorBody } from '../views/error-view';

/** Turns anything thrown into api.md's error envelope. The one place HTTP statuses for errors are decided. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof ZodError) return fromZod(err);
  if (err instanceof MulterError) return fromMulter(err);
  const fromBody = fromHttpError(err);
  if (fromBody) return fromBody;
  if (isRedisOutOfMemory(err)) return redisOutOfMemory(err);
  if (isRedisUnavailable(err)) return redisUnavailable(err);
  if (err instanceof Error && MULTIPART_FRAMING.test(err.message)) {
    return new AppError('invalid_multipart', `Invalid multipart body: ${err.message}`);
  }
  return new AppError('internal_error', 'Something went wrong on our side', undefined, { cause: err });
}

/** busboy's (multer's parser's) words for a body that is not well-framed multipart. */
const MULTIPART_FRAMING =
  /Unexpected end of (form|file)|Malformed part header|Multipart: Boundary not found|Malformed content type|Missing Content-Type|Unsupported content type/i;

/** A bound declared in a schema with `boundIssue` answers with its own code (e.g. 413 metadata_too_large). */
function fromZod(err: ZodError): AppError {
  const fields = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code }));
  const bound = err.issues
    .map((i) => (i as { params?: { appCode?: unknown } }).params?.appCode)
    .find((c): c is ErrorCode => typeof c === 'string' && isErrorCode(c));
  return new AppError(bound ?? 'invalid_request', describeZod(err), { fields });
}

function fromMulter(err: MulterError): AppError {
  if (err.code === 'LIMIT_FILE_SIZE') return new AppError('payload_too_large', 'The file is larger than the upload limit');
  if (err.code === 'LIMIT_UNEXPECTED_FILE') {
    return new AppError('invalid_request', `Unexpected file field "${err.field}": send one file as "file"`);
  }
  if (err.code === 'LIMIT_FIELD_VALUE')
    return new AppError('payload_too_large', `The multipart field "${err.field}" is larger than the limit`);
  // Too many parts, fields or files, field names too long: the framing is not what this API takes.
  return new AppError('invalid_multipart', `Invalid multipart upload: ${err.message}`, { multer: err.code });
}

/**
 * Errors of Express's router and of body-parser carry an HTTP status (http-errors) and, for body-parser, a `type`.
 * Any 4xx among them is the client's doing, so it maps to a client code, never to a 500.
 */
function fromHttpError(err: unknown): AppError | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown; message?: unknown; code?: unknown; name?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  switch (e.type) {
    case 'entity.too.large':
      return new AppError('payload_too_large', 'The request body is larger than the limit');
    case 'entity.parse.failed':
      return new AppError('invalid_json', 'The request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', message || 'Unsupported content encoding');
    case 'request.aborted':
      return new AppError('client_closed_request', 'The client closed the request before its body arrived');
    case 'request.size.invalid':
      return new AppError('invalid_request', 'The body is not as long as its Content-Length says');
  }
  if (status === undefined || status < 400 || status >= 500) return undefined;
  // The router's decodeURIComponent of a path parameter (`/documents/%E0%A4%A`, `/sessions/%ZZ`).
  if (e.name === 'URIError' || /Failed to decode param/.test(message)) {
    return new AppError('invalid_path_encoding', 'A path segment is not valid percent-encoding');
  }
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR...) while inflating a body that says it is gzip/deflate/br.
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return new AppError('invalid_content_encoding', 'The body does not decode with its Content-Encoding');
  }
  if (status === 413) return new AppError('payload_too_large', 'The request body is larger than the limit');
  if (status === 415) return new AppError('unsupported_media_type', message || 'Unsupported media type');
  return new AppError('invalid_request', `Invalid request: ${message || `HTTP ${status}`}`);
}

function describeZod(err: ZodError): string {
  const first = err.issues[0];
  const where = first?.path.length ? `${first.path.join('.')}: ` : '';
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  return `Invalid request: ${where}${first?.message ?? 'invalid'}${more}`;
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const appErr = toAppError(err);
  if (appErr.status >= 500) req.log?.error({ err: appErr.cause ?? err, code: appErr.code }, appErr.message);
  if (res.headersSent) return res.end();
  for (const [k, v] of Object.entries(appErr.headers ?? {})) res.setHeader(k, v);
  res.status(appErr.status).json(toErrorBody(appErr));
};

export const notFoundRoute: RequestHandler = (req) => {
  // The path as sent: inside a mounted router (the admin dashboard's) req.path is only the part below its mount point.
  throw new AppError('route_not_found', `No route for ${req.method} ${req.originalUrl.split('?')[0]}`);
};

/**
 * The HTTP server's `clientError` listener: a request Node's parser refuses never reaches Express, and Node's default
 * answer is a bare 400/431 without a body. Same statuses, with the envelope and a catalogue code; the connection closes.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A slow client past the request timeout, or a socket already answering: nothing useful to write.
  if (!socket.writable || err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const [status, reason, appErr] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', new AppError('headers_too_large', 'The request line and headers are larger than 16 KiB')]
      : [400, 'Bad Request', new AppError('invalid_request', 'The request is not valid HTTP')];
  const body = JSON.stringify(toErrorBody(appErr));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
