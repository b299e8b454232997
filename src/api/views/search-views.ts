import { z } from 'zod';
import type { MergedHit } from '../../search/merge-adjacent';
import type { SearchHit } from '../../search/search-chunks';
import { chunkMetadataView, count } from './common';

const SearchResultViewSchema = z.object({
  chunkId: z.string(),
  documentId: z.string(),
  title: z.string(),
  text: z.string(),
  score: z.number().describe('Higher is better; comparable within one response'),
  chunkIndex: count(),
  chunkIds: z.array(z.string()).optional().describe('Only with mergeAdjacent: the chunks merged into this hit'),
  metadata: chunkMetadataView,
});
export type SearchResultView = z.output<typeof SearchResultViewSchema>;

export const SearchResultsSchema = z.object({ results: z.array(SearchResultViewSchema).describe('Best first') });
export type SearchResults = z.output<typeof SearchResultsSchema>;

export function toSearchResultView(h: SearchHit | MergedHit): SearchResultView {
  return {
    chunkId: h.chunkId,
    documentId: h.documentId,
    title: h.title,
    text: h.text,
    score: h.score,
    chunkIndex: h.chunkIndex,
    // Only with mergeAdjacent: without the options the response stays as api.md has it.
    chunkIds: 'chunkIds' in h ? h.chunkIds : undefined,
    metadata: { pages: h.pages, headingPath: h.headingPath, ...h.metadata },
  };
}
