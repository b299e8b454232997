import type { Queue } from 'bullmq';

const SCHEDULER_ID = 'session-sweep';

/**
 * Schedules the expired-session sweep every `everyMs` on the session-sweep queue. A BullMQ job scheduler is one
 * record in Redis however many worker processes upsert it, so scaling workers never multiplies the sweep.
 */
export async function scheduleSessionSweep(queue: Queue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(
    SCHEDULER_ID,
    { every: everyMs },
    { name: 'sweep', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
}
