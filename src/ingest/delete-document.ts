import type { DocumentStore } from '../stores/document/document-store';
import type { SourceStore } from '../stores/document/source-store';
import type { VectorIndexes } from '../indexes/vector-indexes';
import type { IngestProducer } from '../queues/ingest-queue';
import { notFound } from '../errors';

/**
 * Deletes a document. The record goes first, so search (which checks records) stops returning its chunks at once
 * and a running job stops at its next step; then the waiting job, the chunks and the stored source go.
 */
export async function deleteDocument(
  deps: { documents: DocumentStore; sources: SourceStore; indexes: VectorIndexes; producer: IngestProducer },
  tenant: string,
  id: string,
): Promise<void> {
  const doc = await deps.documents.remove(tenant, id);
  if (!doc) throw notFound('Document', id);
  await deps.producer.cancel(id, doc.version);
  // From the serving index and from the one a running reindex builds (which would otherwise bring the chunks back).
  const { live, build } = await deps.indexes.writeTargets(tenant, doc.collection);
  for (const index of build ? [live, build] : [live]) await index.store.deleteDocument(tenant, id);
  await deps.sources.prune(tenant, id);
}
