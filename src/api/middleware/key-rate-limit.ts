import type { RequestHandler } from 'express';
import type { RequestLimiter } from '../../tenancy/request-limiter';
import { keyIdOf } from './auth';

/** Right after authentication: each key's requests per second (see RequestLimiter); 429 before any work is done. */
export function keyRateLimit(limiter: RequestLimiter): RequestHandler {
  if (!limiter.enabled) return (_req, _res, next) => next();
  return async (_req, res, next) => {
    await limiter.admit(keyIdOf(res));
    next();
  };
}
