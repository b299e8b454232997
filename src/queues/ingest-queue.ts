import type { JobsOptions } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import { z } from 'zod';
import { FairTurns } from './fair-turns';
import type { RequestIdSource } from '../infra/request-scope';
import { QueueNames, QueueProducer, requestIdField, withRequestId } from './queue-names';

export const ingestJobSchema = z.object({
  tenant: z.string().min(1),
  documentId: z.string().min(1),
  version: z.number().int().min(1),
  reason: z.enum(['upload', 'replace', 'reindex']),
  requestId: requestIdField,
});
export type IngestJob = z.infer<typeof ingestJobSchema>;

/** One job per document version: enqueueing the same version twice returns the job already there. */
export const ingestJobId = (documentId: string, version: number) => `${documentId}-v${version}`;

export class IngestProducer extends QueueProducer<IngestJob> {
  /** Each tenant's place in line (see FairTurns); the ingest worker tells it when a job starts. */
  readonly turns: FairTurns;

  /**
   * `commands` keeps the turn counts: a client already in use (BullMQ waits for its own connection to be ready before
   * using it; a command sent on it earlier would fail, as one did under load in CI).
   */
  constructor(
    connection: RedisClient,
    prefix: string,
    defaults: JobsOptions,
    commands: RedisClient = connection,
    requestId?: RequestIdSource,
  ) {
    super(QueueNames.ingest, connection, prefix, defaults, requestId);
    this.turns = new FairTurns(commands, prefix, QueueNames.ingest);
  }

  async enqueue(job: IngestJob): Promise<string> {
    const parsed = ingestJobSchema.parse(withRequestId(job, this.requestId));
    const [priority] = await this.turns.take(parsed.tenant);
    const added = await this.queue.add('ingest', parsed, { ...this.defaults, priority, jobId: ingestJobId(job.documentId, job.version) });
    return added.id!;
  }

  async enqueueMany(jobs: IngestJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const parsed = jobs.map((j) => ingestJobSchema.parse(withRequestId(j, this.requestId)));
    // One request's jobs are one tenant's, but nothing here relies on it.
    const priorities = new Map<string, number[]>();
    for (const tenant of new Set(parsed.map((j) => j.tenant))) {
      priorities.set(tenant, await this.turns.take(tenant, parsed.filter((j) => j.tenant === tenant).length));
    }
    await this.queue.addBulk(
      parsed.map((data) => ({
        name: 'ingest',
        data,
        opts: { ...this.defaults, priority: priorities.get(data.tenant)!.shift(), jobId: ingestJobId(data.documentId, data.version) },
      })),
    );
  }

  /**
   * Queues the job of a document version whose record still says `queued`, unless the job exists. An upload answered
   * 503 after its record was written but before its job was (Redis failing over between the two writes) is answered
   * as a duplicate when the client sends it again: this is what gets that version processed after all. A record says
   * `queued` only until its job starts, so a job that ran is never queued twice (and a job id answers the job there).
   */
  async ensureQueued(job: IngestJob): Promise<void> {
    if (await this.queue.getJob(ingestJobId(job.documentId, job.version))) return;
    await this.enqueue(job);
  }

  /** Drops a waiting job (a deleted document); an active one notices the deletion itself. */
  async cancel(documentId: string, version: number): Promise<void> {
    const job = await this.queue.getJob(ingestJobId(documentId, version));
    if (!job) return;
    // Active or locked: the processor checks the record and stops (it already counted its start).
    const removed = await job.remove().then(
      () => true,
      () => false,
    );
    if (removed && job.attemptsMade === 0 && !job.processedOn) await this.turns.started(job.data.tenant);
  }
}
