import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DocumentStore } from '../stores/document/document-store';
import { queuedState, type DocumentRecord } from '../stores/document/document-types';
import type { SourceStore } from '../stores/document/source-store';
import type { MetadataValue } from '../stores/vector/vector-store';
import type { IngestJob } from '../queues/ingest-queue';
import { newDocumentId } from './ids';
import type { SourceFormat } from '../core/parsed-document';

export interface NewDocument {
  tenant: string;
  collection: string;
  title?: string;
  metadata?: Record<string, MetadataValue>;
  externalId?: string;
  bytes: Buffer;
  mimeType: string;
  format: SourceFormat;
  /** For a title when none is given. */
  filename?: string;
}

export interface AddDocumentDeps {
  documents: DocumentStore;
  sources: SourceStore;
  logger: Logger;
}

export type AddDocumentResult =
  { kind: 'created' | 'replaced'; doc: DocumentRecord; job: IngestJob } | { kind: 'duplicate'; doc: DocumentRecord };

export const contentHash = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Records a document and stores its source; the caller enqueues the returned job (one at a time or in bulk).
 * Same content in the same tenant and collection answers the existing document; the same externalId with new
 * content replaces the old version, which keeps serving search until the new one is indexed.
 */
export async function addDocument(deps: AddDocumentDeps, input: NewDocument): Promise<AddDocumentResult> {
  const hash = contentHash(input.bytes);
  if (input.externalId !== undefined) {
    const existing = await deps.documents.findByExternalId(input.tenant, input.collection, input.externalId);
    if (existing) return replaceContent(deps, existing, input, hash);
  }

  // The same content again is answered before anything is written, so it is never refused by a quota it does not use.
  // (Two first uploads racing are settled by the hash claim below.)
  const same = await deps.documents.holderOfHash(input.tenant, input.collection, hash);
  if (same) return { kind: 'duplicate', doc: same };

  const id = newDocumentId();
  const doc = newDocumentRecord(input, id, hash);
  // Source first, record second, claims last: a claim that loses a race leaves nothing behind but our own rows.
  await deps.sources.putOriginal(doc.tenant, id, 1, input.bytes);
  if (input.externalId === undefined) return createWithClaim(deps, doc);
  // With an externalId, three steps (its claim may turn this upload into a replacement).
  // Refused (a quota) or failed: the stored source would belong to nothing.
  await withSourceUndo(deps, doc.tenant, id, 1, () => deps.documents.create(doc));
  const holder = await deps.documents.claimHash(doc.tenant, doc.collection, hash, id);
  if (holder) {
    await discard(deps, doc);
    const existing = await deps.documents.get(doc.tenant, holder);
    if (existing) return { kind: 'duplicate', doc: existing };
  }
  const owner = await deps.documents.claimExternalId(doc.tenant, doc.collection, input.externalId, id);
  if (owner) {
    // A concurrent upload with this externalId won: become a replacement of its document instead.
    await discard(deps, doc);
    const winner = await deps.documents.get(doc.tenant, owner);
    if (winner) return replaceContent(deps, winner, input, hash);
  }
  return { kind: 'created', doc, job: { tenant: doc.tenant, documentId: id, version: 1, reason: 'upload' } };
}

/**
 * Records a new document and claims its content in one script (the bulk path's, for one record), so no failure can
 * come between the two: a Redis failing over between two round trips left a record without its claim, and the
 * client's retry then made a second document of the same content while the first stayed queued forever.
 */
async function createWithClaim(deps: AddDocumentDeps, doc: DocumentRecord): Promise<AddDocumentResult> {
  const { outcomes, refused } = await withSourceUndo(deps, doc.tenant, doc.id, 1, () => deps.documents.createMany([{ doc }]));
  const outcome = outcomes[0];
  if (outcome?.kind === 'created')
    return { kind: 'created', doc, job: { tenant: doc.tenant, documentId: doc.id, version: 1, reason: 'upload' } };
  // Another upload claimed the content first (the script wrote nothing of ours), or a quota refused it.
  await deps.sources.removeVersion(doc.tenant, doc.id, 1).catch(() => undefined);
  if (outcome?.kind === 'duplicate') return { kind: 'duplicate', doc: outcome.holder };
  throw refused ?? new Error('createMany answered nothing for its one record');
}

/** The record of a new document's first version, queued. */
export function newDocumentRecord(input: NewDocument, id: string, hash: string): DocumentRecord {
  const now = new Date().toISOString();
  return {
    id,
    tenant: input.tenant,
    collection: input.collection,
    title: titleOf(input),
    ...queuedState(),
    chunkCount: 0,
    contentHash: hash,
    bytes: input.bytes.length,
    mimeType: input.mimeType,
    format: input.format,
    metadata: input.metadata ?? {},
    externalId: input.externalId,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

async function replaceContent(
  deps: AddDocumentDeps,
  existing: DocumentRecord,
  input: NewDocument,
  hash: string,
): Promise<AddDocumentResult> {
  if (existing.contentHash === hash) return { kind: 'duplicate', doc: existing };
  const version = existing.version + 1;
  await deps.sources.putOriginal(existing.tenant, existing.id, version, input.bytes);
  const doc = await withSourceUndo(deps, existing.tenant, existing.id, version, () =>
    deps.documents.update(
      existing.tenant,
      existing.id,
      () => ({
        version,
        contentHash: hash,
        bytes: input.bytes.length,
        mimeType: input.mimeType,
        format: input.format,
        title: titleOf(input),
        metadata: input.metadata ?? existing.metadata,
        ...queuedState(),
      }),
      { expectVersion: existing.version },
    ),
  );
  if (!doc) {
    // Deleted or replaced by someone else in the meantime: treat this upload as new.
    return addDocument(deps, input);
  }
  await deps.documents.releaseHash(doc.tenant, doc.collection, existing.contentHash, doc.id);
  await deps.documents.claimHash(doc.tenant, doc.collection, hash, doc.id);
  return { kind: 'replaced', doc, job: { tenant: doc.tenant, documentId: doc.id, version, reason: 'replace' } };
}

/** Runs the record write that makes a just-stored source version count; if it throws, the version is removed again. */
async function withSourceUndo<T>(deps: AddDocumentDeps, tenant: string, id: string, version: number, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    await deps.sources.removeVersion(tenant, id, version).catch(() => undefined);
    throw err;
  }
}

/** Undoes a new document that lost a claim: its record (held here) and its one stored version. */
async function discard(deps: AddDocumentDeps, doc: DocumentRecord) {
  await deps.documents.remove(doc.tenant, doc.id, doc);
  await deps.sources.removeVersion(doc.tenant, doc.id, doc.version);
}

const titleOf = (input: NewDocument) => input.title ?? input.filename ?? deriveTitle(input);

function deriveTitle(input: NewDocument): string {
  if (input.format === 'pdf') return 'Untitled PDF';
  const firstLine =
    input.bytes
      .subarray(0, 400)
      .toString('utf8')
      .split('\n')
      .find((l) => l.trim() !== '') ?? '';
  const cleaned = firstLine
    .replace(/^#+\s*/, '')
    .replace(/\uFFFD/g, '')
    .trim();
  return cleaned.slice(0, 120) || 'Untitled';
}
