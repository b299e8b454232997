import fs from 'node:fs';
import { childrenOf } from '../test/support/spawn-entry';
import { rssMb } from './resident-memory';

/**
 * What the service's processes hold and spend during a load phase, read from /proc: the API process alone, and its
 * "workers": every descendant of the API (the worker processes `npm start` forks, their parser children) plus any
 * separately started worker process and its descendants. Sampled every 250 ms while the phase runs.
 */
export interface ProcessFigures {
  rss: { apiPeak: number; apiEnd: number; workersPeak: number; workersEnd: number };
  /** CPU time over the window as a percentage of one core (200 = both cores of a 2-core machine). */
  cpu: { api: number; workers: number };
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux Node runs on

/** Every descendant of `pid`, children first, from the kernel's own lists (/proc/<pid>/task/<pid>/children). */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const stack = childrenOf(pid);
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...childrenOf(p));
  }
  return out;
}

/** utime + stime of one process in clock ticks; undefined once it has exited. */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: the fields after it start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of the whole line
  } catch {
    return undefined;
  }
}

export function processSampler(apiPid: number, separateWorkerPids: number[]) {
  const workerPids = () => [...descendantsOf(apiPid), ...separateWorkerPids.flatMap((p) => [p, ...descendantsOf(p)])];
  const now = () => {
    const workers = workerPids();
    return { api: rssMb(apiPid), workers: workers.reduce((n, p) => n + rssMb(p), 0) };
  };
  let peak = { api: 0, workers: 0 };
  let last = { api: 0, workers: 0 };
  const sample = () => {
    last = now();
    peak = { api: Math.max(peak.api, last.api), workers: Math.max(peak.workers, last.workers) };
  };
  const timer = setInterval(sample, 250);
  let window: { at: number; api: number; workers: Map<number, number> } | undefined;
  const ticksNow = () => ({
    at: performance.now(),
    api: cpuTicks(apiPid) ?? 0,
    workers: new Map(workerPids().map((p) => [p, cpuTicks(p) ?? 0])),
  });
  return {
    /** Starts a measuring window: peaks from now on, CPU from now on. */
    start(): void {
      peak = { api: 0, workers: 0 };
      sample();
      window = ticksNow();
    },
    /** Ends the window: RSS peaks over it and at its end, CPU over it (a worker forked within it counts whole). */
    end(): ProcessFigures {
      sample();
      const w = window ?? ticksNow();
      const t = ticksNow();
      const seconds = (t.at - w.at) / 1000 || 1;
      let workerTicks = 0;
      for (const [pid, ticks] of t.workers) workerTicks += ticks - (w.workers.get(pid) ?? 0);
      const pct = (ticks: number) => (100 * ticks) / TICKS_PER_SECOND / seconds;
      return {
        rss: { apiPeak: peak.api, apiEnd: last.api, workersPeak: peak.workers, workersEnd: last.workers },
        cpu: { api: pct(t.api - w.api), workers: pct(workerTicks) },
      };
    },
    stop: () => clearInterval(timer),
  };
}
