import type { DocumentStore } from '../stores/document/document-store';
import type { SourceStore } from '../stores/document/source-store';
import type { VectorStore } from '../stores/vector/vector-store';
import type { IngestProducer } from '../queues/ingest-queue';
import { notFound } from '../errors';

/**
 * Deletes a document. The record goes first, so search (which checks records) stops returning its chunks at once
 * and a running job stops at its next step; then the chunks, the waiting job and the stored source go.
 */
export async function deleteDocument(
  deps: { documents: DocumentStore; sources: SourceStore; vectors: VectorStore; producer: IngestProducer },
  tenant: string,
  id: string,
): Promise<void> {
  const doc = await deps.documents.remove(tenant, id);
  if (!doc) throw notFound('Document', id);
  await deps.producer.cancel(id, doc.version);
  await deps.vectors.deleteDocument(tenant, id);
  await deps.sources.prune(tenant, id);
}
