/**
 * Retrieval: document chunks placed in the system message as a `<context>` block in the offline provider's format
 * (see gateway/providers/offline-text.ts), so any model can cite them by their `[n]` markers.
 *
 * Rules:
 * 1. Dedupe by chunkId (the first, i.e. best, occurrence wins).
 * 2. Merge chunks of one document with consecutive chunkIndex into one passage: when B's start appears in A's tail
 *    (the chunker's overlap) the duplicated text is removed, otherwise they are joined with a newline. A passage keeps
 *    the best score of its chunks, the union of their pages and the chunkId of its first chunk.
 * 3. Rank passages best score first (ties: the order search returned) and place each that still fits the grant,
 *    skipping one that does not and trying the next. Markers are 1..n in placement order.
 */
import type { MessageCitation } from '../stores/session/session-types';
import { defuse } from './defuse';
import type { CountTokens } from '../core/tokens/message-tokens';
import { blockNeed, placeWithin, type BlockRules } from './place-within';
import { type Passage } from '../core/passages';

/** Characters of a passage kept as its citation snippet. */
export const DEFAULT_SNIPPET_CHARS = 200;

export const CONTEXT_OPEN = '<context>';
export const CONTEXT_CLOSE = '</context>';
export const PASSAGE_SEPARATOR = '\n\n';

/** `page 3`, `pages 3-5` (a run) or `pages 3, 7`; '' without pages. */
export function formatPages(pages: readonly number[]): string {
  if (pages.length === 0) return '';
  if (pages.length === 1) return `page ${pages[0]}`;
  const isRun = pages.every((p, i) => i === 0 || p === pages[i - 1] + 1);
  return isRun ? `pages ${pages[0]}-${pages[pages.length - 1]}` : `pages ${pages.join(', ')}`;
}

/** The marker line's title: one line, `Title (page 3)`. */
export function passageHeading(p: Passage): string {
  const title = defuse(p.title, { inline: true }) || 'Untitled';
  const pages = formatPages(p.pages);
  return pages === '' ? title : `${title} (${pages})`;
}

/**
 * `[n] Title (page 3)\n<text>`. Title and text are defused (defuse.ts): a footnote line `[12] ...` would start a new
 * passage for the parser and a literal `</context>` would close the block, so they read `(12) ...` and `&lt;/context>`.
 */
export function formatPassage(marker: number, p: Passage): string {
  return `[${marker}] ${passageHeading(p)}\n${defuse(p.text)}`;
}

/** The `<context>` block of these passages, markers 1..n in order; '' when there are none. */
export function formatRetrievedBlock(placed: readonly Passage[]): string {
  if (placed.length === 0) return '';
  const body = placed.map((p, i) => formatPassage(i + 1, p)).join(PASSAGE_SEPARATOR);
  return `${CONTEXT_OPEN}\n${body}\n${CONTEXT_CLOSE}`;
}

export function retrievedFrameTokens(tokenCounter: CountTokens): number {
  return tokenCounter.count(`${CONTEXT_OPEN}\n\n${CONTEXT_CLOSE}`);
}

/** Planning cost of a passage placed with this marker: its text and a separator. */
export function passageTokens(marker: number, p: Passage, tokenCounter: CountTokens): number {
  return tokenCounter.count(formatPassage(marker, p)) + tokenCounter.count(PASSAGE_SEPARATOR);
}

/** Tokens of the block if every passage were placed (the part's need); 0 without passages. */
export function retrievedNeed(passages: readonly Passage[], tokenCounter: CountTokens): number {
  if (passages.length === 0) return 0;
  return blockNeed(passages, retrievedRules(tokenCounter));
}

function retrievedRules(tokenCounter: CountTokens): BlockRules<Passage> {
  return {
    frameTokens: retrievedFrameTokens(tokenCounter),
    entryTokens: (p, marker) => passageTokens(marker, p, tokenCounter),
    blockTokens: (placed) => tokenCounter.count(formatRetrievedBlock(placed)),
  };
}

export interface RetrievedPlacement {
  /** In marker order: placed[i] is `[i + 1]`. */
  placed: Passage[];
  /** Planning cost of each placed passage, same order. */
  passageTokens: number[];
}

/**
 * Passages (ranked best first) placed within `grant`: each that fits is placed with the next marker, a misfit is
 * skipped; then, counting the real block, the last placed are dropped until it fits the grant exactly.
 */
export function placePassages(passages: readonly Passage[], grant: number, tokenCounter: CountTokens): RetrievedPlacement {
  if (passages.length === 0) return { placed: [], passageTokens: [] };
  const { placed, costs } = placeWithin(passages, grant, retrievedRules(tokenCounter));
  return { placed, passageTokens: costs };
}

/** The first `chars` characters of a text (never splitting a surrogate pair), whitespace collapsed. */
export function snippetOf(text: string, chars = DEFAULT_SNIPPET_CHARS): string {
  const flat = text
    .slice(0, chars * 4)
    .replace(/\s+/g, ' ')
    .trim();
  return Array.from(flat).slice(0, chars).join('');
}

/** One citation per placed passage, marker "1".."n" in placement order. */
export function citationsFor(placed: readonly Passage[], snippetChars = DEFAULT_SNIPPET_CHARS): MessageCitation[] {
  return placed.map((p, i) => ({
    marker: String(i + 1),
    documentId: p.documentId,
    chunkId: p.chunkId,
    title: p.title,
    score: p.score,
    snippet: snippetOf(p.text, snippetChars),
  }));
}
