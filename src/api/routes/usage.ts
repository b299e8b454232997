import { utcDay } from '../../gateway/safety/usage-meter';
import { tenantOf } from '../middleware/auth';
import { usageQuery } from '../schemas/usage';
import type { AppDeps } from '../app-deps';
import { toUsageRowView, type Usage } from '../views/usage-views';
import { listedRouter, type ListedRouter } from './listed-router';

/**
 * Tokens and cost per model and day for the caller's tenant (default: the last 30 days), and what the tenant holds
 * against its quotas now (0 in `quotas` means none).
 */
export function usageRouter(deps: AppDeps): ListedRouter {
  const router = listedRouter();
  router.get('/usage', async (req, res) => {
    const q = usageQuery.parse(req.query);
    const to = q.to ?? utcDay(Date.now());
    const from = q.from ?? utcDay(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000);
    const tenant = tenantOf(res);
    const [rows, held, reindexJobs] = await Promise.all([
      deps.usage.query(tenant, from, to),
      deps.documents.usage(tenant),
      deps.reindexJobs.activeCount(tenant),
    ]);
    const totals = rows.reduce<Usage['totals']>(
      (t, r) => ({
        promptTokens: t.promptTokens + r.promptTokens,
        completionTokens: t.completionTokens + r.completionTokens,
        costUsd: t.costUsd + r.costUsd,
        calls: t.calls + r.calls,
      }),
      { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
    );
    const storage: Usage['storage'] = {
      documents: held.documents,
      bytes: held.bytes,
      reindexJobs,
      quotas: { documents: held.quotas.documents, bytes: held.quotas.bytes, reindexJobs: deps.maxReindexJobs },
    };
    res.json({ from, to, usage: rows.map(toUsageRowView), totals, storage } satisfies Usage);
  });
  return router;
}
