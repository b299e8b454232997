import fs from 'node:fs';

/** Resident memory of a process in MB (VmRSS), 0 once it has exited. */
export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/**
 * Samples the API's and the workers' resident memory every 250 ms and keeps the peaks (the workers' summed: with
 * several worker processes their total is what the machine holds).
 */
export function residentMemory(api: () => number, workers: () => number[]) {
  let peaks = { api: 0, workers: 0 };
  const sample = () => {
    peaks = {
      api: Math.max(peaks.api, rssMb(api())),
      workers: Math.max(
        peaks.workers,
        workers().reduce((n, pid) => n + rssMb(pid), 0),
      ),
    };
  };
  const timer = setInterval(sample, 250);
  return {
    reset: () => (peaks = { api: 0, workers: 0 }),
    peaks: () => (sample(), { ...peaks }),
    stop: () => clearInterval(timer),
  };
}
