import type { Logger } from 'pino';
import { AppError } from '../errors';
import type { Embedder } from '../gateway/embedder';
import type { DocumentStore } from '../stores/document/document-store';
import type { DocumentRecord } from '../stores/document/document-types';
import type { SourceStore } from '../stores/document/source-store';
import type { ChunkRecord, VectorStore } from '../stores/vector/vector-store';
import { chunkId } from './chunk-id';
import type { ParsedDocument, TextChunk } from './types';

export interface IngestDeps {
  documents: DocumentStore;
  sources: SourceStore;
  vectors: VectorStore;
  embedder: Embedder;
  chunk: (doc: ParsedDocument) => TextChunk[];
  parse: (bytes: Buffer, format: DocumentRecord['format']) => Promise<ParsedDocument>;
  embedBatchSize: number;
  logger: Logger;
}

export type IngestOutcome =
  | { outcome: 'indexed'; chunks: number }
  | { outcome: 'skipped'; reason: 'deleted' | 'superseded' };

/** Thrown when the document was deleted or replaced while its job ran: the job ends quietly, leaving nothing behind. */
class Superseded extends Error {}

const PROGRESS_INTERVAL_MS = 250;

/**
 * The ingestion story of one document version: parse (or reuse the stored text), chunk, embed in batches, upsert,
 * then retire older versions. Every step is idempotent (deterministic chunk ids), so a retry or a second worker
 * taking over a stalled job converges on the same chunks.
 */
export async function ingestDocument(
  deps: IngestDeps,
  job: { tenant: string; documentId: string; version: number },
  signal?: AbortSignal,
): Promise<IngestOutcome> {
  const { documents, sources, vectors, embedder, logger } = deps;
  const { tenant, documentId, version } = job;
  const log = logger.child({ documentId, version });

  // Every record write goes through here: it fails (Superseded) once the document is deleted or a newer version exists.
  const update = async (change: Partial<DocumentRecord>) => {
    const doc = await documents.update(tenant, documentId, () => change, { expectVersion: version });
    if (!doc) throw new Superseded();
    return doc;
  };

  try {
    const doc = await update({ status: 'processing', progress: { stage: 'parsing', done: 0, total: 0 }, error: undefined });

    // Text and Markdown are their own extracted text: only PDF and HTML keep a parsed copy beside the original.
    const keepsParsed = doc.format === 'pdf' || doc.format === 'html';
    let parsed = keepsParsed ? await sources.getParsed(tenant, documentId, version) : undefined;
    if (!parsed) {
      const original = await sources.getOriginal(tenant, documentId, version);
      if (!original) throw new AppError('source_missing', 500, 'The stored source of this document is missing', undefined, { retryable: false });
      parsed = await deps.parse(original, doc.format);
      if (keepsParsed) await sources.putParsed(tenant, documentId, version, parsed);
    }

    // Progress writes are throttled: a small document costs two record writes (start, end), a large one a few a second.
    let lastProgressAt = Date.now();
    const progress = async (stage: 'chunking' | 'embedding' | 'indexing', done: number, total: number) => {
      if (Date.now() - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = Date.now();
      await update({ progress: { stage, done, total } });
    };
    const pieces = deps.chunk(parsed);
    await progress('embedding', 0, pieces.length);

    for (let i = 0; i < pieces.length; i += deps.embedBatchSize) {
      signal?.throwIfAborted();
      const batch = pieces.slice(i, i + deps.embedBatchSize);
      const vectorsOut = await embedder.embed(batch.map((c) => c.text), { signal, tenant });
      const records: ChunkRecord[] = batch.map((c, j) => ({
        id: chunkId(documentId, version, c.index),
        tenant,
        collection: doc.collection,
        documentId,
        documentVersion: version,
        chunkIndex: c.index,
        title: doc.title,
        text: c.text,
        tokenCount: c.tokenCount,
        pages: c.pages,
        headingPath: c.headingPath,
        metadata: doc.metadata,
        vector: vectorsOut[j],
      }));
      await vectors.upsert(records);
      const done = i + batch.length;
      await progress(done === pieces.length ? 'indexing' : 'embedding', done, pieces.length);
    }

    // The new version is complete: switch search to it, then retire older versions' chunks and sources.
    const now = new Date().toISOString();
    await update({
      status: 'ready',
      progress: { stage: 'done', done: pieces.length, total: pieces.length },
      chunkCount: pieces.length,
      indexedVersion: version,
      indexedAt: now,
    });
    // A first version has nothing older to retire: skipping the delete saves a store write per new document.
    if (version > 1) {
      await vectors.deleteDocument(tenant, documentId, { exceptVersion: version });
      await sources.prune(tenant, documentId, version);
    }
    log.info({ chunks: pieces.length }, 'document indexed');

    // No re-check is needed here: the `ready` write above is a compare-and-set that fails if the document was deleted
    // during our upserts, and a delete after it removes the chunks itself (they were all written by then).
    return { outcome: 'indexed', chunks: pieces.length };
  } catch (err) {
    if (!(err instanceof Superseded)) throw err;
    const current = await documents.get(tenant, documentId);
    // Remove what this run wrote; a newer version's own job writes its own chunks.
    await vectors.deleteDocument(tenant, documentId, current ? { onlyVersion: version } : undefined);
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
