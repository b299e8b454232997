import type { SessionStore } from '../stores/session/session-store';
import type { SessionRecallIndex } from './session-recall-index';

/** Messages read from the session store (and marked indexed) per round. */
export const DEFAULT_RECALL_PAGE_SIZE = 256;
/** The per-session lock's lifetime; indexing is idempotent, so a holder outliving it costs only duplicate work. */
export const DEFAULT_RECALL_LOCK_TTL_MS = 60_000;
export const RECALL_LOCK = 'recall';

export interface IndexRecallDeps {
  sessions: Pick<SessionStore, 'get' | 'range' | 'markRecallIndexed' | 'tryLock' | 'unlock'>;
  recallIndex: Pick<SessionRecallIndex, 'indexMessages'>;
  pageSize?: number;
  lockTtlMs?: number;
}

export interface IndexRecallInput {
  tenant: string;
  sessionId: string;
  generation: string;
}

export interface IndexRecallResult {
  /** Messages embedded by this call. */
  indexed: number;
  /** recallIndexedThroughSeq when this call let go (undefined when the session is gone or recreated). */
  indexedThroughSeq?: number;
  /** True when another job held the session's lock (it re-checks after releasing, so nothing is left behind). */
  skipped: boolean;
}

/**
 * Catches a session's recall index up with its messages. One job per session works at a time (a per-session lock);
 * a job that finds the lock taken returns at once, and the holder re-checks after releasing it, so messages appended
 * while it worked are never left unindexed. A deleted or recreated session (another generation) stops the work.
 */
export async function indexRecall(deps: IndexRecallDeps, input: IndexRecallInput, signal?: AbortSignal): Promise<IndexRecallResult> {
  const { tenant, sessionId, generation } = input;
  const pageSize = deps.pageSize ?? DEFAULT_RECALL_PAGE_SIZE;
  const ttl = deps.lockTtlMs ?? DEFAULT_RECALL_LOCK_TTL_MS;
  let indexed = 0;
  let skipped = false;
  for (;;) {
    const token = await deps.sessions.tryLock(tenant, sessionId, RECALL_LOCK, ttl);
    if (token === undefined) {
      skipped = indexed === 0;
      break;
    }
    try {
      for (;;) {
        signal?.throwIfAborted();
        const session = await deps.sessions.get(tenant, sessionId);
        if (!session || session.generation !== generation) return { indexed, skipped: false };
        if (session.recallIndexedThroughSeq >= session.lastSeq) break;
        const from = session.recallIndexedThroughSeq + 1;
        const to = Math.min(session.lastSeq, from + pageSize - 1);
        const messages = await deps.sessions.range(tenant, sessionId, from, to);
        if (messages.length > 0) await deps.recallIndex.indexMessages(tenant, session, messages, signal);
        indexed += messages.length;
        // Through `to`, not the last message read: seqs have no gaps, so a shorter page means the session went away
        // meanwhile (the next read stops), and marking what was attempted keeps this loop finite.
        await deps.sessions.markRecallIndexed(tenant, sessionId, generation, to);
      }
    } finally {
      await deps.sessions.unlock(tenant, sessionId, RECALL_LOCK, token).catch(() => undefined);
    }
    // Re-check after releasing: a job that gave up while we held the lock relies on us to pick up its messages.
    const after = await deps.sessions.get(tenant, sessionId);
    if (!after || after.generation !== generation) return { indexed, skipped: false };
    if (after.lastSeq <= after.recallIndexedThroughSeq) return { indexed, indexedThroughSeq: after.recallIndexedThroughSeq, skipped: false };
  }
  return { indexed, skipped };
}
