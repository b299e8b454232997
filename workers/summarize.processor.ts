import type { Job } from 'bullmq';
import { sessionMemoryJobSchema, type SessionMemoryJob } from '../src/queues/session-memory-queue';
import { summarizeSession, type SummarizeSessionDeps } from '../src/sessions/summarize-session';

/**
 * Thin processor: validate the payload, fold the session's older turns into its summary. A model failure throws
 * and BullMQ retries with backoff; the summary only ever moves forward, so a retry redoes nothing twice.
 */
export function createSummarizeProcessor(deps: SummarizeSessionDeps) {
  return async (job: Job<SessionMemoryJob>, _token?: string, signal?: AbortSignal) => {
    const data = sessionMemoryJobSchema.parse(job.data);
    return summarizeSession(deps, data, signal);
  };
}
