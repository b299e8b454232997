import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../../errors';

/**
 * Who may open operator pages that span every tenant (the queue dashboard):
 * - `key`: ADMIN_API_KEY is set; it alone opens them (tenant keys do not);
 * - `open`: neither API_KEYS nor ADMIN_API_KEY is set (local development, auth off everywhere; startup warns);
 * - `disabled`: tenants have keys but no admin key was configured, so the pages do not exist (404).
 */
export type AdminAccess = { mode: 'key'; key: string } | { mode: 'open' } | { mode: 'disabled' };

export function adminAccess(config: { adminApiKey?: string; apiKeys?: ReadonlyMap<string, string> }): AdminAccess {
  if (config.adminApiKey) return { mode: 'key', key: config.adminApiKey };
  return config.apiKeys ? { mode: 'disabled' } : { mode: 'open' };
}

const ADMIN_REALM = 'ragmem admin';

/** Hashing first gives both sides one length, so timingSafeEqual never throws and the key's length does not leak. */
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

/** The secret a request presents: a bearer token, or the password of HTTP Basic (the user name is ignored). */
function presentedSecret(authorization: string | undefined): string | undefined {
  const match = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  if (match[1].toLowerCase() === 'bearer') return match[2];
  const decoded = Buffer.from(match[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * Requires ADMIN_API_KEY as `Authorization: Bearer <key>` or HTTP Basic. The 401 names the Basic realm, so a browser
 * opening the dashboard prompts for it (and then sends it with the dashboard's own API calls).
 */
export function requireAdminKey(key: string): RequestHandler {
  return (req, _res, next) => {
    const secret = presentedSecret(req.headers.authorization);
    if (secret !== undefined && sameSecret(secret, key)) return next();
    throw new AppError('unauthorized', secret === undefined ? 'Send the admin key as "Authorization: Bearer <key>" or as the HTTP Basic password' : 'The admin key is not valid',
      undefined,
      { headers: { 'WWW-Authenticate': `Basic realm="${ADMIN_REALM}"` } },
    );
  };
}
