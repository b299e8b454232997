import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isAppError } from '../errors';
import { forEachConcurrently } from '../infra/pool';
import { isDefaultIndex, type IndexSpec } from '../indexes/index-spec';
import type { ResolvedIndex } from '../indexes/vector-indexes';
import { loadParsed } from '../ingest/load-parsed';
import type { ParsedDocument } from '../core/parsed-document';
import { writeVersion } from '../ingest/write-version';
import type { ReindexJob } from '../queues/reindex-queue';
import type { DocumentStore } from '../stores/document/document-store';
import type { DocumentRecord } from '../stores/document/document-types';
import type { IngestDeps } from '../ingest/ingest-document';
import type { ReindexJobs } from './reindex-jobs';

/** What ingestion needs (a rebuild parses, chunks and embeds the same way), and the rebuild's own settings. */
export interface ReindexDeps extends IngestDeps {
  reindexJobs: ReindexJobs;
  /** Documents rebuilt at once. */
  concurrency: number;
  /** How long the old index outlives the switch (searches that read the old route finish on it). */
  dropGraceMs: number;
  /** Told whenever the record's progress is written, and once the collection is served by the new index (completed). */
  onProgress?: (progress: { done: number; total: number; completed?: boolean }) => void;
}

/** Passes over the collection before giving up on it settling (each pass only redoes what changed meanwhile). */
const MAX_PASSES = 20;
const LIST_PAGE = 1000;
const PROGRESS_INTERVAL_MS = 250;

/** The build was cancelled (or taken over): stop, drop what was built, leave the serving index alone. */
export class ReindexCancelled extends Error {}

/**
 * Rebuilds one collection into the job's new index from the stored sources, then switches search to it.
 *
 * 1. Build: every document the collection serves is re-chunked and re-embedded with the new index's settings, at the
 *    version search serves. Meanwhile new uploads, replacements and deletes are applied to both indexes by ingestion
 *    (IndexCatalog.writeTargets), and the pass repeats for whatever changed under it until a pass finds nothing to do.
 * 2. Switch: one atomic pointer swap in Redis (IndexCatalog.switchTo). Search reads the route per request, so it moves
 *    from a complete old index to a complete new one.
 * 3. Repair: one more pass against the now-serving index catches a document that became ready in the instant before
 *    the switch by a job that had not seen the build.
 * 4. The job is completed; after a grace period the old index is dropped (or, for the shared default index, this
 *    collection's chunks in it), and the record says when (`oldIndex.droppedAt`).
 *
 * Resumable: a retried job skips documents the build already holds (the `built` hash). A failure or cancel before
 * the switch leaves the old index serving and drops the new one.
 */
export async function runReindex(deps: ReindexDeps, job: ReindexJob, signal?: AbortSignal): Promise<void> {
  const { tenant, collection, jobId } = job;
  const log = deps.logger.child({ reindex: jobId, collection });
  const record = await deps.reindexJobs.get(jobId);
  if (!record) return; // nothing to do: the record expired or was never completed
  const catalog = deps.indexes.catalog;
  const { live, build } = await catalog.writeTargets(tenant, collection);
  if (live.name === record.spec.name) {
    // A retry after the switch (the worker died while repairing or dropping): only the aftermath is left to do.
    await afterSwitch(deps, job, deps.indexes.resolve(record.spec), await catalog.previousOf(tenant, collection, jobId), signal);
    return;
  }
  if (!build || build.jobId !== jobId) {
    // Cancelled before it ran (or its build was abandoned by a failure): make sure nothing half-built remains.
    await abandonReindex(deps, job, { status: 'cancelled' }, signal);
    return;
  }
  // Held open for the whole build: no route of this process may point at it yet (or any more, once cancelled).
  await deps.indexes.holding(build.spec, (target) => buildAndSwitch(deps, job, target, log, signal));
}

/** The rebuild passes into the new index, then the switch and what follows it. */
async function buildAndSwitch(deps: ReindexDeps, job: ReindexJob, target: ResolvedIndex, log: Logger, signal?: AbortSignal): Promise<void> {
  const { tenant, collection, jobId } = job;
  const catalog = deps.indexes.catalog;
  await deps.reindexJobs.update(jobId, (r) => ({ status: 'running', startedAt: r.startedAt ?? new Date().toISOString() }));
  await target.store.init();

  const stillOwned = async () => {
    signal?.throwIfAborted();
    if ((await catalog.build(tenant, collection))?.jobId !== jobId) throw new ReindexCancelled();
  };
  for (let pass = 1; ; pass++) {
    const changed = await catchUp(deps, job, target, stillOwned);
    if (!changed) break;
    if (pass === MAX_PASSES) throw new Error(`the collection kept changing through ${MAX_PASSES} passes`);
  }

  // The first searches on the new index must not wait for it to fold the last writes into its indexes.
  await target.store.optimize();
  await deps.reindexJobs.update(jobId, () => ({ status: 'switching' }));
  const previous = await catalog.switchTo(tenant, collection, jobId);
  if (!previous) throw new ReindexCancelled();
  log.info({ from: previous.name, to: target.spec.name }, 'collection switched to its rebuilt index');
  await afterSwitch(deps, job, target, previous, signal);
  log.info('reindex completed');
}

/** Repair pass against the now-serving index, completion, then (after the grace period) the old index goes. */
async function afterSwitch(
  deps: ReindexDeps,
  job: ReindexJob,
  target: ResolvedIndex,
  previous: IndexSpec | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const { tenant, collection, jobId } = job;
  // Nothing can cancel a serving index, so the passes only stop for the abort signal.
  const serving = async () => signal?.throwIfAborted();
  let pass = 0;
  while (pass++ < MAX_PASSES && (await catchUp(deps, job, target, serving))) {
    // each pass redoes only what changed during the previous one
  }
  // The collection is rebuilt and served by the new index: the job is done. (A retry finds it done already.)
  const now = Date.now();
  await deps.reindexJobs.update(jobId, () => ({
    status: 'completed',
    finishedAt: new Date(now).toISOString(),
    ...(previous ? { oldIndex: { dropAfter: new Date(now + deps.dropGraceMs).toISOString() } } : {}),
  }));
  deps.onProgress?.({ done: 0, total: 0, completed: true });
  await sleep(deps.dropGraceMs, undefined, { signal });
  // Unknown only when an earlier attempt already dropped it and then forgot it.
  if (previous) await dropPrevious(deps, tenant, collection, previous);
  await deps.indexes.catalog.forgetBuilt(tenant, collection, jobId);
  await deps.reindexJobs.noteOldIndexDropped(jobId, new Date().toISOString());
}

/**
 * Ends a failed or cancelled build: the serving index stays, the new one goes. A job that fails after its switch
 * (while dropping the old index) keeps the new index, which serves: it ends completed, the failure logged.
 */
export async function abandonReindex(
  deps: ReindexDeps,
  job: ReindexJob,
  outcome: { status: 'failed' | 'cancelled'; error?: { code: string; message: string } },
  signal?: AbortSignal,
): Promise<void> {
  const { tenant, collection, jobId } = job;
  const catalog = deps.indexes.catalog;
  await catalog.abandonBuild(tenant, collection, jobId);
  const record = await deps.reindexJobs.get(jobId);
  if (!record) return;
  const finishedAt = new Date().toISOString();
  if ((await catalog.route(tenant, collection)).name === record.spec.name) {
    deps.logger.warn({ reindex: jobId, collection, error: outcome.error }, 'reindex switched, but cleaning up after it failed');
    await deps.reindexJobs.update(jobId, () => ({ status: 'completed', finishedAt }));
    return;
  }
  await deps.indexes.drop(record.spec);
  await catalog.forgetBuilt(tenant, collection, jobId);
  await deps.reindexJobs.update(jobId, () => ({ ...outcome, finishedAt }));
  await dropAgainLater(deps, record.spec, signal);
}

/**
 * A writer that read the build as a target just before it was abandoned may still write into it, which (LanceDB)
 * creates the table again: a second drop after the grace period removes such a leftover. Skipped on shutdown.
 */
async function dropAgainLater(deps: ReindexDeps, spec: IndexSpec, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(deps.dropGraceMs, undefined, { signal });
  } catch {
    return;
  }
  await deps.indexes.drop(spec);
}

async function dropPrevious(deps: ReindexDeps, tenant: string, collection: string, previous: IndexSpec): Promise<void> {
  // The default index is shared by every collection that was never reindexed: only this collection's chunks go.
  if (isDefaultIndex(previous)) await deps.indexes.resolve(previous).store.deleteCollection(tenant, collection);
  else await deps.indexes.drop(previous);
}

/**
 * One pass over the collection, a page of documents at a time (memory stays bounded by the page, whatever the
 * collection's size): writes into `target` every served document version it does not hold yet, then deletes what it
 * holds of documents that no longer exist. Answers whether anything changed.
 */
async function catchUp(deps: ReindexDeps, job: ReindexJob, target: ResolvedIndex, check: () => Promise<void>): Promise<boolean> {
  const { tenant, collection, jobId } = job;
  const catalog = deps.indexes.catalog;
  // Until the pass has seen which documents search serves, the total counts all of them and `done` those the build
  // holds (a resumed build starts where it was, not at 0); each document rebuilt for the first time adds one.
  const total = await deps.documents.countInCollection(tenant, collection);
  const progress = { done: Math.min(total, await catalog.builtCount(tenant, collection, jobId)), total };
  const report = () => {
    deps.onProgress?.(progress);
    return deps.reindexJobs.update(jobId, () => ({ progress: { ...progress } }));
  };
  await report();
  let reportedAt = Date.now();
  let changed = false;
  let served = 0;

  for await (const page of servedPages(deps.documents, tenant, collection)) {
    served += page.length;
    const built = await catalog.builtVersionsOf(
      tenant,
      collection,
      jobId,
      page.map((doc) => doc.id),
    );
    const todo = page.map((doc, i) => ({ doc, built: built[i] })).filter(({ doc, built }) => built !== doc.indexedVersion);
    changed ||= todo.length > 0;
    await forEachConcurrently(todo, deps.concurrency, async ({ doc, built }) => {
      await check();
      await rebuildDocument(deps, job, target, doc.id, built);
      if (built === undefined) progress.done = Math.min(progress.total, progress.done + 1);
      // Throttled: a record write per document would cost as much as the document's own writes.
      if (Date.now() - reportedAt >= PROGRESS_INTERVAL_MS) {
        reportedAt = Date.now();
        await report();
      }
    });
  }
  // Every served document is in the build now.
  progress.done = progress.total = served;
  await report();

  // Documents the build holds but whose record is gone were deleted after it wrote them (or while it did).
  for await (const ids of catalog.scanBuilt(tenant, collection, jobId, LIST_PAGE)) {
    // Membership only (the pass above already read every record): no record is read again here.
    const existing = await deps.documents.inCollection(tenant, collection, ids);
    for (const id of ids.filter((id) => !existing.has(id))) {
      await target.store.deleteDocument(tenant, id);
      await catalog.unmarkBuilt(tenant, collection, jobId, id);
      changed = true;
    }
  }
  return changed;
}

/** Writes the version a document serves now into the target (re-read here: the listing may be a moment old). */
async function rebuildDocument(
  deps: ReindexDeps,
  job: ReindexJob,
  target: ResolvedIndex,
  id: string,
  previouslyBuilt: number | undefined,
): Promise<void> {
  const { tenant, collection, jobId } = job;
  const doc = await deps.documents.get(tenant, id);
  if (!doc || doc.indexedVersion === undefined) return; // deleted meanwhile: the orphan check handles what was built
  const version = doc.indexedVersion;
  let parsed: ParsedDocument;
  try {
    parsed = await loadParsed(deps, doc, version);
  } catch (err) {
    // Replaced meanwhile, and the old version's source pruned: the next pass rebuilds the new version.
    const now = await deps.documents.get(tenant, id);
    if (isAppError(err) && err.code === 'source_missing' && now?.indexedVersion !== version) return;
    throw err;
  }
  await writeVersion(target, doc, version, parsed, { embedBatchSize: deps.embedBatchSize });
  // Only the version this build wrote before is removed: a newer one may have been written by ingestion meanwhile.
  if (previouslyBuilt !== undefined && previouslyBuilt !== version) {
    await target.store.deleteDocument(tenant, id, { onlyVersion: previouslyBuilt });
  }
  await deps.indexes.catalog.markBuilt(tenant, collection, jobId, id, version);
}

/** The documents of the collection that search serves (they have an indexed version), a page at a time. */
async function* servedPages(documents: DocumentStore, tenant: string, collection: string): AsyncGenerator<DocumentRecord[]> {
  let cursor: string | undefined;
  do {
    const page = await documents.list(tenant, { collection, limit: LIST_PAGE, cursor });
    const served = page.documents.filter((doc) => doc.indexedVersion !== undefined);
    if (served.length > 0) yield served;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}
