import type { SessionRecord, StoredMessage } from '../stores/session/session-types';

/** A session as GET /sessions/:id shows it (api.md), plus its settings. */
export function toSessionView(s: SessionRecord) {
  return {
    id: s.id,
    collection: s.collection,
    systemPrompt: s.systemPrompt ?? null,
    maxContextTokens: s.maxContextTokens ?? null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    messageCount: s.lastSeq,
    lastSeq: s.lastSeq,
    summary: s.summary,
    recallIndexedThroughSeq: s.recallIndexedThroughSeq,
    metadata: s.metadata,
  };
}

export function toMessageView(m: StoredMessage) {
  return {
    id: m.id,
    seq: m.seq,
    role: m.role,
    content: m.content,
    createdAt: m.createdAt,
    ...(m.citations?.length ? { citations: m.citations } : {}),
    ...(m.model ? { model: m.model } : {}),
    ...(m.usage ? { usage: m.usage } : {}),
  };
}
