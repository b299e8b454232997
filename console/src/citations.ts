import type { AskAnswer } from '../../src/client';
import { describeError, type ConsoleApi } from './api';
import { h } from './dom';

export type Citation = AskAnswer['citations'][number];

/** Pages of GET /documents/:id/chunks read to find a cited chunk before its snippet stands in. */
const MAX_PAGES = 10;

/** The cited chunk's whole text, read page by page from the document's chunks; undefined when it is not there (any more). */
export async function chunkText(api: ConsoleApi, citation: Citation): Promise<string | undefined> {
  let cursor: number | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const list = await api.call((c) =>
      c.documents.chunks(citation.documentId, { limit: 200, ...(cursor !== undefined ? { cursor } : {}) }),
    );
    const found = list.chunks.find((chunk) => chunk.id === citation.chunkId);
    if (found) return found.text;
    if (!list.nextCursor) return undefined;
    cursor = Number(list.nextCursor);
  }
  return undefined;
}

/**
 * An answer's citations as links: `[n] Title` with the passage's score; a click shows the cited chunk's text below it
 * (from the document's chunks, or the citation's snippet when the chunk is gone), a second click hides it.
 */
export function citationList(api: ConsoleApi, citations: Citation[]): HTMLElement {
  const list = h('ol', { class: 'citations' });
  for (const citation of citations) {
    const chunk = h('blockquote', { class: 'chunk', hidden: true });
    const link = h(
      'a',
      { href: `#chunk-${citation.chunkId}`, class: 'citation', 'data-document-id': citation.documentId, 'data-chunk-id': citation.chunkId },
      `[${citation.marker}] ${citation.title}`,
    );
    link.addEventListener('click', (event) => {
      event.preventDefault();
      void toggle(api, citation, chunk);
    });
    list.append(
      h('li', { 'data-marker': citation.marker }, link, ' ', h('span', { class: 'muted score' }, citation.score.toFixed(3)), chunk),
    );
  }
  return list;
}

async function toggle(api: ConsoleApi, citation: Citation, chunk: HTMLElement): Promise<void> {
  if (!chunk.hidden) {
    chunk.hidden = true;
    return;
  }
  chunk.hidden = false;
  if (chunk.dataset.source) return;
  chunk.textContent = 'Loading the chunk…';
  try {
    const text = await chunkText(api, citation);
    chunk.dataset.source = text === undefined ? 'snippet' : 'chunk';
    chunk.textContent = text ?? citation.snippet;
  } catch (err) {
    chunk.dataset.source = 'snippet';
    chunk.textContent = `${citation.snippet}\n(${describeError(err).code}: the whole chunk could not be read)`;
  }
}
