import { z } from 'zod';
import { DOCUMENT_STATUSES, INGEST_STAGES, type DocumentRecord } from '../../stores/document/document-types';
import type { StoredChunk } from '../../stores/vector/vector-store';
import { chunkMetadataView, codeAndMessage, count, dateTime, metadataView } from './common';

/** A document as GET /documents/:id shows it (api.md); internal bookkeeping (tenant, versions served) stays inside. */
export const DocumentViewSchema = z.object({
  id: z.string(),
  collection: z.string(),
  title: z.string(),
  status: z.enum(DOCUMENT_STATUSES),
  progress: z.object({ stage: z.enum(INGEST_STAGES), done: count(), total: count() }),
  chunkCount: count(),
  contentHash: z.string(),
  bytes: count(),
  mimeType: z.string(),
  metadata: metadataView,
  externalId: z.string().optional(),
  version: z.int().min(1).describe('Bumped by every replacement or reindex'),
  error: codeAndMessage.optional(),
  ocr: z
    .object({
      pages: z.array(z.int().min(1).describe('A page read by OCR (1-based; an image is page 1)')),
      meanConfidence: z.number().describe("tesseract's mean word confidence, 0-100"),
    })
    .optional(),
  createdAt: dateTime,
  updatedAt: dateTime,
  indexedAt: dateTime.optional(),
  duplicate: z.boolean().optional().describe('Only on POST /documents: the same content was already there (200)'),
});
export type DocumentView = z.output<typeof DocumentViewSchema>;

export const DocumentListSchema = z.object({ documents: z.array(DocumentViewSchema), nextCursor: z.string().nullable() });
export type DocumentList = z.output<typeof DocumentListSchema>;

export const BulkDocumentsAcceptedSchema = z.object({
  documents: z.array(z.object({ id: z.string(), status: z.enum(DOCUMENT_STATUSES), duplicate: z.boolean().optional() })),
});
export type BulkDocumentsAccepted = z.output<typeof BulkDocumentsAcceptedSchema>;

const ChunkViewSchema = z.object({
  id: z.string(),
  index: count(),
  text: z.string(),
  tokenCount: count(),
  metadata: chunkMetadataView,
});
export type ChunkView = z.output<typeof ChunkViewSchema>;

export const ChunkListSchema = z.object({ chunks: z.array(ChunkViewSchema), nextCursor: z.string().nullable() });
export type ChunkList = z.output<typeof ChunkListSchema>;

export const DocumentReindexAcceptedSchema = z.object({ jobId: z.string(), documentId: z.string(), version: z.int().min(1) });
export type DocumentReindexAccepted = z.output<typeof DocumentReindexAcceptedSchema>;

export function toDocumentView(doc: DocumentRecord): DocumentView {
  return {
    id: doc.id,
    collection: doc.collection,
    title: doc.title,
    status: doc.status,
    progress: { stage: doc.progress.stage, done: doc.progress.done, total: doc.progress.total },
    chunkCount: doc.chunkCount,
    contentHash: doc.contentHash,
    bytes: doc.bytes,
    mimeType: doc.mimeType,
    metadata: doc.metadata,
    // Absent fields stay `undefined`, which JSON leaves out: the same body as leaving the key out.
    externalId: doc.externalId,
    version: doc.version,
    error: doc.error && { code: doc.error.code, message: doc.error.message },
    ocr: doc.ocr && { pages: doc.ocr.pages, meanConfidence: doc.ocr.meanConfidence },
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    indexedAt: doc.indexedAt || undefined,
  };
}

export function toChunkView(c: StoredChunk): ChunkView {
  return {
    id: c.id,
    index: c.chunkIndex,
    text: c.text,
    tokenCount: c.tokenCount,
    metadata: { pages: c.pages, headingPath: c.headingPath, ...c.metadata },
  };
}
