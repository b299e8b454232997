import type { BuildContextInput, RetrievedCandidate, TurnCandidate } from '../../src/context/context-types';
import type { SearchHit } from '../../src/search/search-chunks';
import type { TokenCounter } from '../../src/core/tokens/token-counter';

/** A message of a session's history, counted with the real tokenizer; odd seqs are the user's. */
export const makeTurn = (tokenCounter: TokenCounter, seq: number, content: string, createdAt: string): TurnCandidate => ({
  seq,
  role: seq % 2 === 1 ? 'user' : 'assistant',
  content,
  createdAt,
  tokenCount: tokenCounter.count(content),
});

/** A builder input with no candidates and a roomy budget; `over` sets what a test is about. */
export const contextInput = (
  base: Pick<BuildContextInput, 'systemPrompt' | 'question' | 'shares'>,
  over: Partial<BuildContextInput> = {},
): BuildContextInput => ({
  budget: 4096,
  retrieved: [],
  summary: null,
  recalled: [],
  recent: [],
  ...base,
  ...over,
});

/** A retrieved chunk with neutral defaults; `over` sets what a test is about. */
export const retrievedChunk = (over: Partial<RetrievedCandidate> & { chunkId: string }): RetrievedCandidate => ({
  documentId: 'doc-a',
  title: 'Pricing guide',
  text: `Text of ${over.chunkId}.`,
  score: 0.5,
  chunkIndex: 0,
  pages: [],
  metadata: {},
  ...over,
});

/** The same as a search hit (which also carries the heading path). */
export const searchHit = (over: Partial<SearchHit> & { chunkId: string }): SearchHit => ({
  headingPath: [],
  ...retrievedChunk(over),
  ...over,
});
