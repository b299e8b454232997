import { z } from 'zod';
import { DocumentListSchema, DocumentViewSchema } from '../api/views/document-views';
import { SearchResultsSchema } from '../api/views/search-views';
import { AskAnswerSchema, MessageListSchema, MessageViewSchema } from '../api/views/session-views';

/**
 * What each tool answers (its `structuredContent`, and the same JSON as text): the HTTP routes' response views, so a
 * field added to a view reaches the tools and the OpenAPI document alike. The SDK checks every answer against these.
 */

export const searchDocumentsOutput = SearchResultsSchema;

/** An ask's answer without its context breakdown (a budget report for tuning, not for the model that asked). */
export const askOutput = AskAnswerSchema.omit({ context: true }).extend({ sessionId: z.string() });

export const addDocumentOutput = DocumentViewSchema;

export const listDocumentsOutput = DocumentListSchema;

export const sessionHistoryOutput = z.object({
  sessionId: z.string(),
  messages: z.array(MessageViewSchema).describe('Oldest first: the newest `limit` messages, in the order they were said'),
  nextBeforeSeq: MessageListSchema.shape.nextBeforeSeq,
});
