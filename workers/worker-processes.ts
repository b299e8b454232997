import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MetricsJson } from '../src/infra/metrics';
import { requestMetrics } from './metrics-channel';

/**
 * The default process model (RUN_WORKERS=processes): the API forks worker processes (workers/index) and keeps their
 * number up. Parsing, chunking, embedding and summarising then run on the other cores, never on the HTTP event loop,
 * and a worker that crashes (OOM, a native fault) costs only its active jobs' locks: BullMQ's stall check hands those
 * jobs to a worker that still runs, so none is lost.
 *
 * node:cluster does not fit: it shares one listening socket between identical processes, and these are different
 * programs. Each child is a plain `npm run worker` process, so what it does is tested once for both deployments.
 */
export interface WorkerProcessesOptions {
  count: number;
  /** The environment the API's config was read from: children read the same. */
  env: Readonly<Record<string, string>>;
  logger: Logger;
  /** How long a stopping child may take to finish its jobs before it is killed (its jobs are retried elsewhere). */
  stopTimeoutMs: number;
  /** Tests point this at a stand-in; the default is the worker entry next to this file. */
  entry?: string;
}

export interface WorkerProcesses {
  /** Process ids of the children running now. */
  pids(): number[];
  /** Children started again after an unexpected exit. */
  restarts(): number;
  /** Resolves once every child running now has reported that its workers have started. */
  ready(): Promise<void>;
  /** SIGTERM to every child (they finish active jobs), SIGKILL past the deadline; no restart after this. Idempotent. */
  stop(): Promise<void>;
  /**
   * The metrics of every child that answers in time, each labelled `worker="<slot>"`, for the API's /metrics.
   *
   * Why this way: the children are forked with node:child_process, not node:cluster, so prom-client's
   * `AggregatorRegistry.clusterMetrics()` (which asks cluster workers) cannot reach them; the fork's IPC channel can.
   * Each child sends its registry's JSON on request (metrics-channel.ts), and the API merges it with its own through
   * `AggregatorRegistry.aggregate`. The series are labelled by slot, not summed: summed counters would drop whenever a
   * child is replaced (Prometheus reads a drop as a reset and counts everything again), and per-process gauges (heap,
   * event-loop lag, open indexes) mean nothing added up. The slot, unlike the pid, stays the same across a restart,
   * so there are never more than WORKER_PROCESSES sets. A child that does not answer within a second (starting, or
   * blocked) is left out of that scrape rather than holding it up.
   */
  metrics(): Promise<Array<{ labels: Record<string, string>; metrics: MetricsJson }>>;
}

/** A crash-looping child (a bad deployment) is restarted ever more slowly, up to this, rather than spinning a core. */
const MAX_RESTART_DELAY_MS = 10_000;
/** A child that ran this long before it died starts again at once: its crash was not a loop. */
const HEALTHY_RUN_MS = 30_000;
/** How long a scrape of the API waits for a child's metrics. */
const METRICS_TIMEOUT_MS = 1000;

interface Slot {
  child?: ChildProcess;
  startedAt: number;
  ready: boolean;
  crashes: number;
  timer?: NodeJS.Timeout;
}

export function startWorkerProcesses(opts: WorkerProcessesOptions): WorkerProcesses {
  const log = opts.logger.child({ component: 'worker-processes' });
  const entry = opts.entry ?? defaultEntry();
  const slots: Slot[] = Array.from({ length: opts.count }, () => ({ startedAt: 0, ready: false, crashes: 0 }));
  const readyWaiters = new Set<() => void>();
  let restarts = 0;
  let stopping: Promise<void> | undefined;

  const allReady = () => slots.every((s) => s.child && s.ready);
  const notifyReady = () => {
    if (!allReady()) return;
    for (const resolve of readyWaiters) resolve();
    readyWaiters.clear();
  };

  const launch = (slot: Slot, index: number) => {
    slot.timer = undefined;
    slot.ready = false;
    slot.startedAt = Date.now();
    // `advanced` (structured clone) carries metric values JSON cannot (NaN, Infinity).
    const child = fork(entry, [], { env: { ...opts.env }, execArgv: execArgvFor(entry), stdio: 'inherit', serialization: 'advanced' });
    slot.child = child;
    child.on('message', (msg: unknown) => {
      if (isReadyMessage(msg)) {
        slot.ready = true;
        log.debug({ pid: child.pid, index }, 'worker process ready');
        notifyReady();
      }
    });
    child.on('error', (err) => log.error({ err: err.message, index }, 'worker process error'));
    child.once('exit', (code, signal) => {
      if (slot.child === child) slot.child = undefined;
      if (stopping) return;
      const ranMs = Date.now() - slot.startedAt;
      slot.crashes = ranMs >= HEALTHY_RUN_MS ? 1 : slot.crashes + 1;
      const delayMs = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** (slot.crashes - 1));
      log.error(
        { pid: child.pid, code, signal, ranMs, restartInMs: delayMs },
        'worker process exited: starting another (its active jobs are retried)',
      );
      restarts++;
      slot.timer = setTimeout(() => launch(slot, index), delayMs);
    });
  };
  slots.forEach(launch);
  log.info({ count: opts.count, pids: slots.map((s) => s.child?.pid) }, 'worker processes started');

  return {
    pids: () => slots.flatMap((s) => (s.child?.pid !== undefined ? [s.child.pid] : [])),
    restarts: () => restarts,
    metrics: async () => {
      const answers = await Promise.all(
        slots.map(async (slot, index) => {
          const metrics = slot.child && slot.ready ? await requestMetrics(slot.child, METRICS_TIMEOUT_MS) : undefined;
          return metrics ? [{ labels: { worker: String(index) }, metrics }] : [];
        }),
      );
      return answers.flat();
    },
    ready: () => (allReady() ? Promise.resolve() : new Promise<void>((resolve) => readyWaiters.add(resolve))),
    stop: () => {
      stopping ??= Promise.all(
        slots.map(async (slot) => {
          clearTimeout(slot.timer);
          const child = slot.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          // The child bounds its own wait (WORKER_CLOSE_TIMEOUT_MS); this is the backstop if it hangs anyway.
          const kill = setTimeout(() => {
            log.warn({ pid: child.pid }, 'worker process did not stop in time: killing it');
            child.kill('SIGKILL');
          }, opts.stopTimeoutMs);
          await exited;
          clearTimeout(kill);
        }),
      ).then(() => undefined);
      return stopping;
    },
  };
}

/** Sent by a forked worker process (workers/index) once its queue workers run. */
export const READY_MESSAGE = { type: 'ragmem-worker-ready' } as const;

const isReadyMessage = (msg: unknown) => typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === READY_MESSAGE.type;

/** workers/index.js beside the compiled server, or workers/index.ts when the API itself runs from source (tsx). */
function defaultEntry(): string {
  return path.join(__dirname, `index${path.extname(__filename)}`);
}

/** A TypeScript entry needs tsx's loader, which the parent has under `tsx` but not under jest or plain node. */
function execArgvFor(entry: string): string[] {
  const loaderPresent = process.execArgv.some((a) => a.includes('tsx'));
  return entry.endsWith('.ts') && !loaderPresent ? [...process.execArgv, '--import', 'tsx'] : process.execArgv;
}
