import type { MetadataValue } from '../vector/vector-store';
import type { SourceFormat } from '../../core/parsed-document';

export const DOCUMENT_STATUSES = ['queued', 'processing', 'ready', 'failed'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];
export type IngestStage = 'queued' | 'parsing' | 'chunking' | 'embedding' | 'indexing' | 'done' | 'failed';

export interface DocumentRecord {
  id: string;
  tenant: string;
  collection: string;
  title: string;
  status: DocumentStatus;
  progress: { stage: IngestStage; done: number; total: number };
  chunkCount: number;
  contentHash: string;
  bytes: number;
  mimeType: string;
  format: SourceFormat;
  metadata: Record<string, MetadataValue>;
  externalId?: string;
  /** Bumped by every replacement or reindex; chunk ids derive from it. */
  version: number;
  /** The version whose chunks search serves; undefined until the first version is indexed. */
  indexedVersion?: number;
  /**
   * The version served before `indexedVersion` took over (at `indexedAt`). A search reads the store before the
   * records, so its snapshot may predate the switch and hold only this version's chunks: search still serves them
   * for a short while rather than nothing (src/search/served-versions.ts).
   */
  previousIndexedVersion?: number;
  error?: { code: string; message: string };
  /** Of the indexed version: the pages read by OCR (a scan's, or an image's page 1) and tesseract's mean word confidence. */
  ocr?: { pages: number[]; meanConfidence: number };
  createdAt: string;
  updatedAt: string;
  indexedAt?: string;
}

/** The state of a version waiting for its ingestion job (new upload, replacement, reindex); fresh objects each call. */
export const queuedState = () =>
  ({ status: 'queued', progress: { stage: 'queued', done: 0, total: 0 }, error: undefined }) satisfies Partial<DocumentRecord>;

/** The public shape of api.md (internal bookkeeping stays inside). */
export function toDocumentView(doc: DocumentRecord) {
  return {
    id: doc.id,
    collection: doc.collection,
    title: doc.title,
    status: doc.status,
    progress: doc.progress,
    chunkCount: doc.chunkCount,
    contentHash: doc.contentHash,
    bytes: doc.bytes,
    mimeType: doc.mimeType,
    metadata: doc.metadata,
    ...(doc.externalId !== undefined ? { externalId: doc.externalId } : {}),
    version: doc.version,
    ...(doc.error ? { error: doc.error } : {}),
    ...(doc.ocr ? { ocr: doc.ocr } : {}),
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    ...(doc.indexedAt ? { indexedAt: doc.indexedAt } : {}),
  };
}
