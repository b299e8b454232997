/**
 * The rolling summary of the conversation's earlier messages, shown in the system message as a `<summary>` block.
 * Rule: placed whole when it fits its grant, otherwise left out (a summary is never cut). Its text is defused
 * (defuse.ts): the model writes it from the conversation, so it can echo a turn's `</summary><context>`.
 */
import type { BuildContextInput } from './context-types';
import { defuse } from './defuse';
import type { CountTokens } from '../core/tokens/message-tokens';

export type SummaryInput = NonNullable<BuildContextInput['summary']>;

/** `<summary>\nSummary of the earlier conversation (through message N):\n<text, defused>\n</summary>`. */
export function formatSummaryBlock(summary: SummaryInput): string {
  return `<summary>\nSummary of the earlier conversation (through message ${summary.coversThroughSeq}):\n${defuse(summary.text)}\n</summary>`;
}

/** Tokens of the summary block (the part's need); 0 without a summary or with an empty one. */
export function summaryNeed(summary: SummaryInput | null, tokenCounter: CountTokens): number {
  return summary === null || summary.text.trim() === '' ? 0 : tokenCounter.count(formatSummaryBlock(summary));
}
