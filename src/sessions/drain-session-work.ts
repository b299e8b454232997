import type { SessionStore } from '../stores/session/session-store';
import type { SessionRecord } from '../stores/session/session-types';

/** One generation of one session: what background jobs name (see src/queues/session-memory-queue.ts). */
export interface SessionRef {
  tenant: string;
  sessionId: string;
  generation: string;
}

export interface SessionWork extends SessionRef {
  /** The per-session lock this kind of work takes, and its lifetime. */
  lock: { name: string; ttlMs: number };
  /** Whether the session (as just read) still has work of this kind. */
  pending(session: SessionRecord): boolean;
  /** One unit of work; false stops for good (someone else took over). */
  step(session: SessionRecord): Promise<boolean>;
}

export type DrainOutcome =
  /** Nothing pending any more; `session` as last read. */
  | { kind: 'done'; session: SessionRecord }
  /** Another job holds the lock; it re-checks after releasing, so the work is not lost. */
  | { kind: 'busy'; session?: SessionRecord }
  /** A step answered false. */
  | { kind: 'stopped'; session: SessionRecord }
  /** The session was deleted or recreated (another generation). */
  | { kind: 'gone' };

/**
 * The background-work loop shared by the recall index and the rolling summary: one job per session works at a time
 * (a per-session lock); a job that finds the lock taken returns at once, and the holder re-checks after releasing it,
 * so work that arrived while it held the lock is never left behind. A deleted or recreated session stops the work.
 */
export async function drainSessionWork(
  sessions: Pick<SessionStore, 'get' | 'tryLock' | 'unlock'>,
  work: SessionWork,
  signal?: AbortSignal,
): Promise<DrainOutcome> {
  const { tenant, sessionId, generation, lock } = work;
  const current = async () => {
    const s = await sessions.get(tenant, sessionId);
    return s && s.generation === generation ? s : undefined;
  };
  let last: SessionRecord | undefined;
  for (;;) {
    const token = await sessions.tryLock(tenant, sessionId, lock.name, lock.ttlMs);
    if (token === undefined) return { kind: 'busy', session: last };
    try {
      for (;;) {
        signal?.throwIfAborted();
        last = await current();
        if (!last) return { kind: 'gone' };
        if (!work.pending(last)) break;
        if (!(await work.step(last))) return { kind: 'stopped', session: last };
      }
    } finally {
      await sessions.unlock(tenant, sessionId, lock.name, token).catch(() => undefined);
    }
    // Re-check after releasing: a job that gave up while we held the lock relies on us.
    last = await current();
    if (!last) return { kind: 'gone' };
    if (!work.pending(last)) return { kind: 'done', session: last };
  }
}
