import { randomBytes } from 'node:crypto';
import { AppError, notFound } from '../errors';
import type { VectorIndexes } from '../indexes/vector-indexes';
import { reindexIndexName, type ChunkingSpec, type IndexSpec } from '../indexes/index-spec';
import type { ReindexProducer } from '../queues/reindex-queue';
import { isFinished, type ReindexJobs, type ReindexRecord } from './reindex-jobs';

export interface ReindexRequest {
  collection: string;
  embeddingModel?: string;
  chunking?: ChunkingSpec;
}

export interface ReindexStartDeps {
  indexes: VectorIndexes;
  reindexJobs: ReindexJobs;
  reindexProducer: ReindexProducer;
  /** Reindex jobs a tenant may have queued or running at once (TENANT_MAX_REINDEX_JOBS; 0: no quota). */
  maxReindexJobs: number;
}

/**
 * Registers a rebuild of one collection and queues it. From this moment writes to the collection also go to the new
 * index (so none is missed); search keeps reading the current one until the job switches. One rebuild per collection
 * at a time: a second request answers 409 with the running job's id.
 */
export async function startReindex(deps: ReindexStartDeps, tenant: string, req: ReindexRequest): Promise<ReindexRecord> {
  const current = await deps.indexes.catalog.route(tenant, req.collection);
  const jobId = newJobId();
  const embeddingModel = req.embeddingModel ?? current.embeddingModel;
  // Throws unknown_embedding_model (400) for a model this deployment cannot run.
  const embedder = deps.indexes.options.embedders.forModel(embeddingModel);
  const spec: IndexSpec = {
    name: reindexIndexName(jobId),
    embeddingModel,
    dimensions: embedder.dimensions,
    chunking: req.chunking ?? current.chunking,
  };
  const record: ReindexRecord = {
    jobId,
    tenant,
    collection: req.collection,
    status: 'queued',
    progress: { done: 0, total: 0 },
    spec,
    createdAt: new Date().toISOString(),
  };
  // Each job builds a whole new physical index: the tenant's quota of them is taken before anything is written.
  await deps.reindexJobs.reserveSlot(tenant, jobId, deps.maxReindexJobs);
  try {
    await deps.reindexJobs.create(record);
  } catch (err) {
    await deps.reindexJobs.delete(record);
    throw err;
  }
  if (!(await deps.indexes.catalog.startBuild(tenant, req.collection, { jobId, spec }))) {
    await deps.reindexJobs.delete(record);
    const running = await deps.indexes.catalog.build(tenant, req.collection);
    throw new AppError('reindex_in_progress', `A reindex of collection "${req.collection}" is already running`, {
      collection: req.collection,
      ...(running ? { jobId: running.jobId } : {}),
    });
  }
  try {
    await deps.reindexProducer.enqueue({ tenant, collection: req.collection, jobId });
  } catch (err) {
    await deps.indexes.catalog.abandonBuild(tenant, req.collection, jobId);
    await deps.reindexJobs.delete(record);
    throw err;
  }
  return record;
}

/**
 * 16 hex digits, never all decimal digits: BullMQ refuses a custom job id that reads as an integer ("Custom Id cannot
 * be integers"), which 1 random id in about 1,850 would.
 */
export function newJobId(): string {
  for (;;) {
    const id = randomBytes(8).toString('hex');
    if (/[a-f]/.test(id)) return id;
  }
}

/** A tenant sees only its own jobs: another tenant's id is as unknown as a made-up one. */
export async function getReindex(deps: Pick<ReindexStartDeps, 'reindexJobs'>, tenant: string, jobId: string): Promise<ReindexRecord> {
  const record = await deps.reindexJobs.get(jobId);
  if (!record || record.tenant !== tenant) throw notFound('Reindex job', jobId);
  return record;
}

/**
 * Cancels a queued or running reindex: the build is abandoned at once (writes stop going to it, and it can no longer
 * switch), the collection keeps its current index, and the worker drops the half-built one. A finished job answers 409.
 */
export async function cancelReindex(deps: ReindexStartDeps, tenant: string, jobId: string): Promise<ReindexRecord> {
  const record = await getReindex(deps, tenant, jobId);
  if (isFinished(record.status)) {
    throw new AppError('reindex_finished', `Reindex job ${jobId} already ${record.status}`, { jobId, status: record.status });
  }
  const owned = await deps.indexes.catalog.abandonBuild(tenant, record.collection, jobId);
  if (!owned) {
    // The switch won the race: the job completes; report what it is now.
    return getReindex(deps, tenant, jobId);
  }
  const cancelled = await deps.reindexJobs.update(jobId, () => ({ status: 'cancelled', finishedAt: new Date().toISOString() }));
  return cancelled ?? getReindex(deps, tenant, jobId);
}
