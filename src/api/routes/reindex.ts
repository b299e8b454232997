import type { ReindexRecord } from '../../reindex/reindex-jobs';
import { cancelReindex, getReindex, startReindex } from '../../reindex/start-reindex';
import { tenantOf } from '../middleware/auth';
import { DEFAULT_COLLECTION } from '../../core/collections';
import { listReindexQuery, reindexBodySchema, reindexJobIdParam } from '../schemas/reindex';
import type { AppDeps } from '../app-deps';
import { listedRouter, type ListedRouter } from './listed-router';

/** The public shape (api.md): status and progress first, then what is being built. */
function toReindexView(record: ReindexRecord) {
  return {
    jobId: record.jobId,
    status: record.status,
    progress: record.progress,
    collection: record.collection,
    embeddingModel: record.spec.embeddingModel,
    dimensions: record.spec.dimensions,
    chunking: record.spec.chunking,
    createdAt: record.createdAt,
    startedAt: record.startedAt ?? null,
    ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.oldIndex ? { oldIndex: { dropAfter: record.oldIndex.dropAfter, droppedAt: record.oldIndex.droppedAt ?? null } } : {}),
  };
}

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
    res.json({ jobs: page.jobs.map(toReindexView), nextCursor: page.nextCursor });
  });
  router.get('/reindex/:jobId', async (req, res) => {
    res.json(toReindexView(await getReindex(deps, tenantOf(res), reindexJobIdParam.parse(req.params.jobId))));
  });
  router.delete('/reindex/:jobId', async (req, res) => {
    res.json(toReindexView(await cancelReindex(deps, tenantOf(res), reindexJobIdParam.parse(req.params.jobId))));
  });
  return router;
}
