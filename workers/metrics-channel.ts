import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Registry } from 'prom-client';
import type { MetricsJson } from '../src/infra/metrics';

/**
 * How the API gets the metrics of the worker processes it forked (RUN_WORKERS=processes): over the fork's IPC channel,
 * on request, when Prometheus scrapes the API. Each child answers with its registry as JSON (`getMetricsAsJSON`), the
 * form prom-client's AggregatorRegistry merges. See worker-processes.ts for why this way.
 */
const REQUEST = 'ragmem-metrics-request';
const ANSWER = 'ragmem-metrics';

interface Answer {
  type: typeof ANSWER;
  id: string;
  metrics?: MetricsJson;
  error?: string;
}

const isMessage = (msg: unknown, type: string): msg is { type: string; id: string } =>
  typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type && typeof (msg as { id?: unknown }).id === 'string';

/** In a forked worker process: answers its parent's requests with this process's metrics. Answers how to stop. */
export function answerMetricsRequests(registry: Registry): () => void {
  const reply = (answer: Answer) => {
    // The parent may be gone (the process is stopping then): nothing to answer.
    if (process.connected) process.send?.(answer, undefined, undefined, () => undefined);
  };
  const onMessage = (msg: unknown) => {
    if (!isMessage(msg, REQUEST)) return;
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ type: ANSWER, id: msg.id, metrics }),
      (err: Error) => reply({ type: ANSWER, id: msg.id, error: err.message }),
    );
  };
  process.on('message', onMessage);
  return () => process.off('message', onMessage);
}

/** In the parent: one child's metrics, or undefined when it cannot answer within `timeoutMs` (starting, busy, gone). */
export function requestMetrics(child: ChildProcess, timeoutMs: number): Promise<MetricsJson | undefined> {
  if (!child.connected) return Promise.resolve(undefined);
  const id = randomUUID();
  return new Promise((resolve) => {
    const done = (metrics: MetricsJson | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(metrics);
    };
    const onMessage = (msg: unknown) => {
      if (isMessage(msg, ANSWER) && msg.id === id) done((msg as Answer).metrics);
    };
    const onExit = () => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: REQUEST, id }, (err) => err && done(undefined));
  });
}
