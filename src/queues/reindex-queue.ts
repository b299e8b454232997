import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { QueueNames, QueueProducer } from './queue-names';

export const reindexJobSchema = z.object({
  tenant: z.string().min(1),
  collection: z.string().min(1),
  jobId: z.string().min(1),
});
export type ReindexJob = z.infer<typeof reindexJobSchema>;

/** Enqueues collection rebuilds; the BullMQ job id is the reindex job id clients poll. */
export class ReindexProducer extends QueueProducer<ReindexJob> {
  constructor(connection: Redis, prefix: string, defaults: JobsOptions) {
    super(QueueNames.reindex, connection, prefix, defaults);
  }

  async enqueue(job: ReindexJob): Promise<void> {
    await this.queue.add('reindex', reindexJobSchema.parse(job), { ...this.defaults, jobId: job.jobId });
  }
}
