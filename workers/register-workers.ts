import { Worker, type Processor, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisClient } from '../src/infra/redis';
import type { IngestDeps } from '../src/ingest/ingest-document';
import { QueueNames, queuePrefix } from '../src/queues/queue-names';
import type { IngestJob } from '../src/queues/ingest-queue';
import type { ReindexJob } from '../src/queues/reindex-queue';
import type { ReindexDeps } from '../src/reindex/run-reindex';
import type { SessionMemoryJob } from '../src/queues/session-memory-queue';
import type { Metrics } from '../src/infra/metrics';
import type { IndexRecallDeps } from '../src/sessions/index-recall';
import type { SummarizeSessionDeps } from '../src/sessions/summarize-session';
import type { SweepDeps } from '../src/sessions/sweep-expired-sessions';
import { scheduleSessionSweep } from '../src/queues/session-sweep-queue';
import { createIngestProcessor } from './ingest.processor';
import type { FairTurns } from '../src/queues/fair-turns';
import { createReindexProcessor } from './reindex.processor';
import { createRecallIndexProcessor } from './recall-index.processor';
import { createSummarizeProcessor } from './summarize.processor';
import { createSessionSweepProcessor } from './session-sweep.processor';
import { endFailedJobs } from './final-failure';
import { requestIdOf, timedProcessor } from './job-telemetry';
import { createWorkerRedis, type Services } from '../src/services';

export interface WorkerDeps {
  connection: RedisClient;
  redisPrefix: string;
  ingest: IngestDeps;
  /** Each tenant's place in the ingest queue's line, moved on as jobs start (see FairTurns). */
  ingestTurns?: Pick<FairTurns, 'started'>;
  /** Collection rebuilds; their worker starts only when given. */
  reindex?: ReindexDeps;
  /** Session memory (summaries, recall index); its workers start only when given. */
  /** The sweep schedules itself on `queue` (the composition root's handle, which it closes). */
  sessionMemory?: { summarize: SummarizeSessionDeps; recallIndex: IndexRecallDeps; sweep?: SweepDeps & { everyMs: number; queue: Queue } };
  logger: Logger;
  metrics?: Metrics;
  concurrency: number;
  lockMs: number;
  /** Stalls a job may have before BullMQ fails it (its record is then marked failed, see final-failure.ts). */
  maxStalls?: number;
  /** How long close() waits for active jobs before it aborts them and lets go (their locks expire, another worker retries). */
  closeTimeoutMs?: number;
}

export interface RunningWorkers {
  /** Stops taking jobs, lets active ones finish, closes connections. Idempotent. */
  close(): Promise<void>;
  workers: Worker[];
}

/** One place that starts every queue's worker, for `RUN_WORKERS=inline` and `npm run worker` alike. */
export function registerWorkers(deps: WorkerDeps): RunningWorkers {
  const log = deps.logger.child({ component: 'worker' });
  // Every attempt is timed (ragmem_job_duration_seconds, ragmem_job_wait_seconds) here, for every queue alike.
  const start = <T>(name: string, processor: Processor<T>) =>
    new Worker<T>(name, timedProcessor(name, processor, deps.metrics), {
      connection: deps.connection,
      prefix: queuePrefix(deps.redisPrefix),
      concurrency: deps.concurrency,
      lockDuration: deps.lockMs,
      stalledInterval: Math.max(1000, Math.floor(deps.lockMs / 2)),
      // A job whose worker died (SIGKILL, OOM) is taken over; more stalls than this mean the job itself kills workers.
      maxStalledCount: deps.maxStalls ?? 3,
    }) as Worker;
  const workers: Worker[] = [start<IngestJob>(QueueNames.ingest, createIngestProcessor(deps.ingest, deps.ingestTurns))];
  const reindexWorker = deps.reindex ? start<ReindexJob>(QueueNames.reindex, createReindexProcessor(deps.reindex)) : undefined;
  if (reindexWorker) workers.push(reindexWorker);
  if (deps.sessionMemory) {
    workers.push(start<SessionMemoryJob>(QueueNames.summarize, createSummarizeProcessor(deps.sessionMemory.summarize)));
    workers.push(start<SessionMemoryJob>(QueueNames.recallIndex, createRecallIndexProcessor(deps.sessionMemory.recallIndex)));
  }
  const sweep = deps.sessionMemory?.sweep;
  if (sweep) {
    workers.push(start(QueueNames.sessionSweep, createSessionSweepProcessor(sweep)));
    scheduleSessionSweep(sweep.queue, sweep.everyMs).catch((err: Error) =>
      log.error({ err: err.message }, 'could not schedule the expired-session sweep'),
    );
  }
  endFailedJobs(workers[0], 'ingest', deps, log);
  if (reindexWorker) endFailedJobs(reindexWorker, 'reindex', deps, log);
  for (const w of workers) {
    w.on('failed', (job, err) => {
      log.warn(
        { queue: w.name, jobId: job?.id, requestId: requestIdOf(job), attempt: job?.attemptsMade, err: err.message },
        'job attempt failed',
      );
      deps.metrics?.jobsTotal.inc({ queue: w.name, outcome: 'failed' });
    });
    w.on('completed', (job) => {
      log.debug({ queue: w.name, jobId: job.id, requestId: requestIdOf(job) }, 'job completed');
      deps.metrics?.jobsTotal.inc({ queue: w.name, outcome: 'completed' });
    });
    w.on('error', (err) => log.error({ queue: w.name, err: err.message }, 'worker error'));
  }
  let closing: Promise<void> | undefined;
  return {
    workers,
    close: () => {
      // A collection rebuild can run for hours: it is interrupted (it resumes from what it built) rather than awaited.
      reindexWorker?.cancelAllJobs('worker shutting down');
      closing ??= closeWithDeadline(workers, deps.closeTimeoutMs ?? 20_000, log)
        .then(async (graceful) => {
          if (graceful) await deps.connection.quit();
          else deps.connection.disconnect();
        })
        .then(
          () => undefined,
          () => undefined,
        );
      return closing;
    },
  };
}

/**
 * Graceful close, bounded: a job that hangs (a model that never answers) must not hold the process forever. Past the
 * deadline its signal is aborted and we stop waiting; its lock is no longer renewed once the process exits, so the stall
 * checker hands it to another worker. BullMQ's close(true) cannot help here: once close() runs, a second call answers
 * the same pending promise. Answers whether every job finished in time.
 */
async function closeWithDeadline(workers: Worker[], timeoutMs: number, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const graceful = Promise.allSettled(workers.map((w) => w.close())).then(() => true as const);
  const finished = await Promise.race([graceful, deadline]);
  clearTimeout(timer);
  if (!finished) {
    log.warn({ timeoutMs }, 'workers did not finish their jobs in time: aborting them (another worker will retry them)');
    for (const w of workers) w.cancelAllJobs('worker shutdown deadline passed');
  }
  return finished;
}

/** Workers wired from the composition root's services (the API's inline mode and `npm run worker` share this). */
export function startWorkers(services: Services): RunningWorkers {
  const { config } = services;
  return registerWorkers({
    connection: createWorkerRedis(config),
    redisPrefix: config.redisPrefix,
    ingest: services.ingestDeps(),
    ingestTurns: services.producer.turns,
    reindex: services.reindexDeps(),
    sessionMemory: {
      summarize: {
        sessions: services.sessions,
        gateway: services.gateway,
        tokenCounter: services.tokenCounter,
        summary: config.sessions.summary,
      },
      recallIndex: { sessions: services.sessions, recallIndex: services.recallIndex },
      // Without a TTL sessions never expire, so there is nothing to sweep.
      sweep:
        config.sessions.ttlSeconds > 0
          ? {
              sessions: services.sessions,
              recallIndex: services.recallIndex,
              ttlSeconds: config.sessions.ttlSeconds,
              logger: services.logger,
              everyMs: config.sessions.sweepIntervalMs,
              queue: services.sessionSweepQueue,
            }
          : undefined,
    },
    logger: services.logger,
    metrics: services.metrics,
    concurrency: config.workers.concurrency,
    lockMs: config.workers.lockMs,
    maxStalls: config.workers.maxStalls,
    closeTimeoutMs: config.workers.closeTimeoutMs,
  });
}
