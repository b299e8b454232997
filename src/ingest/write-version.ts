import type { ResolvedIndex } from '../indexes/vector-indexes';
import type { DocumentRecord } from '../stores/document/document-types';
import type { ChunkRecord } from '../stores/vector/vector-store';
import { chunkId } from './chunk-id';
import type { ParsedDocument } from '../core/parsed-document';

/**
 * Chunks a document version with the index's chunking, embeds the chunks in batches with the index's model and
 * upserts them. Deterministic chunk ids, so writing the same version twice (a retry, or a reindex catching up) leaves
 * one copy. Answers the number of chunks.
 */
export async function writeVersion(
  index: ResolvedIndex,
  doc: Pick<DocumentRecord, 'tenant' | 'id' | 'collection' | 'title' | 'metadata'>,
  version: number,
  parsed: ParsedDocument,
  opts: { embedBatchSize: number; signal?: AbortSignal; onBatch?: (done: number, total: number) => Promise<void> },
): Promise<number> {
  const pieces = index.chunk(parsed);
  await opts.onBatch?.(0, pieces.length);
  for (let i = 0; i < pieces.length; i += opts.embedBatchSize) {
    opts.signal?.throwIfAborted();
    const batch = pieces.slice(i, i + opts.embedBatchSize);
    const vectors = await index.embedder.embed(
      batch.map((c) => c.text),
      { signal: opts.signal, tenant: doc.tenant, tokenCounts: batch.map((c) => c.tokenCount) },
    );
    const records: ChunkRecord[] = batch.map((c, j) => ({
      id: chunkId(doc.id, version, c.index),
      tenant: doc.tenant,
      collection: doc.collection,
      documentId: doc.id,
      documentVersion: version,
      chunkIndex: c.index,
      title: doc.title,
      text: c.text,
      tokenCount: c.tokenCount,
      pages: c.pages,
      headingPath: c.headingPath,
      metadata: doc.metadata,
      vector: vectors[j],
    }));
    await index.store.upsert(records);
    await opts.onBatch?.(i + batch.length, pieces.length);
  }
  return pieces.length;
}
