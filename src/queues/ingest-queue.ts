import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { QueueNames, QueueProducer } from './queue-names';

export const ingestJobSchema = z.object({
  tenant: z.string().min(1),
  documentId: z.string().min(1),
  version: z.number().int().min(1),
  reason: z.enum(['upload', 'replace', 'reindex']),
});
export type IngestJob = z.infer<typeof ingestJobSchema>;

/** One job per document version: enqueueing the same version twice returns the job already there. */
export const ingestJobId = (documentId: string, version: number) => `${documentId}-v${version}`;

export class IngestProducer extends QueueProducer<IngestJob> {
  constructor(connection: Redis, prefix: string, defaults: JobsOptions) {
    super(QueueNames.ingest, connection, prefix, defaults);
  }

  async enqueue(job: IngestJob): Promise<string> {
    const parsed = ingestJobSchema.parse(job);
    const added = await this.queue.add('ingest', parsed, { ...this.defaults, jobId: ingestJobId(job.documentId, job.version) });
    return added.id!;
  }

  async enqueueMany(jobs: IngestJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((j) => ({ name: 'ingest', data: ingestJobSchema.parse(j), opts: { ...this.defaults, jobId: ingestJobId(j.documentId, j.version) } })),
    );
  }

  /** Drops a waiting job (a deleted document); an active one notices the deletion itself. */
  async cancel(documentId: string, version: number): Promise<void> {
    const job = await this.queue.getJob(ingestJobId(documentId, version));
    if (!job) return;
    await job.remove().catch(() => undefined); // active or locked: the processor checks the record and stops
  }
}
