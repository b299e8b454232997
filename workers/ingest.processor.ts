import { UnrecoverableError, type Job } from 'bullmq';
import { isAppError, mayPassOnRetry } from '../src/errors';
import { ingestDocument, markFailed, type IngestDeps } from '../src/ingest/ingest-document';
import type { FairTurns } from '../src/queues/fair-turns';
import { ingestJobSchema, type IngestJob } from '../src/queues/ingest-queue';
import { ingestPercent, jobLogger, jobProgress } from './job-telemetry';

/**
 * Thin processor: validate the payload, run the ingestion story, decide retry or not.
 * Permanent faults (a corrupt or encrypted PDF, a bug: see mayPassOnRetry) mark the document failed and stop at once;
 * transient ones (a store or model hiccup) are thrown for BullMQ to retry with backoff, and mark it failed on the last
 * attempt. Its log lines name the job and the request that queued it; its progress follows the document record's.
 */
export function createIngestProcessor(deps: IngestDeps, turns?: Pick<FairTurns, 'started'>) {
  return async (job: Job<IngestJob>, _token?: string, signal?: AbortSignal) => {
    const data = ingestJobSchema.parse(job.data);
    // Its first start moves the tenant's line on (see FairTurns); retries were already counted.
    // The count only orders work: a failure to lower it must not fail the job.
    if (turns && job.attemptsMade === 0) await turns.started(data.tenant).catch(() => undefined);
    const log = jobLogger(deps.logger, job);
    const progress = jobProgress(job, log);
    try {
      const outcome = await ingestDocument({ ...deps, logger: log }, data, signal, (p) => progress.send(ingestPercent(p)));
      await progress.settled();
      return outcome;
    } catch (err) {
      const permanent = !mayPassOnRetry(err);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (permanent || lastAttempt) {
        const error = isAppError(err)
          ? { code: err.code, message: err.message }
          : { code: 'ingest_failed', message: `Ingestion failed after ${job.attemptsMade + 1} attempt(s): ${(err as Error).message}` };
        await markFailed(deps.documents, data, error);
      }
      if (permanent) throw new UnrecoverableError((err as Error).message);
      throw err;
    }
  };
}
