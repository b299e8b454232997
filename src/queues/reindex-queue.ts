import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { QueueNames, openQueue } from './queue-names';

export const reindexJobSchema = z.object({
  tenant: z.string().min(1),
  collection: z.string().min(1),
  jobId: z.string().min(1),
});
export type ReindexJob = z.infer<typeof reindexJobSchema>;

/** Enqueues collection rebuilds; the BullMQ job id is the reindex job id clients poll. */
export class ReindexProducer {
  readonly queue: Queue<ReindexJob>;
  constructor(
    connection: Redis,
    prefix: string,
    private readonly defaults: JobsOptions,
  ) {
    this.queue = openQueue<ReindexJob>(QueueNames.reindex, connection, prefix);
  }

  async enqueue(job: ReindexJob): Promise<void> {
    await this.queue.add('reindex', reindexJobSchema.parse(job), { ...this.defaults, jobId: job.jobId });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
