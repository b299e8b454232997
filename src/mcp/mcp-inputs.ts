import { z } from 'zod';
import { jsonDocumentSchema, listDocumentsQuery } from '../api/schemas/documents';
import { searchBodySchema } from '../api/schemas/search';
import { askSchema, listMessagesQuery, sessionIdSchema } from '../api/schemas/sessions';

/**
 * The tools' inputs, made of the very schemas the HTTP routes parse with (fields picked from them, a description
 * added for the model that reads the tool list): a bound or an alphabet changed for the API changes here too.
 * Strict like the routes' bodies: an unknown argument is refused, not ignored.
 */

const search = searchBodySchema.shape;
export const searchDocumentsInput = z.strictObject({
  query: search.query.describe('What to look for, in words (a question or keywords)'),
  collection: search.collection.describe('The collection to search (default: "default")'),
  k: search.k.describe('How many hits to return, best first (1-100, default 8)'),
  mode: search.mode.describe('hybrid (meaning and keywords, default), dense (meaning only) or keyword (exact terms only)'),
});

const asking = askSchema.shape;
export const askInput = z.strictObject({
  sessionId: sessionIdSchema.describe('The conversation to ask in: created on first use, its earlier turns are remembered'),
  question: asking.question.describe('The question, in words'),
  collection: asking.collection.describe('The collection to answer from (default: the session’s, else "default")'),
  k: asking.k.describe('How many passages to retrieve for the answer (0-50, default 8; 0 answers from the conversation alone)'),
});

const doc = jsonDocumentSchema.shape;
export const addDocumentInput = z.strictObject({
  text: doc.text.describe('The document’s text (plain text or Markdown)'),
  title: doc.title.describe('A title shown with search hits and citations'),
  collection: doc.collection.describe('The collection to add it to (default: "default")'),
  metadata: doc.metadata.describe('Flat key/value tags (strings, numbers, booleans) kept with every chunk'),
});

const listing = listDocumentsQuery.shape;
export const listDocumentsInput = z.strictObject({
  collection: listing.collection.describe('Only this collection (default: every collection)'),
  limit: listing.limit.describe('Page size (1-100, default 20)'),
  cursor: listing.cursor.describe('nextCursor of the previous page'),
});

const messages = listMessagesQuery.shape;
export const sessionHistoryInput = z.strictObject({
  sessionId: sessionIdSchema.describe('The conversation'),
  limit: messages.limit.describe('How many of the newest messages (1-500, default 50)'),
  beforeSeq: messages.beforeSeq.describe('nextBeforeSeq of the previous call, for older messages'),
});
