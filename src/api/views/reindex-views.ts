import { z } from 'zod';
import { REINDEX_STATUSES, type ReindexRecord } from '../../reindex/reindex-jobs';
import { codeAndMessage, count, dateTime } from './common';

/** The public shape (api.md): status and progress first, then what is being built. */
export const ReindexJobSchema = z.object({
  jobId: z.string(),
  status: z.enum(REINDEX_STATUSES),
  progress: z.object({ done: count(), total: count() }),
  collection: z.string(),
  embeddingModel: z.string(),
  dimensions: z.int().min(1),
  chunking: z.object({ chunkSize: z.int().min(1), chunkOverlap: count() }),
  createdAt: dateTime,
  startedAt: dateTime.nullable(),
  finishedAt: dateTime.optional(),
  error: codeAndMessage.optional(),
  oldIndex: z
    .object({ dropAfter: dateTime, droppedAt: dateTime.nullable() })
    .optional()
    .describe('After the switch: when the index the collection left is dropped (REINDEX_DROP_GRACE_MS after completion), and when it was'),
});
export type ReindexJob = z.output<typeof ReindexJobSchema>;

export const ReindexJobListSchema = z.object({
  jobs: z.array(ReindexJobSchema).describe('Newest first'),
  nextCursor: z.string().nullable(),
});
export type ReindexJobList = z.output<typeof ReindexJobListSchema>;

export function toReindexView(record: ReindexRecord): ReindexJob {
  return {
    jobId: record.jobId,
    status: record.status,
    progress: { done: record.progress.done, total: record.progress.total },
    collection: record.collection,
    embeddingModel: record.spec.embeddingModel,
    dimensions: record.spec.dimensions,
    chunking: { chunkSize: record.spec.chunking.chunkSize, chunkOverlap: record.spec.chunking.chunkOverlap },
    createdAt: record.createdAt,
    startedAt: record.startedAt ?? null,
    // Absent fields stay `undefined`, which JSON leaves out: the same body as leaving the key out.
    finishedAt: record.finishedAt || undefined,
    error: record.error && { code: record.error.code, message: record.error.message },
    oldIndex: record.oldIndex && { dropAfter: record.oldIndex.dropAfter, droppedAt: record.oldIndex.droppedAt ?? null },
  };
}
