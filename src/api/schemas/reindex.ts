import { z } from 'zod';
import { MIN_CHUNK_SIZE } from '../../core/chunker';
import { collectionSchema, cursorLimit } from './common';

/** Larger chunks than this would not fit the embedding models' input windows. */
const MAX_CHUNK_SIZE = 8192;

export const reindexBodySchema = z.strictObject({
  collection: collectionSchema.optional(),
  embeddingModel: z.string().min(1).max(128).optional(),
  chunking: z
    .strictObject({
      chunkSize: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE),
      chunkOverlap: z
        .number()
        .int()
        .min(0)
        .max(MAX_CHUNK_SIZE / 2),
    })
    // Each chunk advances by chunkSize - chunkOverlap tokens: an overlap of chunkSize - 1 makes one chunk per token
    // (a 20 MB document would become millions of chunks). At most half keeps a document's chunk count within 2x
    // that of no overlap.
    .refine((c) => c.chunkOverlap * 2 <= c.chunkSize, { message: 'chunkOverlap must be at most half of chunkSize', path: ['chunkOverlap'] })
    .optional(),
});

export const reindexJobIdParam = z.string().regex(/^[0-9a-f]{16}$/, 'not a reindex job id');

export const listReindexQuery = z.strictObject({
  collection: collectionSchema.optional(),
  limit: cursorLimit(20, 100),
  cursor: z
    .string()
    .regex(/^\d{15}-[0-9a-f]{16}$/, 'not a cursor from this list')
    .optional(),
});
