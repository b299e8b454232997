import { z } from 'zod';
import { DOCUMENT_STATUSES } from '../../stores/document/document-types';
import { collectionSchema, cursorLimit, documentIdSchema, externalIdSchema, metadataSchema, nonBlank, titleSchema } from './common';

const MAX_TEXT_CHARS = 20_000_000;

export const jsonDocumentSchema = z.strictObject({
  text: nonBlank(MAX_TEXT_CHARS),
  title: titleSchema.optional(),
  collection: collectionSchema.optional(),
  metadata: metadataSchema.optional(),
  externalId: externalIdSchema.optional(),
});

/** Multipart fields arrive as strings; metadata is a JSON object inside a string. */
export const uploadFieldsSchema = z.strictObject({
  title: titleSchema.optional(),
  collection: collectionSchema.optional(),
  externalId: externalIdSchema.optional(),
  metadata: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return undefined;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object encoded as a string' });
        return z.NEVER;
      }
      if (value === null || Array.isArray(value) || typeof value !== 'object') {
        ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object of string, number or boolean values' });
        return z.NEVER;
      }
      const parsed = metadataSchema.safeParse(value);
      if (!parsed.success) {
        // Passed on as they are, so a size bound keeps its own code (metadata_too_large), as in a JSON body.
        for (const issue of parsed.error.issues) {
          const params = (issue as { params?: Record<string, unknown> }).params;
          ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, ...(params ? { params } : {}) });
        }
        return z.NEVER;
      }
      return parsed.data;
    }),
});

export const bulkDocumentsSchema = z.strictObject({
  documents: z
    .array(
      z.strictObject({
        text: nonBlank(MAX_TEXT_CHARS),
        title: titleSchema.optional(),
        metadata: metadataSchema.optional(),
        externalId: externalIdSchema.optional(),
      }),
    )
    .min(1),
  collection: collectionSchema.optional(),
});

export const listDocumentsQuery = z.strictObject({
  collection: collectionSchema.optional(),
  status: z.enum(DOCUMENT_STATUSES).optional(),
  limit: cursorLimit(20, 100),
  cursor: z.string().max(64).optional(),
});

export const listChunksQuery = z.strictObject({
  limit: cursorLimit(50, 200),
  cursor: z.coerce.number().int().min(0).optional(),
});

export const documentIdParam = documentIdSchema;
