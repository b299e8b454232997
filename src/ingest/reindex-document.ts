import { AppError, notFound } from '../errors';
import type { DocumentStore } from '../stores/document/document-store';
import { queuedState } from '../stores/document/document-types';
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
  const version = doc.version + 1;
  // The parsed copy when there is one (a reindex reuses the extracted text), else the original.
  if (!(await deps.sources.copyVersion(tenant, id, doc.version, version))) {
    throw new AppError('source_missing', 'The stored source of this document is missing; upload it again', { id });
  }
  const updated = await deps.documents.update(tenant, id, () => ({ version, ...queuedState() }), { expectVersion: doc.version });
  if (!updated) throw new AppError('conflict', 'The document changed while the reindex was requested; try again', { id });
  return { tenant, documentId: id, version, reason: 'reindex' };
}
