import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MulterError } from 'multer';
import { ZodError } from 'zod';
import { AppError, isAppError } from '../../errors';
import { isRedisUnavailable, redisUnavailable } from '../../infra/redis';

/** Turns anything thrown into api.md's error envelope. The one place HTTP statuses for errors are decided. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof ZodError) {
    return new AppError('invalid_request', describeZod(err), {
      fields: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code })),
    });
  }
  if (err instanceof MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new AppError('payload_too_large', 'The file is larger than the upload limit');
    if (err.code === 'LIMIT_UNEXPECTED_FILE') {
      return new AppError('invalid_request', `Unexpected file field "${err.field}": send one file as "file"`);
    }
    return new AppError('invalid_request', `Invalid multipart upload: ${err.message}`, { multer: err.code });
  }
  const bodyErr = err as { type?: string; status?: number; message?: string };
  switch (bodyErr.type) {
    case 'entity.too.large':
      return new AppError('payload_too_large', 'The request body is larger than the limit');
    case 'entity.parse.failed':
      return new AppError('invalid_json', 'The request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', bodyErr.message ?? 'Unsupported content encoding');
  }
  if (isRedisUnavailable(err)) return redisUnavailable(err);
  if (err instanceof Error && /Unexpected end of form|Malformed part header|Multipart: Boundary not found/i.test(err.message)) {
    return new AppError('invalid_request', `Invalid multipart body: ${err.message}`);
  }
  return new AppError('internal_error', 'Something went wrong on our side', undefined, { cause: err });
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
  res.status(appErr.status).json({
    error: { code: appErr.code, message: appErr.message, ...(appErr.details ? { details: appErr.details } : {}) },
  });
};

export const notFoundRoute: RequestHandler = (req) => {
  throw new AppError('route_not_found', `No route for ${req.method} ${req.path}`);
};
