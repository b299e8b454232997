import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The HTTP request an operation runs for, carried along its async calls: the request-context middleware enters it,
 * and the queue producers read it to stamp the jobs they add (ingest, reindex, session memory), whichever use case
 * adds them. The use cases then need no tracing parameter, and a route added later gets it for nothing. One instance
 * per composition root (passed in, like the metrics), never a module singleton.
 *
 * Express 5's body parser and multer keep the async context (they bind their callbacks), and every middleware that
 * waits awaits before `next()`: the whole request runs inside the scope (test/component/observability.test.ts).
 */
export class RequestScope {
  private readonly storage = new AsyncLocalStorage<{ requestId: string }>();

  run<T>(requestId: string, fn: () => T): T {
    return this.storage.run({ requestId }, fn);
  }

  /** The id of the request being served here; undefined outside any (a worker, a timer). */
  requestId(): string | undefined {
    return this.storage.getStore()?.requestId;
  }
}

/** How a producer learns the request it adds a job for. */
export type RequestIdSource = () => string | undefined;
