import { renderMetrics } from '../../infra/metrics';
import { presentsAdminKey, requireAdminKeyWhileAuthOn } from '../middleware/admin-auth';
import type { AppDeps } from '../app-deps';
import type { Health, Readiness } from '../views/health-views';
import { listedRouter, type ListedRouter } from './listed-router';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/**
 * Liveness says the process runs; readiness says it can serve (Redis and the vector store answer).
 * /healthz and the status of /readyz are public (load balancers probe them without keys). The dependency details of
 * /readyz (their error text names hosts and ports) and /metrics (every tenant's traffic) need ADMIN_API_KEY as soon as
 * any key exists; with no keys at all the service listens on loopback only and they stay open.
 */
export function healthRouter(deps: AppDeps): ListedRouter {
  const router = listedRouter();
  const adminKey = deps.config.adminApiKey;
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' } satisfies Health);
  });
  router.get('/readyz', async (req, res) => {
    const checks = await Promise.allSettled([withTimeout(deps.redis.ping(), 1000), withTimeout(deps.vectors.ping(), 2000)]);
    const [redis, vectors] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : `unavailable: ${(c.reason as Error).message}`));
    const ready = redis === 'ok' && vectors === 'ok';
    // Whether keys exist is read from Redis, which may be the dependency that is down: then the last answer counts.
    const details = presentsAdminKey(req, adminKey) || (await deps.authenticator.authOffLastKnown());
    const body: Readiness = { status: ready ? 'ready' : 'not_ready', checks: details ? { redis, vectorStore: vectors } : undefined };
    res.status(ready ? 200 : 503).json(body);
  });
  router.get('/metrics', requireAdminKeyWhileAuthOn(deps.authenticator, adminKey), async (_req, res) => {
    // With RUN_WORKERS=processes the forked workers' figures come along (each series labelled with its worker).
    const text = await renderMetrics(deps.metrics.registry, deps.metricsFeeds);
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(text);
  });
  return router;
}
