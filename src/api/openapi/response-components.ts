import type { z } from 'zod';
import {
  BulkDocumentsAcceptedSchema,
  ChunkListSchema,
  DocumentListSchema,
  DocumentReindexAcceptedSchema,
  DocumentViewSchema,
} from '../views/document-views';
import { ErrorBodySchema } from '../views/error-view';
import { HealthSchema, ReadinessSchema } from '../views/health-views';
import { ReindexJobListSchema, ReindexJobSchema } from '../views/reindex-views';
import { SearchResultsSchema } from '../views/search-views';
import {
  ASK_STREAM_EVENTS,
  AskAnswerSchema,
  AskStreamDeltaSchema,
  AskStreamErrorSchema,
  AskStreamEventSchema,
  ContextBreakdownSchema,
  ContextPreviewSchema,
  MessageListSchema,
  MessagesAppendedSchema,
  MessageViewSchema,
  SessionViewSchema,
} from '../views/session-views';
import { UsageSchema } from '../views/usage-views';
import { responseSchemas, type JsonSchema } from './zod-json-schema';

/**
 * The OpenAPI components (`#/components/schemas/<name>`) of what the API answers, by name. Each is the zod view the
 * route's answer is typed by (src/api/views/), converted when the document is built: nothing here is written by hand.
 * A view used inside another (Document in DocumentList, ContextBreakdown in AskAnswer) becomes a `$ref` to its name.
 */
export const RESPONSE_COMPONENTS = {
  Error: ErrorBodySchema,
  Document: DocumentViewSchema,
  DocumentList: DocumentListSchema,
  BulkDocumentsAccepted: BulkDocumentsAcceptedSchema,
  ChunkList: ChunkListSchema,
  DocumentReindexAccepted: DocumentReindexAcceptedSchema,
  SearchResults: SearchResultsSchema,
  Session: SessionViewSchema,
  Message: MessageViewSchema,
  MessageList: MessageListSchema,
  MessagesAppended: MessagesAppendedSchema,
  ContextBreakdown: ContextBreakdownSchema,
  AskAnswer: AskAnswerSchema,
  AskStreamDelta: AskStreamDeltaSchema,
  AskStreamError: AskStreamErrorSchema,
  AskStreamEvent: AskStreamEventSchema,
  ContextPreview: ContextPreviewSchema,
  ReindexJobList: ReindexJobListSchema,
  ReindexJob: ReindexJobSchema,
  Usage: UsageSchema,
  Health: HealthSchema,
  Readiness: ReadinessSchema,
} satisfies Record<string, z.ZodType>;

export type ResponseComponent = keyof typeof RESPONSE_COMPONENTS;

export const buildResponseSchemas = (): Record<ResponseComponent, JsonSchema> =>
  responseSchemas(RESPONSE_COMPONENTS) as Record<ResponseComponent, JsonSchema>;

/** The component name of each stream event's data (ASK_STREAM_EVENTS' schemas are all components). */
function componentOf(schema: z.ZodType): ResponseComponent {
  const name = (Object.keys(RESPONSE_COMPONENTS) as ResponseComponent[]).find((n) => RESPONSE_COMPONENTS[n] === schema);
  if (!name) throw new Error('an ask stream event has data that is no response component');
  return name;
}

/** How the SSE variant of POST /sessions/{id}/ask is framed. */
export const ASK_EVENT_STREAM_DESCRIPTION = [
  'Server-Sent Events, in order: `context` (a ContextBreakdown), `delta` (`{"text"}`, many), then `done` (the same JSON',
  'as the plain answer, an AskAnswer) or `error` (`{"code", "message"}`). Each event is an `event: <name>` line and one',
  '`data: <JSON>` line. OpenAPI 3.1 has no schema language for event streams: `x-events` (on this media type) maps each',
  'event name to the schema of its data, and the AskStreamEvent component describes one parsed event',
  '(`{"event", "data"}`) for client generators. Failures before the first event answer with their HTTP status and the',
  'error envelope instead.',
].join(' ');

/**
 * The `text/event-stream` media type of POST /sessions/{id}/ask: a string body for tools that read OpenAPI 3.1 as it
 * is, and `x-events` (a specification extension, which generators ignore) with each event's name, meaning and data
 * schema, from the same map the route writes its events with (ASK_STREAM_EVENTS).
 */
export function askEventStreamMediaType(): Record<string, unknown> {
  const events = Object.entries(ASK_STREAM_EVENTS).map(([name, { schema, description }]) => [
    name,
    { description, schema: { $ref: `#/components/schemas/${componentOf(schema)}` } },
  ]);
  return {
    schema: { type: 'string', description: ASK_EVENT_STREAM_DESCRIPTION },
    'x-events': Object.fromEntries(events),
  };
}
