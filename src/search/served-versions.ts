import type { DocumentRecord } from '../stores/document/document-types';
import type { ScoredChunk } from '../stores/vector/vector-store';

/**
 * How long after a switch a search may still serve the version it replaced. A search reads the store first and the
 * records after: a store snapshot taken just before a worker switched a document to its new version holds only the
 * old version's chunks (the new ones landed after it), while the record already names the new one. Serving nothing
 * then would be the gap a replacement must not have. The window only needs to cover one search's store read (and
 * the clock skew between the worker that wrote `indexedAt` and this process); the old chunks are retired just after
 * the switch anyway.
 */
export const PREVIOUS_VERSION_GRACE_MS = 30_000;

/**
 * Per document among `found`, the one version a search serves: the record's current version when any of its chunks
 * were found, else (just after a switch) the version it replaced. One version per document, so an answer is never
 * half old, half new. A document without a record (deleted) serves nothing.
 */
export function servedVersions(docs: Map<string, DocumentRecord>, found: ScoredChunk[], now = Date.now()): Map<string, number> {
  const current = new Set<string>();
  for (const { chunk } of found) {
    if (docs.get(chunk.documentId)?.indexedVersion === chunk.documentVersion) current.add(chunk.documentId);
  }
  const served = new Map<string, number>();
  for (const [id, doc] of docs) {
    if (doc.indexedVersion === undefined) continue;
    const replaced = current.has(id) ? undefined : justReplaced(doc, now);
    served.set(id, replaced ?? doc.indexedVersion);
  }
  return served;
}

/** The version `doc` switched away from, if that was within the grace window. */
function justReplaced(doc: DocumentRecord, now: number): number | undefined {
  if (doc.previousIndexedVersion === undefined || doc.indexedAt === undefined) return undefined;
  return now - Date.parse(doc.indexedAt) < PREVIOUS_VERSION_GRACE_MS ? doc.previousIndexedVersion : undefined;
}
