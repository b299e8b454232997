/**
 * Sessions: a conversation's messages, its rolling summary and how far its recall index has caught up.
 * Messages are append-only with a per-session sequence number (1, 2, 3, ... with no gaps); nothing is ever rewritten,
 * so the full history is always there, however much of it the summary has folded.
 */
import type { MetadataValue } from '../vector/vector-store';

export type MessageRole = 'user' | 'assistant';

export interface MessageCitation {
  marker: string;
  documentId: string;
  chunkId: string;
  title: string;
  score: number;
  snippet: string;
}

export interface SessionSummary {
  text: string;
  /** The summary folds every message with seq <= coversThroughSeq. */
  coversThroughSeq: number;
  tokenCount: number;
  updatedAt: string;
}

export interface SessionRecord {
  id: string;
  tenant: string;
  /**
   * Changes when a session is deleted and an id is reused: recall vectors and background jobs of an earlier
   * generation are ignored (a late job cannot resurrect a deleted conversation's memory).
   */
  generation: string;
  systemPrompt?: string;
  collection: string;
  metadata: Record<string, MetadataValue>;
  /** Optional per-session default for the context budget. */
  maxContextTokens?: number;
  createdAt: string;
  updatedAt: string;
  /** Seq of the newest message (0 when empty); also the message count. */
  lastSeq: number;
  summary: SessionSummary | null;
  /** Every message with seq <= this is embedded in the recall index. */
  recallIndexedThroughSeq: number;
}

export interface NewMessage {
  role: MessageRole;
  content: string;
  /** ISO 8601; defaults to the time of the append. */
  createdAt?: string;
  /** Tekken tokens of `content` (computed once, at append, so building a context never re-counts history). */
  tokenCount: number;
  citations?: MessageCitation[];
  /** Assistant answers: the model and usage that produced them. */
  model?: string;
  usage?: { promptTokens: number; completionTokens: number; costUsd?: number };
}

export interface StoredMessage extends NewMessage {
  id: string;
  seq: number;
  createdAt: string;
}

export interface CreateSessionInput {
  id?: string;
  systemPrompt?: string;
  collection?: string;
  metadata?: Record<string, MetadataValue>;
  maxContextTokens?: number;
}
