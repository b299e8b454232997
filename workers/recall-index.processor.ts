import type { Job } from 'bullmq';
import { sessionMemoryJobSchema, type SessionMemoryJob } from '../src/queues/session-memory-queue';
import { indexRecall, type IndexRecallDeps } from '../src/sessions/index-recall';

/**
 * Thin processor: validate the payload, catch the session's recall index up. Embedding or store failures throw
 * and BullMQ retries with backoff; indexing is idempotent (deterministic chunk ids).
 */
export function createRecallIndexProcessor(deps: IndexRecallDeps) {
  return async (job: Job<SessionMemoryJob>, _token?: string, signal?: AbortSignal) => {
    const data = sessionMemoryJobSchema.parse(job.data);
    return indexRecall(deps, data, signal);
  };
}
