import { REINDEX_STATUSES } from '../../reindex/reindex-jobs';
import { DOCUMENT_STATUSES } from '../../stores/document/document-types';
/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of what the API answers. Request schemas are generated from the zod
 * schemas the routes validate with; responses are built by plain view functions (toDocumentView, toSessionView, ...),
 * so they are written out here, in one place, next to each other. Keep them in step with those views.
 */

export type JsonSchema = Record<string, unknown>;

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
const int = (description?: string): JsonSchema => ({ type: 'integer', ...(description ? { description } : {}) });
const num = (description?: string): JsonSchema => ({ type: 'number', ...(description ? { description } : {}) });
const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
const obj = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  required,
});
const arrayOf = (items: JsonSchema): JsonSchema => ({ type: 'array', items });

const metadata: JsonSchema = {
  type: 'object',
  description: 'Flat metadata: string, number and boolean values',
  additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
};

/** Chunk and search-hit metadata: the document's metadata plus where the chunk sits in it. */
const chunkMetadata: JsonSchema = {
  type: 'object',
  properties: { pages: arrayOf(int('1-based page number')), headingPath: arrayOf(str()) },
  additionalProperties: true,
};

const codeAndMessage = obj({ code: str(), message: str() });

const citation = obj({
  marker: str('"1", "2", ... as the answer cites them'),
  documentId: str(),
  chunkId: str(),
  title: str(),
  score: num(),
  snippet: str(),
});

const contextBreakdown = obj({
  budget: int('Tokens the prompt may use'),
  used: int('Tekken tokens of the built prompt, never above budget'),
  parts: obj(Object.fromEntries(['system', 'summary', 'recalled', 'retrieved', 'window', 'question'].map((p) => [p, int()]))),
});

export const responseSchemas: Record<string, JsonSchema> = {
  Error: obj({
    error: obj(
      {
        code: str('Stable snake_case code clients branch on'),
        message: str('A human sentence'),
        details: {
          type: 'object',
          additionalProperties: true,
          description: 'Structured detail, e.g. the failing fields of invalid_request',
        },
      },
      ['code', 'message'],
    ),
  }),
  Document: obj(
    {
      id: str(),
      collection: str(),
      title: str(),
      status: { type: 'string', enum: [...DOCUMENT_STATUSES] },
      progress: obj({
        stage: { type: 'string', enum: ['queued', 'parsing', 'chunking', 'embedding', 'indexing', 'done', 'failed'] },
        done: int(),
        total: int(),
      }),
      chunkCount: int(),
      contentHash: str(),
      bytes: int(),
      mimeType: str(),
      metadata,
      externalId: str(),
      version: int('Bumped by every replacement or reindex'),
      error: codeAndMessage,
      ocr: obj({
        pages: arrayOf(int('A page read by OCR (1-based; an image is page 1)')),
        meanConfidence: num("tesseract's mean word confidence, 0-100"),
      }),
      createdAt: dateTime,
      updatedAt: dateTime,
      indexedAt: dateTime,
      duplicate: { type: 'boolean', description: 'Only on POST /documents: the same content was already there (200)' },
    },
    [
      'id',
      'collection',
      'title',
      'status',
      'progress',
      'chunkCount',
      'contentHash',
      'bytes',
      'mimeType',
      'metadata',
      'version',
      'createdAt',
      'updatedAt',
    ],
  ),
  DocumentList: obj({ documents: arrayOf(ref('Document')), nextCursor: nullable(str()) }),
  BulkDocumentsAccepted: obj({
    documents: arrayOf(obj({ id: str(), status: str(), duplicate: { type: 'boolean' } }, ['id', 'status'])),
  }),
  ChunkList: obj({
    chunks: arrayOf(obj({ id: str(), index: int(), text: str(), tokenCount: int(), metadata: chunkMetadata })),
    nextCursor: nullable(str()),
  }),
  DocumentReindexAccepted: obj({ jobId: str(), documentId: str(), version: int() }),
  SearchResults: obj({
    results: arrayOf(
      obj(
        {
          chunkId: str(),
          documentId: str(),
          title: str(),
          text: str(),
          score: num(),
          chunkIndex: int(),
          chunkIds: { ...arrayOf(str()), description: 'Only with mergeAdjacent: the chunks merged into this hit' },
          metadata: chunkMetadata,
        },
        ['chunkId', 'documentId', 'title', 'text', 'score', 'chunkIndex', 'metadata'],
      ),
    ),
  }),
  Session: obj({
    id: str(),
    collection: str(),
    systemPrompt: nullable(str()),
    maxContextTokens: nullable(int()),
    createdAt: dateTime,
    updatedAt: dateTime,
    messageCount: int(),
    lastSeq: int(),
    summary: nullable(obj({ text: str(), coversThroughSeq: int(), tokenCount: int(), updatedAt: dateTime })),
    recallIndexedThroughSeq: int(),
    metadata,
  }),
  Message: obj(
    {
      id: str(),
      seq: int(),
      role: { type: 'string', enum: ['user', 'assistant'] },
      content: str(),
      createdAt: dateTime,
      citations: arrayOf(citation),
      model: str(),
      usage: obj({ promptTokens: int(), completionTokens: int(), costUsd: num() }, ['promptTokens', 'completionTokens']),
    },
    ['id', 'seq', 'role', 'content', 'createdAt'],
  ),
  MessageList: obj({ messages: arrayOf(ref('Message')), nextBeforeSeq: nullable(int()) }),
  MessagesAppended: obj({ appended: int(), lastSeq: int() }),
  ContextBreakdown: contextBreakdown,
  AskAnswer: obj({
    answer: str(),
    messageId: str(),
    citations: arrayOf(citation),
    context: ref('ContextBreakdown'),
    usage: obj({ promptTokens: int(), completionTokens: int(), costUsd: num() }, ['promptTokens', 'completionTokens']),
    model: str(),
  }),
  ContextPreview: obj({
    messages: arrayOf(obj({ role: { type: 'string', enum: ['system', 'user', 'assistant'] }, content: str() })),
    context: ref('ContextBreakdown'),
    citations: arrayOf(citation),
    windowSeqs: arrayOf(int()),
    recalledSeqs: arrayOf(int()),
    summaryCoversThroughSeq: nullable(int()),
  }),
  ReindexJobList: obj({ jobs: arrayOf(ref('ReindexJob')), nextCursor: nullable(str()) }),
  ReindexJob: obj(
    {
      jobId: str(),
      status: { type: 'string', enum: [...REINDEX_STATUSES] },
      progress: obj({ done: int(), total: int() }),
      collection: str(),
      embeddingModel: str(),
      dimensions: int(),
      chunking: obj({ chunkSize: int(), chunkOverlap: int() }),
      createdAt: dateTime,
      startedAt: nullable(dateTime),
      finishedAt: dateTime,
      error: codeAndMessage,
      oldIndex: {
        ...obj({ dropAfter: dateTime, droppedAt: nullable(dateTime) }, ['dropAfter', 'droppedAt']),
        description:
          'After the switch: when the index the collection left is dropped (REINDEX_DROP_GRACE_MS after completion), and when it was',
      },
    },
    ['jobId', 'status', 'progress', 'collection', 'embeddingModel', 'dimensions', 'chunking', 'createdAt', 'startedAt'],
  ),
  Usage: obj({
    from: str('UTC day, YYYY-MM-DD'),
    to: str('UTC day, YYYY-MM-DD'),
    usage: arrayOf(obj({ day: str(), model: str(), promptTokens: int(), completionTokens: int(), costUsd: num(), calls: int() })),
    totals: obj({ promptTokens: int(), completionTokens: int(), costUsd: num(), calls: int() }),
    storage: obj({
      documents: int('documents the tenant holds now'),
      bytes: int('bytes of their current sources'),
      reindexJobs: int('reindex jobs queued or running'),
      quotas: obj({
        documents: int('TENANT_MAX_DOCUMENTS (0: none)'),
        bytes: int('TENANT_MAX_BYTES (0: none)'),
        reindexJobs: int('TENANT_MAX_REINDEX_JOBS (0: none)'),
      }),
    }),
  }),
  Health: obj({ status: { const: 'ok' } }),
  Readiness: obj(
    {
      status: { type: 'string', enum: ['ready', 'not_ready'] },
      checks: obj({ redis: str('"ok" or "unavailable: <reason>"'), vectorStore: str('"ok" or "unavailable: <reason>"') }),
    },
    ['status'],
  ),
};

/** How the SSE variant of POST /sessions/{id}/ask is framed (OpenAPI has no schema language for event streams). */
export const ASK_EVENT_STREAM_DESCRIPTION = [
  'Server-Sent Events, in order: `context` (a ContextBreakdown), `delta` (`{"text"}`, many), then `done` (the same JSON',
  'as the plain answer, an AskAnswer) or `error` (`{"code", "message"}`). Failures before the first event answer with',
  'their HTTP status and the error envelope instead.',
].join(' ');
