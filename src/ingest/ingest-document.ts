import type { Logger } from 'pino';
import type { ByteBudget } from '../infra/byte-budget';
import type { ResolvedIndex, VectorIndexes } from '../indexes/vector-indexes';
import type { DocumentStore } from '../stores/document/document-store';
import type { DocumentRecord } from '../stores/document/document-types';
import type { SourceStore } from '../stores/document/source-store';
import { loadParsed } from './load-parsed';
import type { ParsedDocument } from '../core/parsed-document';
import { writeVersion } from './write-version';

export interface IngestDeps {
  documents: DocumentStore;
  sources: SourceStore;
  /** Where a collection's chunks go: its serving index, and the one a running reindex builds. */
  indexes: VectorIndexes;
  parse: (bytes: Buffer, format: DocumentRecord['format']) => Promise<ParsedDocument>;
  embedBatchSize: number;
  logger: Logger;
  /**
   * Source bytes this process works on at once (WORKER_MAX_INFLIGHT_BYTES): many small documents run side by side
   * (WORKER_CONCURRENCY), while a few large ones wait their turn instead of holding N times their size in memory.
   */
  memory?: ByteBudget;
}

export type IngestOutcome = { outcome: 'indexed'; chunks: number } | { outcome: 'skipped'; reason: 'deleted' | 'superseded' };

/** Thrown when the document was deleted or replaced while its job ran: the job ends quietly, leaving nothing behind. */
class Superseded extends Error {}

const PROGRESS_INTERVAL_MS = 250;

/**
 * The ingestion story of one document version: parse (or reuse the stored text), chunk, embed in batches, upsert,
 * then retire older versions. Every step is idempotent (deterministic chunk ids), so a retry or a second worker
 * taking over a stalled job converges on the same chunks.
 *
 * While a reindex of the collection runs, the version is written twice: into the serving index and into the one
 * being built (with that index's chunking and model), so the rebuilt index holds it when it takes over.
 */
export async function ingestDocument(
  deps: IngestDeps,
  job: { tenant: string; documentId: string; version: number },
  signal?: AbortSignal,
  /** Told each step (parsed, chunked, every batch embedded and upserted, ready), unthrottled, with the record's figures. */
  onProgress?: (progress: DocumentRecord['progress']) => void,
): Promise<IngestOutcome> {
  const { documents, indexes, logger } = deps;
  const { tenant, documentId, version } = job;
  const log = logger.child({ documentId, version });

  // Every record write goes through here: it fails (Superseded) once the document is deleted or a newer version exists.
  const update = async (change: Partial<DocumentRecord>) => {
    const doc = await documents.update(tenant, documentId, () => change, { expectVersion: version });
    if (!doc) throw new Superseded();
    return doc;
  };

  // The indexes this run wrote into, to retire older versions in (or clean up after a superseded run).
  const written: ResolvedIndex[] = [];
  try {
    const doc = await update({ status: 'processing', progress: { stage: 'parsing', done: 0, total: 0 }, error: undefined });
    // Held in memory from here to the end: the source, its text, chunks and vectors.
    const index = async (): Promise<IngestOutcome> => {
      const parsed = await loadParsed(deps, doc, version);
      onProgress?.({ stage: 'chunking', done: 0, total: 0 });

      // Progress writes are throttled: a small document costs two record writes (start, end), a large one a few a second.
      let lastProgressAt = Date.now();
      const onBatch = async (done: number, total: number) => {
        const progress = { stage: done === total && total > 0 ? ('indexing' as const) : ('embedding' as const), done, total };
        onProgress?.(progress);
        if (Date.now() - lastProgressAt < PROGRESS_INTERVAL_MS) return;
        lastProgressAt = Date.now();
        await update({ progress });
      };
      const { live, build } = await indexes.writeTargets(tenant, doc.collection);
      written.push(live);
      const chunks = await writeVersion(live, doc, version, parsed, { embedBatchSize: deps.embedBatchSize, signal, onBatch });
      if (build) {
        written.push(build);
        await writeVersion(build, doc, version, parsed, { embedBatchSize: deps.embedBatchSize, signal });
        await indexes.catalog.markBuilt(tenant, doc.collection, build.jobId, documentId, version);
      }

      // The new version is complete: switch search to it, then retire older versions' chunks and sources.
      await update({
        status: 'ready',
        progress: { stage: 'done', done: chunks, total: chunks },
        chunkCount: chunks,
        // A version without OCR clears what an earlier, scanned version said.
        ocr: parsed.ocr,
        indexedVersion: version,
        previousIndexedVersion: doc.indexedVersion !== version ? doc.indexedVersion : doc.previousIndexedVersion,
        indexedAt: new Date().toISOString(),
      });
      // A reindex may have switched the collection to an index we did not write (it started after we looked and
      // finished before we did): write there too. Its own last pass catches anything that became ready before it.
      const now = await indexes.live(tenant, doc.collection);
      if (!written.some((index) => index.spec.name === now.spec.name)) {
        written.push(now);
        await writeVersion(now, doc, version, parsed, { embedBatchSize: deps.embedBatchSize, signal });
      }
      // A first version has nothing older to retire: skipping the delete saves a store write per new document.
      if (version > 1) {
        for (const index of written) await index.store.deleteDocument(tenant, documentId, { exceptVersion: version });
        await deps.sources.prune(tenant, documentId, version);
      }
      onProgress?.({ stage: 'done', done: chunks, total: chunks });
      log.info({ chunks }, 'document indexed');

      // No re-check is needed here: the `ready` write above is a compare-and-set that fails if the document was deleted
      // during our upserts, and a delete after it removes the chunks itself (they were all written by then).
      return { outcome: 'indexed', chunks };
    };
    return await (deps.memory ? deps.memory.use(doc.bytes, index) : index());
  } catch (err) {
    if (!(err instanceof Superseded)) throw err;
    const current = await documents.get(tenant, documentId);
    // Remove what this run wrote; a newer version's own job writes its own chunks.
    for (const index of written) await index.store.deleteDocument(tenant, documentId, current ? { onlyVersion: version } : undefined);
    log.info({ reason: current ? 'superseded' : 'deleted' }, 'ingestion stopped');
    return { outcome: 'skipped', reason: current ? 'superseded' : 'deleted' };
  }
}

/** Records a failure the job will not recover from, so a client polling the document sees why. */
export async function markFailed(
  documents: DocumentStore,
  job: { tenant: string; documentId: string; version: number },
  error: { code: string; message: string },
): Promise<void> {
  await documents.update(
    job.tenant,
    job.documentId,
    (doc) => ({ status: 'failed', progress: { ...doc.progress, stage: 'failed' }, error }),
    { expectVersion: job.version },
  );
}
