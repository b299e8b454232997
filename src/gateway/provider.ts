/**
 * The provider boundary of the model gateway. A provider speaks one model API (Mistral, offline); the gateway
 * (routing, retries, rate limits, breakers, caches, accounting) sits above it and is the only caller.
 */

import type { ChatMessage } from '../core/chat-message';

export type Purpose = 'chat' | 'summarize' | 'embed';

export interface ChatRequest {
  /** The provider's own model name (e.g. `mistral-small-latest`). */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface ChatResult {
  text: string;
  model: string;
  usage: TokenUsage;
  finishReason: string;
}

export type ChatStreamEvent = { type: 'delta'; text: string } | { type: 'done'; result: ChatResult };

export interface EmbedResult {
  vectors: Float32Array[];
  usage: TokenUsage;
}

export interface ModelProvider {
  readonly name: 'mistral' | 'offline';
  chat(req: ChatRequest): Promise<ChatResult>;
  /** Deltas in order, then exactly one `done` carrying the whole result. */
  chatStream(req: ChatRequest): AsyncIterable<ChatStreamEvent>;
  embed(model: string, texts: string[], opts?: { signal?: AbortSignal }): Promise<EmbedResult>;
}
