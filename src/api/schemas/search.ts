import { z } from 'zod';
import { DEFAULT_MMR_LAMBDA } from '../../search/mmr';
import { boundIssue, collectionSchema, documentIdSchema, metadataValueSchema, nonBlank } from './common';

/**
 * Each metadata key becomes a clause and each value a term of the store's filter (LanceDB SQL, a Qdrant condition):
 * bounded so one request cannot build a filter of thousands of clauses. 32 keys and 256 values in all are far above
 * what a facet UI sends (a handful of keys, tens of values).
 */
export const MAX_FILTER_KEYS = 32;
export const MAX_FILTER_VALUES = 256;

const filterValueCount = (m: Record<string, unknown>) =>
  Object.values(m).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 1), 0);

export const searchFilterSchema = z.strictObject({
  metadata: z
    .record(z.string().min(1).max(128), z.union([metadataValueSchema, z.array(metadataValueSchema).min(1).max(100)]))
    .refine(
      (m) => Object.keys(m).length <= MAX_FILTER_KEYS,
      boundIssue('filter_too_large', `at most ${MAX_FILTER_KEYS} metadata keys in a filter`),
    )
    .refine(
      (m) => filterValueCount(m) <= MAX_FILTER_VALUES,
      boundIssue('filter_too_large', `at most ${MAX_FILTER_VALUES} metadata values in a filter`),
    )
    .optional(),
  documentIds: z.array(documentIdSchema).min(1).max(1000).optional(),
});

/** MMR re-ranking: `{}` for the default lambda; 1 ranks by relevance alone, lower values favour novel hits. */
export const diversitySchema = z.strictObject({
  lambda: z.number().min(0).max(1).default(DEFAULT_MMR_LAMBDA),
});

export const searchBodySchema = z.strictObject({
  query: nonBlank(8000),
  // Up to 100 (api.md said 50): evaluation measures Recall@100, and a reranking client wants a deeper list.
  k: z.number().int().min(1).max(100).default(8),
  collection: collectionSchema.optional(),
  filter: searchFilterSchema.optional(),
  mode: z.enum(['hybrid', 'dense', 'keyword']).default('hybrid'),
  diversity: diversitySchema.optional(),
  mergeAdjacent: z.boolean().default(false),
});
