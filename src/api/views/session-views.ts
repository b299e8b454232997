import { z } from 'zod';
import type { BuiltContext, ContextBreakdown as ContextBreakdownRecord } from '../../context/context-types';
import type { AskAnswer as AskAnswerRecord } from '../../sessions/ask';
import type { MessageCitation, SessionRecord, StoredMessage } from '../../stores/session/session-types';
import { count, dateTime, metadataView } from './common';

/** A session as GET /sessions/:id shows it (api.md), plus its settings. */
export const SessionViewSchema = z.object({
  id: z.string(),
  collection: z.string(),
  systemPrompt: z.string().nullable(),
  maxContextTokens: z.int().min(1).nullable(),
  createdAt: dateTime,
  updatedAt: dateTime,
  messageCount: count(),
  lastSeq: count('Seq of the newest message (0 when empty)'),
  summary: z
    .object({
      text: z.string(),
      coversThroughSeq: count('The summary folds every message with seq <= coversThroughSeq'),
      tokenCount: count(),
      updatedAt: dateTime,
    })
    .nullable(),
  recallIndexedThroughSeq: count('Every message with seq <= this is embedded in the recall index'),
  metadata: metadataView,
});
export type SessionView = z.output<typeof SessionViewSchema>;

const CitationViewSchema = z.object({
  marker: z.string().describe('"1", "2", ... as the answer cites them'),
  documentId: z.string(),
  chunkId: z.string(),
  title: z.string(),
  score: z.number(),
  snippet: z.string(),
});
type CitationView = z.output<typeof CitationViewSchema>;

const usageOf = <C extends z.ZodType>(costUsd: C) =>
  z.object({ promptTokens: count(), completionTokens: count(), costUsd: costUsd.describe('Priced by the model registry') });

export const MessageViewSchema = z.object({
  id: z.string(),
  seq: z.int().min(1),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  createdAt: dateTime,
  citations: z.array(CitationViewSchema).optional().describe('Assistant answers that cite retrieved chunks'),
  model: z.string().optional().describe('Assistant answers: the model that made them'),
  usage: usageOf(z.number().optional()).optional(),
});
export type MessageView = z.output<typeof MessageViewSchema>;

export const MessageListSchema = z.object({
  messages: z.array(MessageViewSchema).describe('Newest first'),
  nextBeforeSeq: z.int().min(1).nullable(),
});
export type MessageList = z.output<typeof MessageListSchema>;

export const MessagesAppendedSchema = z.object({ appended: count(), lastSeq: count() });
export type MessagesAppended = z.output<typeof MessagesAppendedSchema>;

export const ContextBreakdownSchema = z.object({
  budget: count('Tokens the prompt may use'),
  used: count('Tekken tokens of the built prompt, never above budget'),
  parts: z.object({
    system: count(),
    summary: count(),
    recalled: count(),
    retrieved: count(),
    window: count(),
    question: count(),
  }),
});
export type ContextBreakdown = z.output<typeof ContextBreakdownSchema>;

export const AskAnswerSchema = z.object({
  answer: z.string(),
  messageId: z.string(),
  citations: z.array(CitationViewSchema),
  context: ContextBreakdownSchema,
  usage: usageOf(z.number()),
  model: z.string(),
});
export type AskAnswer = z.output<typeof AskAnswerSchema>;

export const ContextPreviewSchema = z.object({
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })),
  context: ContextBreakdownSchema,
  citations: z.array(CitationViewSchema),
  windowSeqs: z.array(z.int().min(1)),
  recalledSeqs: z.array(z.int().min(1)),
  summaryCoversThroughSeq: count().nullable(),
});
export type ContextPreview = z.output<typeof ContextPreviewSchema>;

/** `delta` events: the next piece of the answer's text. */
export const AskStreamDeltaSchema = z.object({ text: z.string() });
/** `error` events: the stream failed after it opened (the status is 200 by then); nothing was stored. */
export const AskStreamErrorSchema = z.object({ code: z.string(), message: z.string() });

/**
 * The Server-Sent Events of a streamed ask (`stream: true` or `Accept: text/event-stream`): each event's name and the
 * schema of its `data:` line (one JSON document). The route writes them through EventStream<AskStreamEvents>, so
 * what it sends is typed by these schemas, and the OpenAPI document describes them from the same map (`x-events`).
 */
export const ASK_STREAM_EVENTS = {
  context: { schema: ContextBreakdownSchema, description: 'First: the context breakdown (a ContextBreakdown)' },
  delta: { schema: AskStreamDeltaSchema, description: 'Then many: the next piece of the answer' },
  done: { schema: AskAnswerSchema, description: 'Last on success: the stored answer, the same JSON as the plain answer (an AskAnswer)' },
  error: { schema: AskStreamErrorSchema, description: 'Last on failure: what went wrong; nothing was stored' },
} as const;
export type AskStreamEvents = { [E in keyof typeof ASK_STREAM_EVENTS]: z.output<(typeof ASK_STREAM_EVENTS)[E]['schema']> };

const eventOf = <E extends keyof AskStreamEvents>(event: E) => z.object({ event: z.literal(event), data: ASK_STREAM_EVENTS[event].schema });

/** One event of the stream as a client parses it: the `event:` name and its `data:` JSON (one branch per event). */
export const AskStreamEventSchema = z.discriminatedUnion('event', [
  eventOf('context'),
  eventOf('delta'),
  eventOf('done'),
  eventOf('error'),
]);

export function toSessionView(s: SessionRecord): SessionView {
  return {
    id: s.id,
    collection: s.collection,
    systemPrompt: s.systemPrompt ?? null,
    maxContextTokens: s.maxContextTokens ?? null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    messageCount: s.lastSeq,
    lastSeq: s.lastSeq,
    summary: s.summary && {
      text: s.summary.text,
      coversThroughSeq: s.summary.coversThroughSeq,
      tokenCount: s.summary.tokenCount,
      updatedAt: s.summary.updatedAt,
    },
    recallIndexedThroughSeq: s.recallIndexedThroughSeq,
    metadata: s.metadata,
  };
}

const toCitationView = (c: MessageCitation): CitationView => ({
  marker: c.marker,
  documentId: c.documentId,
  chunkId: c.chunkId,
  title: c.title,
  score: c.score,
  snippet: c.snippet,
});

export function toMessageView(m: StoredMessage): MessageView {
  return {
    id: m.id,
    seq: m.seq,
    role: m.role,
    content: m.content,
    createdAt: m.createdAt,
    // Absent fields stay `undefined`, which JSON leaves out: the same body as leaving the key out.
    citations: m.citations?.length ? m.citations.map(toCitationView) : undefined,
    model: m.model || undefined,
    usage: m.usage && { promptTokens: m.usage.promptTokens, completionTokens: m.usage.completionTokens, costUsd: m.usage.costUsd },
  };
}

export function toContextBreakdownView(c: ContextBreakdownRecord): ContextBreakdown {
  const { system, summary, recalled, retrieved, window, question } = c.parts;
  return { budget: c.budget, used: c.used, parts: { system, summary, recalled, retrieved, window, question } };
}

export function toAskAnswerView(a: AskAnswerRecord): AskAnswer {
  return {
    answer: a.answer,
    messageId: a.messageId,
    citations: a.citations.map(toCitationView),
    context: toContextBreakdownView(a.context),
    usage: { promptTokens: a.usage.promptTokens, completionTokens: a.usage.completionTokens, costUsd: a.usage.costUsd },
    model: a.model,
  };
}

export function toContextPreview(built: BuiltContext): ContextPreview {
  return {
    messages: built.messages.map((m) => ({ role: m.role, content: m.content })),
    context: toContextBreakdownView(built.context),
    citations: built.citations.map(toCitationView),
    windowSeqs: built.windowSeqs,
    recalledSeqs: built.recalledSeqs,
    summaryCoversThroughSeq: built.summaryCoversThroughSeq,
  };
}
