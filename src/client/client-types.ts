import type { components, operations } from './openapi-types';

/** Friendly names for the generated OpenAPI types (src/client/openapi-types.ts, from the service's own document). */
type Schemas = components['schemas'];
export type ErrorBody = Schemas['Error'];
export type Document = Schemas['Document'];
export type DocumentList = Schemas['DocumentList'];
export type BulkDocumentsAccepted = Schemas['BulkDocumentsAccepted'];
export type ChunkList = Schemas['ChunkList'];
export type SearchResults = Schemas['SearchResults'];
export type Session = Schemas['Session'];
export type MessageList = Schemas['MessageList'];
export type MessagesAppended = Schemas['MessagesAppended'];
export type ContextBreakdown = Schemas['ContextBreakdown'];
export type AskAnswer = Schemas['AskAnswer'];
export type ContextPreview = Schemas['ContextPreview'];
export type ReindexJob = Schemas['ReindexJob'];
export type ReindexJobList = Schemas['ReindexJobList'];
export type Usage = Schemas['Usage'];
export type Readiness = Schemas['Readiness'];

type JsonBody<Op> = Op extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type Query<Op> = Op extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type NewDocument = JsonBody<operations['addDocument']>;
export type NewDocuments = JsonBody<operations['addDocuments']>;
export type SearchRequest = JsonBody<operations['search']>;
export type NewSession = JsonBody<operations['createSession']>;
export type ImportMessages = JsonBody<operations['importMessages']>;
export type AskRequest = JsonBody<operations['ask']>;
export type ContextRequest = JsonBody<operations['previewContext']>;
export type ReindexRequest = JsonBody<operations['startReindex']>;
export type DocumentListQuery = Query<operations['listDocuments']>;
export type ChunkListQuery = Query<operations['listChunks']>;
export type MessageListQuery = Query<operations['listMessages']>;
export type UsageQuery = Query<operations['getUsage']>;

/** The fields a file upload may carry beside the file (multipart form fields). */
export interface UploadFields {
  collection?: string;
  title?: string;
  externalId?: string;
  metadata?: Record<string, string | number | boolean>;
}

/** The Server-Sent Events of a streamed ask, in order: one `context`, many `delta`, then `done` or `error`. */
export type AskEvent =
  | { type: 'context'; context: ContextBreakdown }
  | { type: 'delta'; text: string }
  | { type: 'done'; answer: AskAnswer }
  | { type: 'error'; code: string; message: string };
