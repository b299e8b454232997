/**
 * Where one request's time went, stage by stage (waiting included: a stage that waits on LanceDB's threads or Redis
 * counts that wait). Stages that run concurrently overlap, so their sum can exceed the request's time. Filled by the
 * use case, reported by the route (Server-Timing header, Prometheus histogram).
 */
export type StageTimings = Record<string, number>;

/** Runs `fn`, adding its wall time in ms to `timings[stage]` (when timings are being collected). */
export async function timed<T>(timings: StageTimings | undefined, stage: string, fn: () => Promise<T>): Promise<T> {
  if (!timings) return fn();
  const started = performance.now();
  try {
    return await fn();
  } finally {
    timings[stage] = (timings[stage] ?? 0) + (performance.now() - started);
  }
}

/** The Server-Timing header value (RFC: `name;dur=ms`), which browsers' developer tools show per request. */
export function serverTimingHeader(timings: StageTimings): string {
  return Object.entries(timings)
    .map(([stage, ms]) => `${stage};dur=${ms.toFixed(1)}`)
    .join(', ');
}
