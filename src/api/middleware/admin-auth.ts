import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../../errors';
import type { Authenticator } from '../../tenancy/authenticator';

/**
 * Who may open operator pages that span every tenant (the queue dashboard):
 * - `key`: ADMIN_API_KEY is set; it alone opens them (tenant keys do not);
 * - `open`: neither API_KEYS nor ADMIN_API_KEY is set: the dashboard is read-only, and only while no key exists at all
 *   (keys created in Redis later close it; see admin-queues.ts);
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

/** Whether the request carries the admin key (never true when none is configured). */
export function presentsAdminKey(req: Request, key: string | undefined): boolean {
  const secret = presentedSecret(req.headers.authorization);
  return key !== undefined && secret !== undefined && sameSecret(secret, key);
}

const adminUnauthorized = (req: Request, key: string | undefined) => {
  const secret = presentedSecret(req.headers.authorization);
  const message =
    key === undefined
      ? 'This page needs the admin key, and ADMIN_API_KEY is not set'
      : secret === undefined
        ? 'Send the admin key as "Authorization: Bearer <key>" or as the HTTP Basic password'
        : 'The admin key is not valid';
  return new AppError('unauthorized', message, undefined, { headers: { 'WWW-Authenticate': `Basic realm="${ADMIN_REALM}"` } });
};

/**
 * Requires ADMIN_API_KEY as `Authorization: Bearer <key>` or HTTP Basic. The 401 names the Basic realm, so a browser
 * opening the dashboard prompts for it (and then sends it with the dashboard's own API calls).
 */
export function requireAdminKey(key: string): RequestHandler {
  return (req, _res, next) => {
    if (presentsAdminKey(req, key)) return next();
    throw adminUnauthorized(req, key);
  };
}

/**
 * Operator data (/metrics): open while auth is off (no keys at all, loopback only), else the admin key alone opens it,
 * and with no ADMIN_API_KEY configured nothing does.
 */
export function requireAdminKeyWhileAuthOn(authenticator: Authenticator, key: string | undefined): RequestHandler {
  return async (req, _res, next) => {
    if (presentsAdminKey(req, key) || (await authenticator.authOff())) return next();
    throw adminUnauthorized(req, key);
  };
}
