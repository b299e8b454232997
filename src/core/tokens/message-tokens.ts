/**
 * Token accounting of a chat prompt, the one rule every context step counts with.
 *
 * A prompt costs PROMPT_OVERHEAD_TOKENS once (BOS) plus, per message, the tekken tokens of its content and
 * MESSAGE_OVERHEAD_TOKENS for the chat template's control tokens around it.
 */
import type { ChatMessage } from '../chat-message';
import type { TokenCounter } from './token-counter';

/**
 * Control tokens the chat template adds per message. Mistral's template wraps a user turn in [INST] ... [/INST] and
 * closes an assistant turn with </s> (a system prompt rides in a user turn with its own separators); 3 bounds what any
 * one message adds, so counting 3 for each never undercounts.
 */
export const MESSAGE_OVERHEAD_TOKENS = 3;
/** The BOS token that opens the whole prompt, counted once. */
export const PROMPT_OVERHEAD_TOKENS = 1;

/** What the context steps need of a token counter (TokenCounter in production; tests may pass a fake). */
export type CountTokens = Pick<TokenCounter, 'count'>;

/** Tokens one message of this content costs in the prompt: its content plus the template's per-message overhead. */
export function messageTokens(content: string, tokenCounter: CountTokens): number {
  return tokenCounter.count(content) + MESSAGE_OVERHEAD_TOKENS;
}

/** Exact tokens of a whole prompt: BOS once, then every message's content and overhead. */
export function countMessages(messages: readonly ChatMessage[], tokenCounter: CountTokens): number {
  let total = PROMPT_OVERHEAD_TOKENS;
  for (const m of messages) total += messageTokens(m.content, tokenCounter);
  return total;
}

/**
 * A counter that remembers, for one build, what it has counted: the builder counts the same texts (window turns, the
 * question, the summary) in planning, after each render and for `context.parts`; each is tokenised once.
 */
export function memoizedCounter(tokenCounter: CountTokens): CountTokens {
  const known = new Map<string, number>();
  return {
    count(text: string): number {
      let n = known.get(text);
      if (n === undefined) {
        n = tokenCounter.count(text);
        known.set(text, n);
      }
      return n;
    },
  };
}
