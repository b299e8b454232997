import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeyStore } from './key-store';

/** Who a request is: its tenant and a stable id of the key it used (rate limits count per key). */
export interface Identity {
  tenant: string;
  keyId: string;
}

export const DEFAULT_TENANT = 'default';
/** The identity of every request while auth is off (no keys at all). */
export const ANONYMOUS: Identity = Object.freeze({ tenant: DEFAULT_TENANT, keyId: 'anonymous' });

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Decides who a presented key is, from both sources: API_KEYS (the environment) and the KeyStore (Redis).
 * Auth is off only while there are no keys at all, unless `requireKeys()` was called (the server does when it listens
 * on a non-loopback address): revoking the last key must never open a public listener.
 */
export class Authenticator {
  private readonly envKeys: Array<{ digest: Buffer; tenant: string; keyId: string }>;
  private keysRequired = false;

  constructor(
    envKeys: ReadonlyMap<string, string> | undefined,
    readonly keyStore: KeyStore,
  ) {
    this.envKeys = [...(envKeys ?? new Map<string, string>())].map(([key, tenant]) => {
      const d = digest(key);
      // A short hash, not the key: it shows up in rate-limit keys and logs.
      return { digest: d, tenant, keyId: `env:${d.toString('hex').slice(0, 12)}` };
    });
  }

  /** From now on a key is needed even if none exists (then every request is refused). */
  requireKeys(): void {
    this.keysRequired = true;
  }

  /** True when any key exists (API_KEYS, or a key in Redis that is not revoked). */
  async anyKeys(): Promise<boolean> {
    return this.envKeys.length > 0 || (await this.keyStore.hasActiveKeys());
  }

  /** Whether requests go without a key right now. Throws when Redis cannot say (authentication fails closed). */
  async authOff(): Promise<boolean> {
    return !this.keysRequired && !(await this.anyKeys());
  }

  /**
   * Like authOff, but while Redis is down it answers from the last time Redis did (false if it never did). Only for
   * deciding what readiness shows, so a local /readyz keeps explaining the outage it reports.
   */
  async authOffLastKnown(): Promise<boolean> {
    if (this.keysRequired || this.envKeys.length > 0) return false;
    return !(await this.keyStore.hasActiveKeys({ lastKnownOnError: true }).catch(() => true));
  }

  /** The identity of a presented key, or undefined when it is no key of ours (or a revoked one). */
  async identify(presented: string): Promise<Identity | undefined> {
    const d = digest(presented);
    // Compares digests of one length in constant time, so the time taken does not say how much of a key matched.
    const env = this.envKeys.find((e) => timingSafeEqual(e.digest, d));
    if (env) return { tenant: env.tenant, keyId: env.keyId };
    const stored = await this.keyStore.resolve(presented);
    return stored ? { tenant: stored.tenant, keyId: stored.id } : undefined;
  }
}
