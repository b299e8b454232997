import { createHash } from 'node:crypto';

/**
 * Key helpers shared by the gateway's safety parts. Every key of one model carries `{gw:<model>}` as its hash tag,
 * so the scripts and multi-key commands below (MGET, EVAL with several keys) stay in one slot on Redis Cluster.
 * Names are URI-encoded so a `{`, `}` or `:` in a model or tenant name cannot break the tag.
 */
export const enc = (s: string) => encodeURIComponent(s);

export const modelKey = (prefix: string, model: string, ...rest: string[]) => [`${prefix}:{gw:${enc(model)}}`, ...rest].join(':');

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export type Clock = () => number;

/** Sleeps `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
