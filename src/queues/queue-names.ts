import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import { z } from 'zod';
import type { RequestIdSource } from '../infra/request-scope';

/** Every queue the service uses. Producers (src/queues) and processors (workers/) agree on these names. */
export const QueueNames = {
  ingest: 'ingest',
  /** Folds a session's older turns into its rolling summary. */
  summarize: 'summarize',
  /** Embeds a session's new messages into the recall index. */
  recallIndex: 'recall-index',
  /** Deletes the recall vectors of sessions that expired while idle. */
  sessionSweep: 'session-sweep',
  /** Rebuilds a collection into a new index, then switches search to it. */
  reindex: 'reindex',
} as const;
export type QueueName = (typeof QueueNames)[keyof typeof QueueNames];

/** BullMQ key prefix: a hash tag, so each queue's keys share one slot on Redis Cluster. */
export const queuePrefix = (prefix: string) => `{${prefix}}`;

/** A producer's handle on a queue. Connection loss is reported by readiness, not thrown from the queue's emitter. */
export function openQueue<T>(name: QueueName, connection: RedisClient, prefix: string): Queue<T> {
  const queue = new Queue<T>(name, { connection, prefix: queuePrefix(prefix) });
  queue.on('error', () => undefined);
  return queue;
}

/**
 * The id of the HTTP request that added a job (its x-request-id), so the worker's log lines for the job can be found
 * from the request's. Optional: jobs added outside a request (a scheduler, a test) have none.
 */
export const requestIdField = z.string().min(1).max(128).optional();

/** `job` with the id of the request being served added, unless it names one already. */
export const withRequestId = <T extends { requestId?: string }>(job: T, requestId?: RequestIdSource): T => {
  const id = job.requestId ?? requestId?.();
  return id === undefined ? job : { ...job, requestId: id };
};

/** A producer over one queue: the queue (the dashboard and tests read it), the job options it adds with, its close. */
export abstract class QueueProducer<T> {
  readonly queue: Queue<T>;

  protected constructor(
    name: QueueName,
    connection: RedisClient,
    prefix: string,
    protected readonly defaults: JobsOptions,
    /** The request a job is added for (see RequestScope); its id rides in the payload. */
    protected readonly requestId?: RequestIdSource,
  ) {
    this.queue = openQueue<T>(name, connection, prefix);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/**
 * The retry policy every queue shares: transient faults (a store or model hiccup) retry with exponential backoff;
 * processors throw UnrecoverableError for permanent ones. Finished jobs are kept a while for inspection, bounded.
 */
export function retryingJobOptions(attempts: number, backoffMs: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
