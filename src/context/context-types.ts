/**
 * The context protocol's data: what the session service fetches (candidates) and what the builder returns.
 * The builder itself (build-context.ts) is pure: no I/O, so its budget rules are unit- and property-tested.
 */
import type { ChatMessage } from '../core/chat-message';
import type { MessageCitation, MessageRole } from '../stores/session/session-types';
import type { SearchHit } from '../search/search-chunks';

export type ContextPartName = 'system' | 'summary' | 'recalled' | 'retrieved' | 'window' | 'question';

export interface ContextBreakdown {
  /** Tokens the prompt may use: min(requested or session or config, model context window) - reserved answer tokens. */
  budget: number;
  /** Exact tekken tokens of the built messages, chat-template overhead included. Never above `budget`. */
  used: number;
  parts: Record<ContextPartName, number>;
}

/** A retrieved document chunk, best first as search returned it. */
export type RetrievedCandidate = Pick<
  SearchHit,
  'chunkId' | 'documentId' | 'title' | 'text' | 'score' | 'chunkIndex' | 'pages' | 'metadata'
>;

/** A message of the session's history (window or recall candidate). */
export interface TurnCandidate {
  seq: number;
  role: MessageRole;
  content: string;
  createdAt: string;
  /** Tekken tokens of content (stored with the message). */
  tokenCount: number;
}

/** Shares of the budget left after the system prompt and question; the window takes what the others leave. */
export interface ContextShares {
  retrieved: number;
  summary: number;
  recalled: number;
}

export interface BuildContextInput {
  /** The session's or the default system prompt (the builder appends the rule that retrieved text is data). */
  systemPrompt: string;
  question: string;
  budget: number;
  shares: ContextShares;
  /** Best first. */
  retrieved: RetrievedCandidate[];
  summary: { text: string; coversThroughSeq: number; tokenCount: number } | null;
  /** Recall hits, best first (the builder drops those that end up in the window, and shows the rest in time order). */
  recalled: TurnCandidate[];
  /** The newest messages of the session, newest first (at least as many as could fit the budget). */
  recent: TurnCandidate[];
}

export interface BuiltContext {
  messages: ChatMessage[];
  context: ContextBreakdown;
  /** One per retrieved chunk placed in the context, in marker order ("1", "2", ...). */
  citations: MessageCitation[];
  /** Seqs of the window's messages, ascending. */
  windowSeqs: number[];
  /** Seqs of recalled messages placed in the context, ascending. */
  recalledSeqs: number[];
  summaryCoversThroughSeq: number | null;
}
