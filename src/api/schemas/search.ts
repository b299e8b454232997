import { z } from 'zod';
import { collectionSchema, metadataValueSchema, nonBlank } from './common';

export const searchFilterSchema = z.strictObject({
  metadata: z.record(z.string().min(1).max(128), z.union([metadataValueSchema, z.array(metadataValueSchema).min(1).max(100)])).optional(),
  documentIds: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
});

export const searchBodySchema = z.strictObject({
  query: nonBlank(8000),
  k: z.number().int().min(1).max(50).default(8),
  collection: collectionSchema.optional(),
  filter: searchFilterSchema.optional(),
  mode: z.enum(['hybrid', 'dense', 'keyword']).default('hybrid'),
});
