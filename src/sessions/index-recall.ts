import type { SessionStore } from '../stores/session/session-store';
import type { SessionRecallIndex } from './session-recall-index';
import { drainSessionWork, type SessionRef } from './drain-session-work';

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

export type IndexRecallInput = SessionRef;

export interface IndexRecallResult {
  /** Messages embedded by this call. */
  indexed: number;
  /** recallIndexedThroughSeq when this call let go (undefined when the session is gone or recreated). */
  indexedThroughSeq?: number;
  /** True when another job held the session's lock (it re-checks after releasing, so nothing is left behind). */
  skipped: boolean;
}

/**
 * Catches a session's recall index up with its messages, one page at a time, under the session's `recall` lock (see
 * drainSessionWork: one job per session at a time, none left behind). A deleted or recreated session stops the work.
 */
export async function indexRecall(deps: IndexRecallDeps, input: IndexRecallInput, signal?: AbortSignal): Promise<IndexRecallResult> {
  const { tenant, sessionId, generation } = input;
  const pageSize = deps.pageSize ?? DEFAULT_RECALL_PAGE_SIZE;
  let indexed = 0;
  const outcome = await drainSessionWork(
    deps.sessions,
    {
      ...input,
      lock: { name: RECALL_LOCK, ttlMs: deps.lockTtlMs ?? DEFAULT_RECALL_LOCK_TTL_MS },
      pending: (session) => session.recallIndexedThroughSeq < session.lastSeq,
      step: async (session) => {
        const from = session.recallIndexedThroughSeq + 1;
        const to = Math.min(session.lastSeq, from + pageSize - 1);
        const messages = await deps.sessions.range(tenant, sessionId, from, to);
        if (messages.length > 0) await deps.recallIndex.indexMessages(tenant, session, messages, signal);
        indexed += messages.length;
        // Through `to`, not the last message read: seqs have no gaps, so a shorter page means the session went away
        // meanwhile (the next read stops), and marking what was attempted keeps the loop finite.
        await deps.sessions.markRecallIndexed(tenant, sessionId, generation, to);
        return true;
      },
    },
    signal,
  );
  if (outcome.kind === 'busy') return { indexed, skipped: indexed === 0 };
  if (outcome.kind === 'done') return { indexed, indexedThroughSeq: outcome.session.recallIndexedThroughSeq, skipped: false };
  return { indexed, skipped: false };
}
