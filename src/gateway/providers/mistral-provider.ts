import type { Mistral as MistralClient } from '@mistralai/mistralai' with { 'resolution-mode': 'import' };
import type { ChatCompletionResponse, CompletionChunk, UsageInfo } from '@mistralai/mistralai/models/components' with {
  'resolution-mode': 'import',
};
import type { RequestOptions } from '@mistralai/mistralai/lib/sdks' with { 'resolution-mode': 'import' };
import type { ChatRequest, ChatResult, ChatStreamEvent, EmbedResult, ModelProvider, TokenUsage } from '../provider';
import { mapMistralError } from './mistral-errors';
import { Deadline } from './mistral-deadline';

// The SDK is ESM-only; `require` of ESM works on Node >= 20.19 (and under jest, which transforms it).
const { Mistral } = require('@mistralai/mistralai') as typeof import('@mistralai/mistralai', { with: { 'resolution-mode': 'import' } });

/** Most inputs sent in one /v1/embeddings request (the API rejects "Too many inputs"; 256 is reported to pass). */
export const MISTRAL_EMBED_MAX_INPUTS = 128;
/**
 * Rough cap on the characters of one embeddings request, so a batch stays under the API's per-request token budget
 * (mistral-embed: ~16k tokens; at worst ~1 char per token this is still conservative for typical text at ~3-4).
 */
export const MISTRAL_EMBED_MAX_BATCH_CHARS = 40_000;

export interface MistralProviderOptions {
  apiKey: string;
  /** The API base WITHOUT `/v1` (the SDK appends it). Default: the SDK's (https://api.mistral.ai). */
  serverUrl?: string;
  /**
   * Per-request timeout. For `chat`/`embed` it bounds the whole call; for `chatStream` it bounds the wait for the
   * response and then each gap between chunks (an idle timeout), so a long, steadily streaming answer is not cut.
   */
  timeoutMs?: number;
  /** Embedding batch limits; defaults MISTRAL_EMBED_MAX_INPUTS / MISTRAL_EMBED_MAX_BATCH_CHARS. */
  embedMaxInputs?: number;
  embedMaxBatchChars?: number;
}

/**
 * The Mistral API through the official SDK. SDK retries are OFF (the gateway above retries, with its own budget);
 * every call carries an AbortSignal combining the caller's signal (client disconnect) and a per-request timeout.
 * Every failure is an AppError (see mistral-errors.ts).
 */
export class MistralProvider implements ModelProvider {
  readonly name = 'mistral' as const;
  private readonly client: MistralClient;
  private readonly timeoutMs: number;
  private readonly embedMaxInputs: number;
  private readonly embedMaxBatchChars: number;

  constructor({
    apiKey,
    serverUrl,
    timeoutMs = 60_000,
    embedMaxInputs = MISTRAL_EMBED_MAX_INPUTS,
    embedMaxBatchChars = MISTRAL_EMBED_MAX_BATCH_CHARS,
  }: MistralProviderOptions) {
    if (!apiKey) throw new Error('MistralProvider needs an apiKey');
    if (!(timeoutMs > 0)) throw new Error('MistralProvider timeoutMs must be > 0');
    if (!(embedMaxInputs >= 1)) throw new Error('MistralProvider embedMaxInputs must be >= 1');
    this.client = new Mistral({ apiKey, serverURL: serverUrl, retryConfig: { strategy: 'none' } });
    this.timeoutMs = timeoutMs;
    this.embedMaxInputs = Math.floor(embedMaxInputs);
    this.embedMaxBatchChars = embedMaxBatchChars;
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    const deadline = new Deadline(this.timeoutMs, req.signal);
    try {
      req.signal?.throwIfAborted(); // the catch maps a caller abort to `aborted`
      const res: ChatCompletionResponse = await this.client.chat.complete(
        { model: req.model, messages: req.messages, maxTokens: req.maxTokens, temperature: req.temperature, stream: false },
        this.requestOptions(deadline),
      );
      const choice = res.choices[0];
      return {
        text: contentText(choice?.message?.content),
        model: res.model || req.model,
        usage: mapUsage(res.usage),
        finishReason: choice?.finishReason ?? 'unknown',
      };
    } catch (err) {
      throw mapMistralError(err, deadline.errorContext('chat'));
    } finally {
      deadline.dispose();
    }
  }

  async *chatStream(req: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const deadline = new Deadline(this.timeoutMs, req.signal);
    const context = deadline.errorContext('chat stream');
    let iterator: AsyncIterator<{ data: CompletionChunk }> | undefined;
    let finished = false;
    try {
      req.signal?.throwIfAborted();
      const stream = await this.client.chat.stream(
        { model: req.model, messages: req.messages, maxTokens: req.maxTokens, temperature: req.temperature },
        this.requestOptions(deadline),
      );
      iterator = stream[Symbol.asyncIterator]();
      let text = '';
      let model = req.model;
      let usage: UsageInfo | undefined;
      let finishReason: string | undefined;
      for (;;) {
        deadline.restart(); // idle timeout: each chunk must come within timeoutMs of the previous one
        const next = await iterator.next();
        if (next.done) break;
        const chunk = next.value.data;
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices) {
          if (choice.index !== 0) continue;
          const delta = contentText(choice.delta?.content);
          if (delta !== '') {
            text += delta;
            yield { type: 'delta', text: delta };
          }
          if (choice.finishReason) finishReason = choice.finishReason;
        }
      }
      req.signal?.throwIfAborted();
      if (finishReason === undefined) {
        // The SDK ends the iteration quietly if the body ends without `data: [DONE]` or a finish_reason: a cut stream.
        throw new Error('stream ended without a finish_reason');
      }
      finished = true;
      yield { type: 'done', result: { text, model, usage: mapUsage(usage), finishReason } };
    } catch (err) {
      throw mapMistralError(err, context);
    } finally {
      if (!finished) {
        // Consumer stopped early (break/return) or a failure: release the upstream connection.
        deadline.abort();
        try {
          await iterator?.return?.();
        } catch {
          /* already failed */
        }
      }
      deadline.dispose();
    }
  }

  async embed(model: string, texts: string[], opts?: { signal?: AbortSignal }): Promise<EmbedResult> {
    const vectors: Float32Array[] = [];
    const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    if (texts.length === 0) return { vectors, usage };
    for (const batch of this.batches(texts)) {
      const deadline = new Deadline(this.timeoutMs, opts?.signal);
      try {
        opts?.signal?.throwIfAborted();
        const res = await this.client.embeddings.create({ model, inputs: batch }, this.requestOptions(deadline));
        if (res.data.length !== batch.length) {
          throw new Error(`embeddings response has ${res.data.length} vectors for ${batch.length} inputs`);
        }
        const ordered = new Array<Float32Array | undefined>(batch.length);
        res.data.forEach((item, position) => {
          const index = item.index ?? position;
          if (!item.embedding || index < 0 || index >= batch.length || ordered[index]) {
            throw new Error(`embeddings response has a bad or duplicate index ${index}`);
          }
          ordered[index] = Float32Array.from(item.embedding);
        });
        for (const vector of ordered) vectors.push(vector!);
        usage.promptTokens += res.usage?.promptTokens ?? 0;
        usage.completionTokens += res.usage?.completionTokens ?? 0;
      } catch (err) {
        throw mapMistralError(err, deadline.errorContext('embeddings'));
      } finally {
        deadline.dispose();
      }
    }
    return { vectors, usage };
  }

  /** Consecutive slices of `texts` (order kept), each within the input-count and character caps (>= 1 input). */
  private *batches(texts: string[]): Generator<string[]> {
    let batch: string[] = [];
    let chars = 0;
    for (const text of texts) {
      if (batch.length > 0 && (batch.length >= this.embedMaxInputs || chars + text.length > this.embedMaxBatchChars)) {
        yield batch;
        batch = [];
        chars = 0;
      }
      batch.push(text);
      chars += text.length;
    }
    if (batch.length > 0) yield batch;
  }

  private requestOptions(deadline: Deadline): RequestOptions {
    return { signal: deadline.signal, retries: { strategy: 'none' } };
  }
}

function mapUsage(usage: UsageInfo | undefined): TokenUsage {
  return { promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0 };
}

/** Message content is a string, or (for some models) an array of typed chunks; only text chunks count. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (
      part &&
      typeof part === 'object' &&
      (part as { type?: unknown }).type === 'text' &&
      typeof (part as { text?: unknown }).text === 'string'
    ) {
      text += (part as { text: string }).text;
    }
  }
  return text;
}
