import { Router } from 'express';
import type { AppDeps } from '../app-deps';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/** Liveness says the process runs; readiness says it can serve (Redis and the vector store answer). */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await Promise.allSettled([withTimeout(deps.redis.ping(), 1000), withTimeout(deps.vectors.ping(), 2000)]);
    const [redis, vectors] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : `unavailable: ${(c.reason as Error).message}`));
    const ready = redis === 'ok' && vectors === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { redis, vectorStore: vectors } });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  return router;
}
