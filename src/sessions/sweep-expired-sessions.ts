import type { Logger } from 'pino';
import type { SessionStore } from '../stores/session/session-store';
import type { SessionRecallIndex } from './session-recall-index';

export interface SweepDeps {
  sessions: Pick<SessionStore, 'get' | 'dueExpiries' | 'settleExpiry' | 'expiresInMs'>;
  recallIndex: Pick<SessionRecallIndex, 'deleteSession'>;
  ttlSeconds: number;
  logger?: Pick<Logger, 'info'>;
}

/** Entries looked at per run; a run that fills it is followed by the next scheduled one. */
export const DEFAULT_SWEEP_BATCH = 500;

/**
 * Redis expires an idle session's messages and summary by itself (SESSION_TTL_SECONDS); its recall vectors live in
 * the vector store and would stay forever. This finds sessions whose expiry is due in the store's expiry index and
 * deletes their vectors once the session (that generation of it) is really gone. A session that is still alive (a
 * later write refreshed it; entries are made at creation only) is moved on to its current expiry instead.
 */
export async function sweepExpiredSessions(
  deps: SweepDeps,
  now = Date.now(),
  batch = DEFAULT_SWEEP_BATCH,
): Promise<{ deleted: number; postponed: number }> {
  let deleted = 0;
  let postponed = 0;
  for (const entry of await deps.sessions.dueExpiries(now, batch)) {
    const session = await deps.sessions.get(entry.tenant, entry.id);
    if (session && session.generation === entry.generation) {
      const left = await deps.sessions.expiresInMs(entry.tenant, entry.id);
      await deps.sessions.settleExpiry(entry, now + (left ?? deps.ttlSeconds * 1000));
      postponed++;
      continue;
    }
    await deps.recallIndex.deleteSession(entry.tenant, entry.id, entry.generation);
    await deps.sessions.settleExpiry(entry);
    deleted++;
  }
  if (deleted > 0) deps.logger?.info({ deleted, postponed }, 'deleted the recall vectors of expired sessions');
  return { deleted, postponed };
}
