import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueNames, openQueue } from './queue-names';

const SCHEDULER_ID = 'session-sweep';

/**
 * Schedules the expired-session sweep every `everyMs`. A BullMQ job scheduler is one record in Redis however many
 * worker processes upsert it, so scaling workers never multiplies the sweep. Answers the queue, to close.
 */
export async function scheduleSessionSweep(connection: Redis, prefix: string, everyMs: number): Promise<Queue> {
  const queue = openQueue(QueueNames.sessionSweep, connection, prefix);
  await queue.upsertJobScheduler(SCHEDULER_ID, { every: everyMs }, { name: 'sweep', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
  return queue;
}
