import type { Request } from 'express';
import multer from 'multer';
import { AppError, invalidRequest, notFound, tooLarge } from '../../errors';
import { forEachConcurrently } from '../../infra/pool';
import { addDocument, type AddDocumentResult, type NewDocument } from '../../ingest/add-document';
import { addDocuments } from '../../ingest/add-documents';
import { serverTimingHeader, timed, type StageTimings } from '../../infra/stage-timings';
import { deleteDocument } from '../../ingest/delete-document';
import { reindexDocument } from '../../ingest/reindex-document';
import { detectFormat } from '../../ingest/parsers/detect-format';
import { decodeUtf8Strict } from '../../ingest/parsers/decode-text';
import type { IngestJob } from '../../queues/ingest-queue';
import { tenantOf } from '../middleware/auth';
import { DEFAULT_COLLECTION } from '../../core/collections';
import { BINARY_FORMATS } from '../../core/parsed-document';
import {
  bulkDocumentsSchema,
  documentIdParam,
  jsonDocumentSchema,
  listChunksQuery,
  listDocumentsQuery,
  uploadFieldsSchema,
} from '../schemas/documents';
import type { AppDeps } from '../app-deps';
import {
  toChunkView,
  toDocumentView,
  type BulkDocumentsAccepted,
  type ChunkList,
  type DocumentList,
  type DocumentView,
  type DocumentReindexAccepted,
} from '../views/document-views';
import { listedRouter, type ListedRouter } from './listed-router';

/** How many bulk documents with an externalId are recorded at once (each is a file write and a few Redis calls). */
const BULK_PARALLELISM = 64;

export function documentsRouter(deps: AppDeps): ListedRouter {
  const router = listedRouter();
  const upload = multer({
    storage: multer.memoryStorage(),
    // Framing bounds: one file, a few small fields, few header pairs per part (busboy caps a part's header block at
    // 16 KiB by itself); anything past them is 400 invalid_multipart before more of the body is read.
    limits: {
      fileSize: deps.config.limits.maxUploadBytes,
      files: 1,
      fields: 16,
      fieldSize: 64 * 1024,
      parts: 17,
      fieldNameSize: 128,
      headerPairs: 16,
    },
  });

  const countOutcome = (result: AddDocumentResult) => deps.metrics.documentsTotal.inc({ outcome: result.kind });
  /** A duplicate of a version still `queued` may have lost its job to a Redis failure: queued again (see ensureQueued). */
  const requeueStranded = (results: AddDocumentResult[]) => {
    // Each document once, and none this request just queued (a text repeated within a bulk request).
    const queuedHere = new Set(results.flatMap((r) => (r.kind === 'duplicate' ? [] : [r.doc.id])));
    const stranded = new Map(
      results.flatMap((r) =>
        r.kind === 'duplicate' && r.doc.status === 'queued' && !queuedHere.has(r.doc.id) ? [[r.doc.id, r.doc] as const] : [],
      ),
    );
    return forEachConcurrently([...stranded.values()], BULK_PARALLELISM, (doc) =>
      deps.producer.ensureQueued({
        tenant: doc.tenant,
        documentId: doc.id,
        version: doc.version,
        reason: doc.version === 1 ? 'upload' : 'replace',
      }),
    );
  };
  const answer = (result: AddDocumentResult) => {
    countOutcome(result);
    const view = toDocumentView(result.doc);
    return result.kind === 'duplicate'
      ? { status: 200, body: { ...view, duplicate: true } satisfies DocumentView }
      : { status: 202, body: view };
  };

  router.post('/documents', async (req, res) => {
    if (req.is('multipart/form-data')) {
      await new Promise<void>((resolve, reject) => upload.single('file')(req, res, (err) => (err ? reject(err) : resolve())));
    } else if (!req.is('application/json')) {
      throw new AppError('unsupported_media_type', 'Send multipart/form-data with a "file" field, or application/json with "text"');
    }
    if (req.is('multipart/form-data') && !req.file) {
      // Fields alone (e.g. the text sent as a field): a multipart upload is a file.
      throw new AppError('invalid_multipart', 'A multipart upload needs its document as a file part named "file"');
    }
    const input = req.file ? fromUpload(req, tenantOf(res)) : fromJson(req.body, tenantOf(res));
    const result = await addDocument(deps, input);
    if (result.kind !== 'duplicate') await deps.producer.enqueue(result.job);
    else await requeueStranded([result]);
    const { status, body } = answer(result);
    res.status(status).json(body);
  });

  router.post('/documents/bulk', async (req, res) => {
    const max = deps.config.limits.maxBulkDocuments;
    const count = Array.isArray(req.body?.documents) ? req.body.documents.length : 0;
    if (count > max) {
      throw tooLarge('too_many_documents', `A bulk request holds at most ${max} documents; split it (got ${count})`, { max, got: count });
    }
    const body = bulkDocumentsSchema.parse(req.body);
    const tenant = tenantOf(res);
    const collection = body.collection ?? DEFAULT_COLLECTION;
    const results: AddDocumentResult[] = new Array(body.documents.length);
    // A text repeated within the request is a duplicate of its first occurrence, decided here so the answer follows
    // input order.
    const firstOf = new Map<string, number>();
    const firsts = body.documents.flatMap((d, i) => (firstOf.has(d.text) ? [] : (firstOf.set(d.text, i), [i])));
    const input = (i: number) => ({ ...describedBy(tenant, { ...body.documents[i], collection }), ...plainText(body.documents[i].text) });
    // Documents without an externalId are recorded as one batch; those with one may replace an existing document and
    // go one at a time (bounded parallelism). The first failure (a quota reached, Redis gone) stops the rest, and the
    // documents recorded before it are still queued: none is left recorded but never processed, and sending the
    // request again answers them as duplicates.
    const timings: StageTimings = {};
    const batched = firsts.filter((i) => body.documents[i].externalId === undefined);
    const single = firsts.filter((i) => body.documents[i].externalId !== undefined);
    let failure: { error: unknown } | undefined;
    try {
      const batch = await addDocuments(deps, batched.map(input), timings);
      batch.results.forEach((r, j) => r && (results[batched[j]] = r));
      if (batch.refused) failure = { error: batch.refused };
    } catch (error) {
      failure = { error };
    }
    await forEachConcurrently(single, BULK_PARALLELISM, async (i) => {
      if (failure) return;
      try {
        results[i] = await addDocument(deps, input(i));
      } catch (error) {
        failure ??= { error };
      }
    });
    if (failure) {
      await deps.producer.enqueueMany(results.flatMap((r): IngestJob[] => (r && r.kind !== 'duplicate' ? [r.job] : [])));
      throw failure.error;
    }
    body.documents.forEach((d, i) => {
      results[i] ??= { kind: 'duplicate', doc: results[firstOf.get(d.text)!].doc };
    });
    const jobs = results.flatMap((r): IngestJob[] => (r.kind === 'duplicate' ? [] : [r.job]));
    await timed(timings, 'queue', async () => {
      await deps.producer.enqueueMany(jobs);
      await requeueStranded(results);
    });
    res.setHeader('Server-Timing', serverTimingHeader(timings));
    const documents = results.map((r): BulkDocumentsAccepted['documents'][number] => {
      countOutcome(r);
      return { id: r.doc.id, status: r.doc.status, duplicate: r.kind === 'duplicate' || undefined };
    });
    res.status(202).json({ documents } satisfies BulkDocumentsAccepted);
  });

  router.get('/documents', async (req, res) => {
    const q = listDocumentsQuery.parse(req.query);
    const page = await deps.documents.list(tenantOf(res), q);
    res.json({ documents: page.documents.map(toDocumentView), nextCursor: page.nextCursor } satisfies DocumentList);
  });

  router.get('/documents/:id', async (req, res) => {
    const id = documentIdParam.parse(req.params.id);
    const doc = await deps.documents.get(tenantOf(res), id);
    if (!doc) throw notFound('Document', id);
    res.json(toDocumentView(doc));
  });

  router.get('/documents/:id/chunks', async (req, res) => {
    const id = documentIdParam.parse(req.params.id);
    const q = listChunksQuery.parse(req.query);
    const tenant = tenantOf(res);
    const doc = await deps.documents.get(tenant, id);
    if (!doc) throw notFound('Document', id);
    if (doc.indexedVersion === undefined) return res.json({ chunks: [], nextCursor: null } satisfies ChunkList);
    const from = q.cursor ?? 0;
    const { store } = await deps.indexes.live(tenant, doc.collection);
    const chunks = await store.listChunks(tenant, id, doc.indexedVersion, from, q.limit);
    const last = chunks.at(-1);
    res.json({
      chunks: chunks.map(toChunkView),
      nextCursor: last && chunks.length === q.limit && last.chunkIndex + 1 < doc.chunkCount ? String(last.chunkIndex + 1) : null,
    } satisfies ChunkList);
  });

  router.delete('/documents/:id', async (req, res) => {
    await deleteDocument(deps, tenantOf(res), documentIdParam.parse(req.params.id));
    res.status(204).end();
  });

  router.post('/documents/:id/reindex', async (req, res) => {
    const job = await reindexDocument(deps, tenantOf(res), documentIdParam.parse(req.params.id));
    const jobId = await deps.producer.enqueue(job);
    res.status(202).json({ jobId, documentId: job.documentId, version: job.version } satisfies DocumentReindexAccepted);
  });

  return router;
}

function fromUpload(req: Request, tenant: string): NewDocument {
  const file = req.file!;
  const fields = uploadFieldsSchema.parse(req.body ?? {});
  if (file.size === 0) throw new AppError('empty_document', 'The uploaded file is empty');
  const format = detectFormat(file.originalname, file.mimetype, file.buffer.subarray(0, 1024));
  if (!format) {
    throw new AppError(
      'unsupported_media_type',
      `Unsupported file type "${file.mimetype}" (${file.originalname}): send PDF, Word (.docx), Markdown, plain text, HTML, or a PNG, JPEG or TIFF image`,
      {
        mimeType: file.mimetype,
        filename: file.originalname,
      },
    );
  }
  if (!BINARY_FORMATS.has(format)) {
    const text = decodeUtf8Strict(file.buffer);
    if (text.trim() === '') throw new AppError('empty_document', 'The uploaded file has no text');
  }
  return { ...describedBy(tenant, fields), bytes: file.buffer, mimeType: file.mimetype, format, filename: file.originalname };
}

function fromJson(body: unknown, tenant: string): NewDocument {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) {
    throw invalidRequest('The request body is empty: send {"text": "..."} or a multipart "file"');
  }
  const doc = jsonDocumentSchema.parse(body);
  return { ...describedBy(tenant, doc), ...plainText(doc.text) };
}

/** The fields every way of sending a document shares. */
function describedBy(
  tenant: string,
  fields: { collection?: string; title?: string; metadata?: NewDocument['metadata']; externalId?: string },
): Pick<NewDocument, 'tenant' | 'collection' | 'title' | 'metadata' | 'externalId'> {
  return {
    tenant,
    collection: fields.collection ?? DEFAULT_COLLECTION,
    title: fields.title,
    metadata: fields.metadata,
    externalId: fields.externalId,
  };
}

/** JSON text is stored and parsed as plain text. */
const plainText = (text: string) => ({ bytes: Buffer.from(text, 'utf8'), mimeType: 'text/plain', format: 'text' as const });
