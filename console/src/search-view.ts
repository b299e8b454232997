import type { SearchRequest, SearchResults } from '../../src/client';
import type { ConsoleApi } from './api';
import { byId, clear, h } from './dom';
import { notifyError } from './notice';

type Mode = NonNullable<SearchRequest['mode']>;
const SNIPPET_CHARS = 280;

export const snippet = (text: string, max = SNIPPET_CHARS) => (text.length > max ? `${text.slice(0, max).trimEnd()}…` : text);

/** Search with the mode switch (hybrid, dense, keyword): each hit's title, score and the start of its passage. */
export class SearchView {
  private readonly form = byId<HTMLFormElement>('search-form');
  private readonly query = byId<HTMLInputElement>('search-query');
  private readonly collection = byId<HTMLInputElement>('search-collection');
  private readonly results = byId('search-results');

  constructor(private readonly api: ConsoleApi) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.search();
    });
    // Switching the mode searches again at once: the switch is there to compare.
    for (const radio of this.form.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
      radio.addEventListener('change', () => {
        if (this.query.value.trim()) void this.search();
      });
    }
  }

  private mode(): Mode {
    return (this.form.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value ?? 'hybrid') as Mode;
  }

  private async search(): Promise<void> {
    const request: SearchRequest = { query: this.query.value.trim(), mode: this.mode(), k: 8 };
    if (this.collection.value.trim()) request.collection = this.collection.value.trim();
    this.results.dataset.state = 'searching';
    let answer: SearchResults;
    try {
      answer = await this.api.call((c) => c.search(request));
    } catch (err) {
      this.results.dataset.state = 'failed';
      return notifyError('Search failed', err);
    }
    clear(this.results);
    for (const hit of answer.results) {
      this.results.append(
        h(
          'li',
          { class: 'hit', 'data-document-id': hit.documentId, 'data-chunk-id': hit.chunkId },
          h(
            'div',
            { class: 'hit-head' },
            h('span', { class: 'hit-title' }, hit.title),
            h('span', { class: 'hit-score' }, hit.score.toFixed(3)),
          ),
          h('p', { class: 'hit-snippet' }, snippet(hit.text)),
        ),
      );
    }
    if (answer.results.length === 0) this.results.append(h('li', { class: 'muted' }, 'No hits.'));
    this.results.dataset.state = 'done';
    this.results.dataset.mode = request.mode;
  }
}
