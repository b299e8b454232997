import type { Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { IngestDeps } from '../src/ingest/ingest-document';
import { ingestJobSchema } from '../src/queues/ingest-queue';
import { reindexJobSchema } from '../src/queues/reindex-queue';
import { abandonReindex, type ReindexDeps } from '../src/reindex/run-reindex';
import { isFinished } from '../src/reindex/reindex-jobs';

/** BullMQ's reason for a job its stall checker moved to failed (moveStalledJobsToWait.lua). */
export const STALLED_OUT_REASON = 'job stalled more than allowable limit';

/**
 * Every way a job can end failed marks its record failed with a reason. The processor does it for the attempts it runs;
 * this covers the ones it never sees: in BullMQ 6 a job that stalled more than `maxStalledCount` times is put back with a
 * deferred failure, and the next worker fails it WITHOUT running the processor (UnrecoverableError, emitted as `failed`).
 * Without this its document stayed `processing` forever. Idempotent (a record already failed keeps its more specific
 * reason, a ready one stays ready) and never touches a newer version.
 */
export function endFailedJobs(
  worker: Worker,
  kind: 'ingest' | 'reindex',
  deps: { ingest: IngestDeps; reindex?: ReindexDeps },
  log: Logger,
): void {
  worker.on('failed', (job, err) => {
    if (!job || !isFinalFailure(job, err)) return;
    const stalled = err.message === STALLED_OUT_REASON;
    const message = stalled
      ? `the job stalled (its worker died or hung past JOB_LOCK_MS) more often than allowed, after ${job.attemptsStarted} starts`
      : `the job failed for good after ${job.attemptsMade} attempts: ${err.message}`;
    const done =
      kind === 'ingest'
        ? failDocument(deps.ingest, job.data, { code: stalled ? 'ingest_stalled' : 'ingest_failed', message })
        : deps.reindex
          ? failReindex(deps.reindex, job.data, message)
          : Promise.resolve();
    done.then(
      () => stalled && log.warn({ queue: worker.name, jobId: job.id }, 'job stalled out: marked failed'),
      (e: Error) => log.error({ queue: worker.name, jobId: job.id, err: e.message }, 'could not mark a failed job failed'),
    );
  });
}

/** Final: BullMQ will not retry it (unrecoverable, e.g. stalled out, or its last attempt). */
function isFinalFailure(job: Job, err: Error): boolean {
  return err.name === 'UnrecoverableError' || err.message === STALLED_OUT_REASON || job.attemptsMade >= (job.opts.attempts ?? 1);
}

async function failDocument(deps: IngestDeps, data: unknown, error: { code: string; message: string }): Promise<void> {
  const parsed = ingestJobSchema.safeParse(data);
  if (!parsed.success) return;
  const { tenant, documentId, version } = parsed.data;
  // expectVersion: a document re-uploaded since has a newer version and its own job; a finished one stays as it is.
  await deps.documents.update(
    tenant,
    documentId,
    (doc) =>
      doc.status === 'ready' || doc.status === 'failed' ? {} : { status: 'failed', progress: { ...doc.progress, stage: 'failed' }, error },
    { expectVersion: version },
  );
}

async function failReindex(deps: ReindexDeps, data: unknown, message: string): Promise<void> {
  const parsed = reindexJobSchema.safeParse(data);
  if (!parsed.success) return;
  const record = await deps.reindexJobs.get(parsed.data.jobId);
  if (!record || isFinished(record.status)) return;
  await abandonReindex(deps, parsed.data, { status: 'failed', error: { code: 'reindex_failed', message } });
}
