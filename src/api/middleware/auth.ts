import type { RequestHandler } from 'express';
import { AppError } from '../../errors';
import { ANONYMOUS, type Authenticator } from '../../tenancy/authenticator';

export { DEFAULT_TENANT } from '../../tenancy/authenticator';

/**
 * Bearer keys map to tenants: API_KEYS from the environment and keys stored hashed in Redis (`npm run keys`), both
 * through the Authenticator. With no keys at all auth is off and every request is tenant `default` (the server then
 * listens on loopback only); as soon as one key exists, every request needs one (on every replica within a second).
 * Sets res.locals.tenant (every store call takes it) and res.locals.keyId (a stable id of the key, for per-key limits).
 */
export function authenticate(authenticator: Authenticator): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(.+?)\s*$/i.exec(req.headers.authorization ?? '');
    const identity = match ? await authenticator.identify(match[1]) : undefined;
    if (identity) {
      res.locals.tenant = identity.tenant;
      res.locals.keyId = identity.keyId;
      return next();
    }
    if (await authenticator.authOff()) {
      res.locals.tenant = ANONYMOUS.tenant;
      res.locals.keyId = ANONYMOUS.keyId;
      return next();
    }
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw new AppError('unauthorized', match ? 'The API key is not valid' : 'Send an API key as "Authorization: Bearer <key>"');
  };
}

export const tenantOf = (res: { locals: Record<string, unknown> }) => res.locals.tenant as string;
/** The id of the key the request used: a Redis key's id, `env:<hash>` for API_KEYS, `anonymous` when auth is off. */
export const keyIdOf = (res: { locals: Record<string, unknown> }) => res.locals.keyId as string;
