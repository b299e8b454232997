import { cancelReindex, getReindex, startReindex } from '../../reindex/start-reindex';
import { tenantOf } from '../middleware/auth';
import { DEFAULT_COLLECTION } from '../../core/collections';
import { listReindexQuery, reindexBodySchema, reindexJobIdParam } from '../schemas/reindex';
import type { AppDeps } from '../app-deps';
import { toReindexView, type ReindexJobList } from '../views/reindex-views';
import { listedRouter, type ListedRouter } from './listed-router';

export function reindexRouter(deps: AppDeps): ListedRouter {
  const router = listedRouter();
  router.post('/reindex', async (req, res) => {
    const body = reindexBodySchema.parse(req.body ?? {});
    const record = await startReindex(deps, tenantOf(res), { ...body, collection: body.collection ?? DEFAULT_COLLECTION });
    res.status(202).json(toReindexView(record));
  });
  router.get('/reindex', async (req, res) => {
    const q = listReindexQuery.parse(req.query);
    const page = await deps.reindexJobs.list(tenantOf(res), q);
    res.json({ jobs: page.jobs.map(toReindexView), nextCursor: page.nextCursor } satisfies ReindexJobList);
  });
  router.get('/reindex/:jobId', async (req, res) => {
    res.json(toReindexView(await getReindex(deps, tenantOf(res), reindexJobIdParam.parse(req.params.jobId))));
  });
  router.delete('/reindex/:jobId', async (req, res) => {
    res.json(toReindexView(await cancelReindex(deps, tenantOf(res), reindexJobIdParam.parse(req.params.jobId))));
  });
  return router;
}
