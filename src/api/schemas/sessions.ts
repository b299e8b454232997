import { z } from 'zod';
import { collectionSchema, metadataSchema, nonBlank } from './common';
import { diversitySchema, searchFilterSchema } from './search';

/** Session ids are chosen by clients (their own conversation ids), so allow the usual id alphabets. */
export const sessionIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'letters, digits and . _ : @ - only');

export const sessionIdParam = z.object({ id: sessionIdSchema });

const maxContextTokensSchema = z.number().int().min(1).max(10_000_000);

export const createSessionSchema = z.strictObject({
  id: sessionIdSchema.optional(),
  systemPrompt: nonBlank(32_000).optional(),
  collection: collectionSchema.optional(),
  metadata: metadataSchema.optional(),
  maxContextTokens: maxContextTokensSchema.optional(),
});

export const listMessagesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  beforeSeq: z.coerce.number().int().min(1).optional(),
});

export const importMessagesSchema = z.strictObject({
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['user', 'assistant']),
        content: nonBlank(100_000),
        createdAt: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .min(1),
});

/** The body of ask and of context (the same question, without calling the model). Question size is checked first (413). */
export const askSchema = z.strictObject({
  question: z.string().refine((s) => s.trim().length > 0, 'must not be empty'),
  k: z.number().int().min(0).max(50).default(8),
  collection: collectionSchema.optional(),
  filter: searchFilterSchema.optional(),
  // No mergeAdjacent here: the context builder always merges consecutive chunks (context/retrieved.ts).
  diversity: diversitySchema.optional(),
  maxContextTokens: maxContextTokensSchema.optional(),
  model: z.string().min(1).max(128).optional(),
  stream: z.boolean().optional(),
});
