import type { MetadataValue } from '../vector/vector-store';
import type { SourceFormat } from '../../core/parsed-document';

export const DOCUMENT_STATUSES = ['queued', 'processing', 'ready', 'failed'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];
export const INGEST_STAGES = ['queued', 'parsing', 'chunking', 'embedding', 'indexing', 'done', 'failed'] as const;
export type IngestStage = (typeof INGEST_STAGES)[number];

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
