import { z } from 'zod';

export const DEFAULT_COLLECTION = 'default';

export const collectionSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore and hyphen only')
  // Names starting with "_" are the service's own (session memory lives in "_sessions").
  .refine((c) => !c.startsWith('_'), 'must not start with "_" (reserved)');

export const metadataValueSchema = z.union([z.string().max(4096), z.number().finite(), z.boolean()]);

/** Flat on purpose: every key can be filtered on, in both stores, exactly. */
export const metadataSchema = z
  .record(z.string().min(1).max(128), metadataValueSchema)
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 metadata keys');

export const externalIdSchema = z.string().min(1).max(512);
export const titleSchema = z.string().trim().min(1).max(512);

/** Text that is not just whitespace. */
export const nonBlank = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => s.trim().length > 0, 'must not be empty');

export const cursorLimit = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def);
