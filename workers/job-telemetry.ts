import type { Job, Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { Metrics } from '../src/infra/metrics';
import type { DocumentRecord } from '../src/stores/document/document-types';

/** The id of the HTTP request that queued a job (its payload's `requestId`), when a request queued it. */
export function requestIdOf(job: Pick<Job, 'data'> | undefined): string | undefined {
  const id = (job?.data as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === 'string' ? id : undefined;
}

/** A job's logger: each line names the queue, the job and the request that queued it (a request id finds its jobs). */
export function jobLogger(logger: Logger, job: Pick<Job, 'queueName' | 'id' | 'data'>): Logger {
  const requestId = requestIdOf(job);
  return logger.child({ queue: job.queueName, jobId: job.id, ...(requestId ? { requestId } : {}) });
}

/**
 * The processor, timed: every attempt's duration by outcome, and for a job's first start how long it waited in the
 * queue (from being added, or from the moment a delayed job was due). Retries are left out of the wait: they wait out
 * their backoff on purpose.
 */
export function timedProcessor<T>(
  queue: string,
  processor: Processor<T>,
  metrics?: Pick<Metrics, 'jobDuration' | 'jobWait'>,
): Processor<T> {
  if (!metrics) return processor;
  return async (job, token, signal) => {
    if (job.attemptsMade === 0 && job.attemptsStarted <= 1) {
      const dueAt = job.timestamp + (job.opts.delay ?? 0);
      metrics.jobWait.observe({ queue }, Math.max(0, (job.processedOn ?? Date.now()) - dueAt) / 1000);
    }
    const end = metrics.jobDuration.startTimer({ queue });
    try {
      const result = await processor(job, token, signal);
      end({ outcome: 'completed' });
      return result;
    } catch (err) {
      end({ outcome: 'failed' });
      throw err;
    }
  };
}

/** Progress updates a job sends at most this often (each is a Redis write and an event), besides the final 100. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * A job's progress in percent, for the queue dashboard (bull-board draws a bar for a number). It only moves forward;
 * updates are throttled like the document record's, so a small document costs one write (100) and a large one a few
 * a second. Best effort: a failed update is logged, never fails the job. `settled()` resolves once every update sent
 * has been written (the processor awaits it, so a finished job reads 100).
 */
export function jobProgress(job: Pick<Job, 'updateProgress'>, log: Logger, intervalMs = PROGRESS_INTERVAL_MS) {
  let sent = 0;
  let sentAt = 0;
  let writes: Promise<void> = Promise.resolve();
  return {
    send(percent: number): void {
      const p = Math.max(0, Math.min(100, Math.floor(percent)));
      if (p <= sent || (p < 100 && Date.now() - sentAt < intervalMs)) return;
      sent = p;
      sentAt = Date.now();
      writes = writes
        .then(() => job.updateProgress(p))
        .catch((err: Error) => log.debug({ err: err.message, progress: p }, 'could not update the job progress'));
    },
    settled: () => writes,
  };
}

/**
 * A document's progress (the figures its record shows) as the job's percent: parsed 10, chunked 20, embedded and
 * upserted batches up to 90, ready 100.
 */
export function ingestPercent(progress: DocumentRecord['progress']): number {
  switch (progress.stage) {
    case 'chunking':
      return 10;
    case 'embedding':
      return 20 + (progress.total > 0 ? (70 * progress.done) / progress.total : 0);
    case 'indexing':
      return 90;
    case 'done':
      return 100;
    default:
      return 0;
  }
}

/** A reindex's progress (its record's documents rebuilt of the collection's) as the job's percent; 100 once it serves. */
export function reindexPercent(progress: { done: number; total: number; completed?: boolean }): number {
  if (progress.completed) return 100;
  return progress.total > 0 ? (95 * progress.done) / progress.total : 0;
}
