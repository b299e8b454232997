import pkg from '../../../package.json';
import {
  bulkDocumentsSchema,
  documentIdParam,
  jsonDocumentSchema,
  listChunksQuery,
  listDocumentsQuery,
  uploadFieldsSchema,
} from '../schemas/documents';
import { listReindexQuery, reindexBodySchema, reindexJobIdParam } from '../schemas/reindex';
import { usageQuery } from '../schemas/usage';
import { searchBodySchema } from '../schemas/search';
import { askSchema, createSessionSchema, importMessagesSchema, listMessagesQuery, sessionIdParam } from '../schemas/sessions';
import { askEventStreamMediaType, buildResponseSchemas, type ResponseComponent } from './response-components';
import { pathParameter, queryParameters, requestSchema, type JsonSchema } from './zod-json-schema';

/**
 * The OpenAPI 3.1 description of the whole HTTP API (served at GET /openapi.json, shown at GET /docs). Request bodies
 * and parameters come from the zod schemas the routes parse with; responses from the zod views the routes' answers are
 * typed by (src/api/views/, through response-components.ts). Built once at startup. test/component/operations.test.ts
 * fails when the app mounts a route this document does not list; test/component/openapi-responses.test.ts when a
 * documented status has no probe, or a real answer does not match its schema.
 */

export const ADMIN_QUEUES_PATH = '/admin/queues';

type Operation = Record<string, unknown>;
type PathItem = Partial<Record<'get' | 'post' | 'delete', Operation>>;

const ref = (name: ResponseComponent) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const ok = (description: string, schemaName: ResponseComponent) => ({ description, content: json(ref(schemaName)) });
const errorRef = (name: string) => ({ $ref: `#/components/responses/${name}` });
const PUBLIC: never[] = [];

/** The error answers most tenant routes share (429: the key's requests per second); each operation adds its own. */
const commonErrors = {
  '400': errorRef('BadRequest'),
  '401': errorRef('Unauthorized'),
  '429': errorRef('RateLimited'),
  '503': errorRef('Unavailable'),
};
const withQuota = { '403': errorRef('QuotaExceeded') };
const withNotFound = { ...commonErrors, '404': errorRef('NotFound') };

const documentId = pathParameter('id', documentIdParam, 'Document id');
const sessionId = pathParameter('id', sessionIdParam, 'Session id, chosen by the client or generated');
const reindexJobId = pathParameter('jobId', reindexJobIdParam, 'Reindex job id');

const jsonBody = (schema: Parameters<typeof requestSchema>[0], required = true) => ({ required, content: json(requestSchema(schema)) });

/** The multipart form: the upload fields' schema plus the file (metadata arrives as a JSON string there). */
function uploadSchema(): JsonSchema {
  const fields = requestSchema(uploadFieldsSchema) as { properties: Record<string, JsonSchema> };
  return {
    ...fields,
    properties: {
      file: {
        type: 'string',
        format: 'binary',
        contentMediaType: 'application/octet-stream',
        description:
          'PDF (scans read by OCR), Word (.docx), Markdown, plain text, HTML, or a PNG, JPEG or TIFF photo of a page (detected from the bytes, the file name and the type)',
      },
      ...fields.properties,
      metadata: { type: 'string', description: 'A flat JSON object encoded as a string' },
    },
    required: ['file'],
  };
}

function documentPaths(): Record<string, PathItem> {
  return {
    '/documents': {
      post: {
        tags: ['Documents'],
        operationId: 'addDocument',
        summary: 'Add a document (a file, or JSON text); ingestion runs in the background',
        requestBody: {
          required: true,
          content: {
            ...json(requestSchema(jsonDocumentSchema)),
            'multipart/form-data': { schema: uploadSchema() },
          },
        },
        responses: {
          '202': ok('Queued for ingestion', 'Document'),
          '200': ok('The same content is already in this collection (`duplicate: true`); nothing was added', 'Document'),
          ...commonErrors,
          ...withQuota,
          '413': errorRef('PayloadTooLarge'),
          '415': errorRef('UnsupportedMediaType'),
        },
      },
      get: {
        tags: ['Documents'],
        operationId: 'listDocuments',
        summary: 'List documents, newest first',
        parameters: queryParameters(listDocumentsQuery),
        responses: { '200': ok('A page of documents', 'DocumentList'), ...commonErrors },
      },
    },
    '/documents/bulk': {
      post: {
        tags: ['Documents'],
        operationId: 'addDocuments',
        summary: 'Add up to 1,000 JSON documents at once; answers in input order',
        requestBody: jsonBody(bulkDocumentsSchema),
        responses: {
          '202': ok('Queued (duplicates marked)', 'BulkDocumentsAccepted'),
          ...commonErrors,
          ...withQuota,
          '413': errorRef('PayloadTooLarge'),
        },
      },
    },
    '/documents/{id}': {
      get: {
        tags: ['Documents'],
        operationId: 'getDocument',
        summary: 'A document with its ingestion status and progress',
        parameters: [documentId],
        responses: { '200': ok('The document', 'Document'), ...withNotFound },
      },
      delete: {
        tags: ['Documents'],
        operationId: 'deleteDocument',
        summary: 'Delete a document; its chunks leave search before the answer',
        parameters: [documentId],
        responses: { '204': { description: 'Deleted' }, ...withNotFound },
      },
    },
    '/documents/{id}/chunks': {
      get: {
        tags: ['Documents'],
        operationId: 'listChunks',
        summary: 'The indexed chunks of a document, in order',
        parameters: [documentId, ...queryParameters(listChunksQuery)],
        responses: { '200': ok('A page of chunks', 'ChunkList'), ...withNotFound },
      },
    },
    '/documents/{id}/reindex': {
      post: {
        tags: ['Documents'],
        operationId: 'reindexDocument',
        summary: 'Parse, chunk and embed a document again from its stored source',
        parameters: [documentId],
        responses: { '202': ok('Queued', 'DocumentReindexAccepted'), ...withNotFound },
      },
    },
  };
}

function searchPaths(): Record<string, PathItem> {
  return {
    '/search': {
      post: {
        tags: ['Search'],
        operationId: 'search',
        summary: 'Hybrid, dense or keyword search over a collection, best first',
        requestBody: jsonBody(searchBodySchema),
        responses: { '200': ok('Hits, best first', 'SearchResults'), ...commonErrors },
      },
    },
  };
}

function sessionPaths(): Record<string, PathItem> {
  const askBody = jsonBody(askSchema);
  const askErrors = { ...commonErrors, '413': errorRef('PayloadTooLarge') };
  return {
    '/sessions': {
      post: {
        tags: ['Sessions'],
        operationId: 'createSession',
        summary: 'Create a session (asking on an unknown id also creates it)',
        requestBody: jsonBody(createSessionSchema, false),
        responses: { '201': ok('Created', 'Session'), ...commonErrors, '409': errorRef('Conflict') },
      },
    },
    '/sessions/{id}': {
      get: {
        tags: ['Sessions'],
        operationId: 'getSession',
        summary: 'A session, its summary and memory progress',
        parameters: [sessionId],
        responses: { '200': ok('The session', 'Session'), ...withNotFound },
      },
      delete: {
        tags: ['Sessions'],
        operationId: 'deleteSession',
        summary: 'Delete a session with its messages, summary and recall vectors',
        parameters: [sessionId],
        responses: { '204': { description: 'Deleted' }, ...withNotFound },
      },
    },
    '/sessions/{id}/messages': {
      get: {
        tags: ['Sessions'],
        operationId: 'listMessages',
        summary: 'Messages, newest first',
        parameters: [sessionId, ...queryParameters(listMessagesQuery)],
        responses: { '200': ok('A page of messages', 'MessageList'), ...withNotFound },
      },
      post: {
        tags: ['Sessions'],
        operationId: 'importMessages',
        summary: 'Append history without calling a model',
        parameters: [sessionId],
        requestBody: jsonBody(importMessagesSchema),
        responses: { '201': ok('Appended', 'MessagesAppended'), ...commonErrors, '413': errorRef('PayloadTooLarge') },
      },
    },
    '/sessions/{id}/ask': {
      post: {
        tags: ['Sessions'],
        operationId: 'ask',
        summary: 'Answer a question from the session’s memory and the collection; JSON, or SSE with `stream: true`',
        parameters: [sessionId],
        requestBody: askBody,
        responses: {
          '200': {
            description: 'The stored answer (JSON), or a stream of events (`stream: true` or `Accept: text/event-stream`)',
            content: {
              ...json(ref('AskAnswer')),
              'text/event-stream': askEventStreamMediaType(),
            },
          },
          ...askErrors,
          '409': errorRef('Conflict'),
        },
      },
    },
    '/sessions/{id}/context': {
      post: {
        tags: ['Sessions'],
        operationId: 'previewContext',
        summary: 'What ask would send to the model, without calling it or storing anything',
        parameters: [sessionId],
        requestBody: askBody,
        responses: { '200': ok('The prompt and its breakdown', 'ContextPreview'), ...askErrors },
      },
    },
  };
}

function reindexPaths(): Record<string, PathItem> {
  return {
    '/reindex': {
      post: {
        tags: ['Reindex'],
        operationId: 'startReindex',
        summary: 'Rebuild a collection into a new index (model or chunking); search switches when it is complete',
        requestBody: jsonBody(reindexBodySchema, false),
        responses: { '202': ok('Started', 'ReindexJob'), ...commonErrors, ...withQuota, '409': errorRef('Conflict') },
      },
      get: {
        tags: ['Reindex'],
        operationId: 'listReindexes',
        summary: 'The caller’s reindex jobs, newest first (finished ones are kept 7 days)',
        parameters: queryParameters(listReindexQuery),
        responses: { '200': ok('A page of jobs', 'ReindexJobList'), ...commonErrors },
      },
    },
    '/reindex/{jobId}': {
      get: {
        tags: ['Reindex'],
        operationId: 'getReindex',
        summary: 'Status and progress of a reindex',
        parameters: [reindexJobId],
        responses: { '200': ok('The job', 'ReindexJob'), ...withNotFound },
      },
      delete: {
        tags: ['Reindex'],
        operationId: 'cancelReindex',
        summary: 'Cancel a reindex (409 once it finished)',
        parameters: [reindexJobId],
        responses: { '200': ok('The cancelled job', 'ReindexJob'), ...withNotFound, '409': errorRef('Conflict') },
      },
    },
  };
}

function operationsPaths(): Record<string, PathItem> {
  const text = (description: string, type: string) => ({ description, content: { [type]: { schema: { type: 'string' } } } });
  return {
    '/usage': {
      get: {
        tags: ['Operations'],
        operationId: 'getUsage',
        summary: 'Tokens and cost per model and day for the caller’s tenant',
        parameters: queryParameters(usageQuery),
        responses: { '200': ok('Usage rows and totals', 'Usage'), ...commonErrors },
      },
    },
    '/healthz': {
      get: {
        tags: ['Operations'],
        operationId: 'health',
        summary: 'The process lives',
        security: PUBLIC,
        responses: { '200': ok('Alive', 'Health') },
      },
    },
    '/readyz': {
      get: {
        tags: ['Operations'],
        operationId: 'ready',
        summary: 'Redis and the vector store answer',
        description:
          'Public: answers `{"status"}` with 200 or 503. The `checks` (with their error text) are shown only with ADMIN_API_KEY, ' +
          'or when no key exists at all (auth off, loopback only).',
        security: PUBLIC,
        responses: { '200': ok('Ready', 'Readiness'), '503': ok('A dependency does not answer', 'Readiness') },
      },
    },
    '/metrics': {
      get: {
        tags: ['Operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description:
          'Needs ADMIN_API_KEY (bearer or HTTP Basic password) as soon as any key exists; open only while there are no keys at all.',
        security: [{ adminBearer: [] }, { adminBasic: [] }],
        responses: { '200': text('Prometheus text format', 'text/plain'), '401': errorRef('Unauthorized') },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['Operations'],
        operationId: 'openapi',
        summary: 'This document',
        security: PUBLIC,
        responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
      },
    },
    '/docs': {
      get: {
        tags: ['Operations'],
        operationId: 'docs',
        summary: 'Swagger UI for this document',
        security: PUBLIC,
        responses: { '200': text('HTML', 'text/html') },
      },
    },
    [ADMIN_QUEUES_PATH]: {
      get: {
        tags: ['Operations'],
        operationId: 'queueDashboard',
        summary: 'BullMQ dashboard over every queue and tenant (its UI and JSON API live under this path)',
        description:
          'Needs ADMIN_API_KEY as a bearer token or as the password of HTTP Basic; tenant keys are refused. Without ' +
          'ADMIN_API_KEY: read-only and open while no key exists at all (loopback only), 404 as soon as a key exists.',
        security: [{ adminBearer: [] }, { adminBasic: [] }],
        responses: { '200': text('The dashboard', 'text/html'), '401': errorRef('Unauthorized'), '404': errorRef('NotFound') },
      },
    },
    // src/mcp: its messages are JSON-RPC, described by the MCP spec and docs/mcp.md rather than by a schema here.
    '/mcp': {
      post: {
        tags: ['Agents'],
        operationId: 'mcp',
        summary: 'Model Context Protocol for agents: search_documents, ask, add_document, list_documents, get_session_history',
        description:
          'Streamable HTTP, stateless (no MCP session id), answering JSON. The tools serve the key’s tenant with the ' +
          'inputs and error codes of the routes above; a tool that fails answers 200 with `isError: true` and the error ' +
          'envelope as its text. GET and DELETE answer 405 with a JSON-RPC error (no SSE stream, no session), as the MCP ' +
          'spec has it for stateless servers. See docs/mcp.md.',
        requestBody: {
          required: true,
          description: 'A JSON-RPC 2.0 message of MCP, or a batch of them',
          content: { 'application/json': {} },
        },
        responses: {
          '200': {
            description: 'The JSON-RPC response, or an array of them for a batch',
            content: json({ oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] }),
          },
          '202': { description: 'Notifications only: accepted, no body' },
          ...commonErrors,
          '413': errorRef('PayloadTooLarge'),
          '415': errorRef('UnsupportedMediaType'),
        },
      },
    },
  };
}

function errorResponse(description: string, headers?: Record<string, unknown>) {
  return { description, ...(headers ? { headers } : {}), content: json(ref('Error')) };
}

export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, PathItem> };

export function buildOpenApiDocument(): OpenApiDocument {
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'ragmem',
      version: pkg.version,
      description:
        'Grounded answers and long-term memory for chat applications: ingestion, hybrid retrieval, sessions and context building.',
    },
    // A tenant's API key on every route that does not say otherwise (API_KEYS; with it unset, auth is off).
    security: [{ bearerAuth: [] }],
    tags: ['Documents', 'Search', 'Sessions', 'Reindex', 'Operations'].map((name) => ({ name })),
    paths: { ...documentPaths(), ...searchPaths(), ...sessionPaths(), ...reindexPaths(), ...operationsPaths() },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'A tenant API key from API_KEYS' },
        adminBearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_KEY' },
        adminBasic: { type: 'http', scheme: 'basic', description: 'Any user name, ADMIN_API_KEY as the password' },
      },
      schemas: buildResponseSchemas(),
      responses: {
        BadRequest: errorResponse('invalid_request (with the failing fields in details), invalid_json, or another client error'),
        Unauthorized: errorResponse('unauthorized: no key, or a key that is not valid here'),
        NotFound: errorResponse('not_found (an unknown id), session_not_found or route_not_found'),
        Conflict: errorResponse('The request conflicts with the current state (session_exists, reindex_in_progress, ...)'),
        PayloadTooLarge: errorResponse(
          'payload_too_large or a per-request limit (too_many_documents, too_many_messages, question_too_large)',
        ),
        UnsupportedMediaType: errorResponse('unsupported_media_type'),
        RateLimited: errorResponse(
          "too_many_requests: the key is over KEY_RATE_LIMIT_RPS; rate_limited: a model's budget, or this tenant's share of it, did not free up in time",
          retryAfter,
        ),
        QuotaExceeded: errorResponse(
          "quota_exceeded: the tenant's documents, bytes or running reindex jobs are at their quota; details.quota names which",
        ),
        Unavailable: errorResponse('dependency_unavailable: Redis, the vector store or a model does not answer', retryAfter),
      },
    },
  };
}
