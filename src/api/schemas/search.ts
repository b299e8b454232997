import { z } from 'zod';
import { DEFAULT_MMR_LAMBDA } from '../../search/mmr';
import { collectionSchema, metadataValueSchema, nonBlank } from './common';

export const searchFilterSchema = z.strictObject({
  metadata: z.record(z.string().min(1).max(128), z.union([metadataValueSchema, z.array(metadataValueSchema).min(1).max(100)])).optional(),
  documentIds: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
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
