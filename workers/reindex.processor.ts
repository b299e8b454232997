import { UnrecoverableError, type Job } from 'bullmq';
import { isAppError, mayPassOnRetry } from '../src/errors';
import { reindexJobSchema, type ReindexJob } from '../src/queues/reindex-queue';
import { ReindexCancelled, abandonReindex, runReindex, type ReindexDeps } from '../src/reindex/run-reindex';
import { jobLogger, jobProgress, reindexPercent } from './job-telemetry';

/**
 * Thin processor: run the rebuild; a cancel ends it quietly; transient faults and shutdowns retry (the rebuild resumes
 * where it stopped), and a permanent fault or the last attempt abandons the build, leaving the old index serving.
 */
export function createReindexProcessor(processDeps: ReindexDeps) {
  return async (job: Job<ReindexJob>, _token?: string, signal?: AbortSignal) => {
    const data = reindexJobSchema.parse(job.data);
    const logger = jobLogger(processDeps.logger, job);
    const progress = jobProgress(job, logger);
    const deps: ReindexDeps = { ...processDeps, logger, onProgress: (p) => progress.send(reindexPercent(p)) };
    try {
      await runReindex(deps, data, signal);
      await progress.settled();
    } catch (caught) {
      // Stopped by the worker's shutdown (its reason, a string, is what throwIfAborted throws): an ordinary retry, so
      // another worker (or this one after a restart) resumes the build where it stopped.
      const err = signal?.aborted ? new Error(`reindex interrupted: ${String(signal.reason)}`) : caught;
      if (err instanceof ReindexCancelled) {
        await abandonReindex(deps, data, { status: 'cancelled' }, signal);
        return;
      }
      const permanent = !mayPassOnRetry(err);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (permanent || lastAttempt) {
        const error = isAppError(err)
          ? { code: err.code, message: err.message }
          : { code: 'reindex_failed', message: (err as Error).message };
        await abandonReindex(deps, data, { status: 'failed', error }, signal);
        throw new UnrecoverableError(error.message);
      }
      throw err;
    }
  };
}
