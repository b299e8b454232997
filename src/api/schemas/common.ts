import { z } from 'zod';
import type { ErrorCode } from '../../errors';

export const collectionSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore and hyphen only')
  // Names starting with "_" are the service's own (session memory lives in "_sessions").
  .refine((c) => !c.startsWith('_'), 'must not start with "_" (reserved)');

export const metadataValueSchema = z.union([z.string().max(4096), z.number().finite(), z.boolean()]);

/**
 * A zod issue that the error middleware answers with its own catalogue code (and status) instead of `invalid_request`:
 * `params.appCode` names the code. Keeps the bounds in the schemas while clients get a stable code per bound.
 */
export const boundIssue = (appCode: ErrorCode, message: string) => ({ message, params: { appCode } });

export const MAX_METADATA_KEYS = 64;
/**
 * A document's metadata is copied into every chunk row (both stores keep it per chunk, so filters need no join): a
 * 20 MB document makes ~10,000 chunks, so metadata of 256 KB would be ~2.5 GB of rows. 8 KiB keeps the worst case near
 * 80 MB per document while leaving room for dozens of ordinary tags, ids and titles (a typical one is under 500 bytes).
 */
export const MAX_METADATA_BYTES = 8 * 1024;

export const metadataBytes = (m: Record<string, unknown>) => Buffer.byteLength(JSON.stringify(m), 'utf8');

/** Flat on purpose: every key can be filtered on, in both stores, exactly. */
export const metadataSchema = z
  .record(z.string().min(1).max(128), metadataValueSchema)
  .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, boundIssue('metadata_too_large', `at most ${MAX_METADATA_KEYS} metadata keys`))
  .refine(
    (m) => metadataBytes(m) <= MAX_METADATA_BYTES,
    boundIssue('metadata_too_large', `metadata is at most ${MAX_METADATA_BYTES} bytes as JSON`),
  );

export const externalIdSchema = z.string().min(1).max(512);
export const titleSchema = z.string().trim().min(1).max(512);

/** Text that is not just whitespace. */
export const nonBlank = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => s.trim().length > 0, 'must not be empty');

export const cursorLimit = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def);

/**
 * Document ids are made by the service (`doc_` + base36 time + hex, src/ingest/ids.ts); the bound and alphabet refuse
 * anything else before it reaches a store filter or a Redis key.
 */
export const documentIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, underscore and hyphen only');
