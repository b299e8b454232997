import type { RequestHandler } from 'express';
import { AppError } from '../../errors';

export const DEFAULT_TENANT = 'default';

/**
 * Bearer keys map to tenants (API_KEYS). With no keys configured auth is off and every request is tenant `default`
 * (startup warns). The tenant lands in res.locals.tenant; every store call takes it.
 */
export function authenticate(apiKeys: ReadonlyMap<string, string> | undefined): RequestHandler {
  return (req, res, next) => {
    if (!apiKeys) {
      res.locals.tenant = DEFAULT_TENANT;
      return next();
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const tenant = match ? apiKeys.get(match[1].trim()) : undefined;
    if (!tenant) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new AppError('unauthorized', match ? 'The API key is not valid' : 'Send an API key as "Authorization: Bearer <key>"');
    }
    res.locals.tenant = tenant;
    next();
  };
}

export const tenantOf = (res: { locals: Record<string, unknown> }) => res.locals.tenant as string;
