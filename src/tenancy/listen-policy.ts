import { ConfigError } from '../config';

/** The settings that decide where the API may listen. */
export interface ListenSettings {
  host?: string;
  requireAuth: boolean;
  allowAnonymous: boolean;
}

export interface ListenDecision {
  host: string;
  /** Keys stay required even if every key is revoked later: a public listener never turns auth off. */
  requireKeys: boolean;
  /** One line for startup when auth is off. */
  warning?: string;
}

const ADD_A_KEY = 'add one with "npm run keys -- create --tenant NAME" or API_KEYS=key=tenant';

export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(host);

/**
 * Where the API listens, given whether any key exists (API_KEYS, or a key in Redis: known only once connected).
 * - No keys: loopback only, unless HOST names another address and ALLOW_ANONYMOUS=true; REQUIRE_AUTH=true refuses.
 * - Keys: HOST, or 0.0.0.0 when unset.
 * Throws ConfigError with the fix in one line.
 */
export function decideListen(settings: ListenSettings, hasKeys: boolean): ListenDecision {
  if (!hasKeys && settings.requireAuth) {
    throw new ConfigError(`REQUIRE_AUTH=true but no API key exists: ${ADD_A_KEY} (same REDIS_URL and REDIS_PREFIX)`);
  }
  const host = settings.host ?? (hasKeys ? '0.0.0.0' : '127.0.0.1');
  const loopback = isLoopback(host);
  if (!hasKeys && !loopback && !settings.allowAnonymous) {
    throw new ConfigError(
      `HOST=${host} is not a loopback address and no API key exists, so anyone reaching it would read every document: ` +
        `${ADD_A_KEY}, unset HOST to listen on 127.0.0.1 only, or set ALLOW_ANONYMOUS=true`,
    );
  }
  const requireKeys = !loopback && !settings.allowAnonymous;
  if (hasKeys) return { host, requireKeys };
  const warning = loopback
    ? `No API key exists: authentication is off (every request is tenant "default") and the API listens on ${host} only; ${ADD_A_KEY}`
    : `No API key exists and ALLOW_ANONYMOUS=true: authentication is off on ${host} (every request is tenant "default"); ${ADD_A_KEY}`;
  return { host, requireKeys, warning };
}
