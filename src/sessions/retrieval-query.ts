import type { TurnCandidate } from '../context/context-types';

/**
 * Words that make a question lean on what was said before ("what about its price?"): searched alone, such a question
 * finds nothing, so the last user turn is searched with it.
 */
const REFERS_BACK =
  /\b(it|its|it's|itself|that|those|these|this|they|them|their|theirs|there|he|she|his|her|hers|him|one|ones|same|former|latter|above|previous|earlier|else|also|too)\b/i;
/** Questions this short rarely stand alone either ("and in 2024?"). */
const SHORT_QUESTION_WORDS = 4;
/** A longer question names its own subject even when it has a pronoun ("... Caroline ... in her education?"). */
const SELF_CONTAINED_WORDS = 10;
/** Enough of the earlier turn to carry its subject, not so much that it drowns the question. */
const CARRIED_CHARS = 400;

const words = (s: string) => s.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;

/**
 * The text to search documents with: the question itself, or, when it refers back, the latest user turn before it
 * followed by the question. Rewritten from the conversation alone, no model call, so asks stay fast. (Memory recall
 * searches with the question alone: the recent window already holds what the question leans on.)
 */
export function searchQuery(question: string, recentNewestFirst: readonly TurnCandidate[]): string {
  const n = words(question);
  const leansBack = n <= SHORT_QUESTION_WORDS || (n <= SELF_CONTAINED_WORDS && REFERS_BACK.test(question));
  if (!leansBack) return question;
  const previous = recentNewestFirst.find((t) => t.role === 'user');
  if (!previous) return question;
  return `${previous.content.slice(0, CARRIED_CHARS)}\n${question}`;
}
