import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import pkg from '../../package.json';
import type { AppDeps } from '../api/app-deps';
import { toAppError } from '../api/middleware/error-handler';
import type { AskSlots } from '../api/middleware/ask-admission';
import { toDocumentView } from '../api/views/document-views';
import { toSearchResultView } from '../api/views/search-views';
import { toAskAnswerView, toMessageView } from '../api/views/session-views';
import { DEFAULT_COLLECTION } from '../core/collections';
import { tooLarge } from '../errors';
import { addDocument } from '../ingest/add-document';
import { searchWithOptions } from '../search/search-options';
import { askSession } from '../sessions/ask';
import { listMessages } from '../sessions/session-history';
import { addDocumentInput, askInput, listDocumentsInput, searchDocumentsInput, sessionHistoryInput } from './mcp-inputs';
import { addDocumentOutput, askOutput, listDocumentsOutput, searchDocumentsOutput, sessionHistoryOutput } from './mcp-outputs';
import { runTool } from './mcp-results';
import { withTenantTurn } from './tenant-turn';

const INSTRUCTIONS =
  'ragmem keeps documents and conversations. search_documents finds passages; ask answers a question in a session ' +
  'from those passages and the conversation so far, with citations; add_document adds text (searchable once its ' +
  'status is "ready": see list_documents); get_session_history reads a conversation back. Errors name a stable code.';

/**
 * The MCP server of one request, for one tenant (taken from its API key by the HTTP auth middleware): each tool calls
 * the use case the HTTP route calls, with the route's own input schema (mcp-inputs.ts), and answers what the route
 * answers (an ask leaves out its context breakdown, which is for tuning, not for the model).
 */
export function createMcpServer(deps: AppDeps, tenant: string, askSlots: AskSlots): McpServer {
  const server = new McpServer({ name: 'ragmem', version: pkg.version }, { instructions: INSTRUCTIONS });
  const turn = <T>(signal: AbortSignal, work: () => Promise<T>) => withTenantTurn(deps.fairScheduler, tenant, signal, work);

  server.registerTool(
    'search_documents',
    {
      title: 'Search documents',
      description: 'Search the documents of a collection; hits come best first, each with its document id, title and text.',
      inputSchema: searchDocumentsInput,
      outputSchema: searchDocumentsOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      runTool(deps.logger, 'search_documents', () =>
        turn(extra.signal, async () => {
          const input = { query: args.query, k: args.k, mode: args.mode, collection: args.collection ?? DEFAULT_COLLECTION };
          const hits = await searchWithOptions(deps, tenant, input, {}, extra.signal);
          return { results: hits.map(toSearchResultView) };
        }),
      ),
  );

  server.registerTool(
    'ask',
    {
      title: 'Ask in a session',
      description:
        'Answer a question from the documents and the conversation so far. The session is created on first use and ' +
        'remembers the question and answer; the answer cites passages as [1], [2], listed in citations.',
      inputSchema: askInput,
      outputSchema: askOutput,
      annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args, extra) =>
      runTool(deps.logger, 'ask', async () => {
        // The same bound as the HTTP route's (routes/sessions.ts), checked before any work, with the same code.
        const max = deps.config.sessions.maxQuestionChars;
        if (args.question.length > max) {
          throw tooLarge('question_too_large', `A question holds at most ${max} characters (got ${args.question.length})`, {
            max,
            got: args.question.length,
          });
        }
        // Bounded with the HTTP asks (MAX_INFLIGHT_ASKS): past it, asks_busy before any work, as the route answers.
        const release = askSlots.take();
        // Counted with the HTTP asks (mode json, stream), as mode "mcp".
        const ended = (outcome: string) => deps.metrics.asksTotal.inc({ mode: 'mcp', outcome });
        try {
          const request = { question: args.question, k: args.k, collection: args.collection };
          const { context: _context, ...answer } = toAskAnswerView(await askSession(deps, tenant, args.sessionId, request, extra.signal));
          ended('answered');
          return { sessionId: args.sessionId, ...answer };
        } catch (err) {
          ended(toAppError(err).code);
          throw err;
        } finally {
          release();
        }
      }),
  );

  server.registerTool(
    'add_document',
    {
      title: 'Add a document',
      description:
        'Add a text document to a collection. Indexing runs in the background: the answer has the document id and ' +
        'its status ("queued"); it is searchable once list_documents shows it "ready". The same text again answers ' +
        'the existing document with duplicate: true.',
      inputSchema: addDocumentInput,
      outputSchema: addDocumentOutput,
      annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args, extra) =>
      runTool(deps.logger, 'add_document', () =>
        turn(extra.signal, async () => {
          // What POST /documents does with a JSON body: stored and parsed as plain text, then queued.
          const result = await addDocument(deps, {
            tenant,
            collection: args.collection ?? DEFAULT_COLLECTION,
            title: args.title,
            metadata: args.metadata,
            bytes: Buffer.from(args.text, 'utf8'),
            mimeType: 'text/plain',
            format: 'text',
          });
          if (result.kind !== 'duplicate') await deps.producer.enqueue(result.job);
          deps.metrics.documentsTotal.inc({ outcome: result.kind });
          return { ...toDocumentView(result.doc), ...(result.kind === 'duplicate' ? { duplicate: true } : {}) };
        }),
      ),
  );

  server.registerTool(
    'list_documents',
    {
      title: 'List documents',
      description: 'List documents, newest first, with their status (queued, processing, ready, failed); page with nextCursor.',
      inputSchema: listDocumentsInput,
      outputSchema: listDocumentsOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      runTool(deps.logger, 'list_documents', () =>
        turn(extra.signal, async () => {
          const page = await deps.documents.list(tenant, args);
          return { documents: page.documents.map(toDocumentView), nextCursor: page.nextCursor };
        }),
      ),
  );

  server.registerTool(
    'get_session_history',
    {
      title: 'Read a conversation',
      description:
        'The newest messages of a session in the order they were said (oldest of them first), answers with their ' +
        'citations; nextBeforeSeq pages back to older ones (null when there are none).',
      inputSchema: sessionHistoryInput,
      outputSchema: sessionHistoryOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      runTool(deps.logger, 'get_session_history', () =>
        turn(extra.signal, async () => {
          const page = await listMessages(deps, tenant, args.sessionId, args.limit, args.beforeSeq);
          // The HTTP route pages newest first; a conversation handed to a model reads top to bottom.
          return { sessionId: args.sessionId, messages: page.messages.map(toMessageView).reverse(), nextBeforeSeq: page.nextBeforeSeq };
        }),
      ),
  );

  return server;
}
