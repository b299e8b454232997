import type { JobsOptions } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import { z } from 'zod';
import type { RequestIdSource } from '../infra/request-scope';
import { QueueNames, QueueProducer, requestIdField, withRequestId } from './queue-names';

export const reindexJobSchema = z.object({
  tenant: z.string().min(1),
  collection: z.string().min(1),
  jobId: z.string().min(1),
  requestId: requestIdField,
});
export type ReindexJob = z.infer<typeof reindexJobSchema>;

/** Enqueues collection rebuilds; the BullMQ job id is the reindex job id clients poll. */
export class ReindexProducer extends QueueProducer<ReindexJob> {
  constructor(connection: RedisClient, prefix: string, defaults: JobsOptions, requestId?: RequestIdSource) {
    super(QueueNames.reindex, connection, prefix, defaults, requestId);
  }

  async enqueue(job: ReindexJob): Promise<void> {
    await this.queue.add('reindex', reindexJobSchema.parse(withRequestId(job, this.requestId)), { ...this.defaults, jobId: job.jobId });
  }
}
