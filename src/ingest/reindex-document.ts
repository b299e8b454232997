import { AppError, notFound } from '../errors';
import type { DocumentStore } from '../stores/document/document-store';
import type { SourceStore } from '../stores/document/source-store';
import type { IngestJob } from '../queues/ingest-queue';

/**
 * Rebuilds a document's chunks from its stored source as a new version; the current version keeps serving
 * search until the new one is indexed.
 */
export async function reindexDocument(
  deps: { documents: DocumentStore; sources: SourceStore },
  tenant: string,
  id: string,
): Promise<IngestJob> {
  const doc = await deps.documents.get(tenant, id);
  if (!doc) throw notFound('Document', id);
  const parsed = await deps.sources.getParsed(tenant, id, doc.version);
  const original = parsed ? undefined : await deps.sources.getOriginal(tenant, id, doc.version);
  if (!parsed && !original) {
    throw new AppError('source_missing', 409, 'The stored source of this document is missing; upload it again', { id });
  }
  const version = doc.version + 1;
  if (parsed) await deps.sources.putParsed(tenant, id, version, parsed);
  if (original) await deps.sources.putOriginal(tenant, id, version, original);
  const updated = await deps.documents.update(
    tenant,
    id,
    () => ({ version, status: 'queued', progress: { stage: 'queued', done: 0, total: 0 }, error: undefined }),
    { expectVersion: doc.version },
  );
  if (!updated) throw new AppError('conflict', 409, 'The document changed while the reindex was requested; try again', { id });
  return { tenant, documentId: id, version, reason: 'reindex' };
}
