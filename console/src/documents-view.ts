import type { Document, DocumentListQuery } from '../../src/client';
import type { ConsoleApi } from './api';
import { byId, clear, h } from './dom';
import { notify, notifyError } from './notice';

/** How often the list is fetched again while a listed document is still queued or processing. */
const REFRESH_MS = 1000;
const PAGE = 50;

export const settled = (doc: Pick<Document, 'status'>) => doc.status === 'ready' || doc.status === 'failed';

/** "embedding 3/8", the stage a document's ingestion is at. */
export const progressText = (doc: Document) =>
  settled(doc) ? '' : `${doc.progress.stage}${doc.progress.total ? ` ${doc.progress.done}/${doc.progress.total}` : ''}`;

/**
 * The documents list: filtered by collection and status, paged with "More", fetched again every second while any
 * listed document is still on its way, and each row deletable (a second click confirms).
 */
export class DocumentsView {
  private readonly rows = byId('document-rows');
  private readonly empty = byId('documents-empty');
  private readonly more = byId<HTMLButtonElement>('documents-more');
  private readonly collection = byId<HTMLInputElement>('filter-collection');
  private readonly status = byId<HTMLSelectElement>('filter-status');
  private documents: Document[] = [];
  private nextCursor: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The document whose Delete was clicked once (the next click deletes it), until the timer disarms it. */
  private armed: string | undefined;
  private disarm: ReturnType<typeof setTimeout> | undefined;
  /** Answers of an older load are dropped once a newer one started. */
  private generation = 0;

  constructor(private readonly api: ConsoleApi) {
    byId<HTMLFormElement>('document-filters').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.load();
    });
    this.status.addEventListener('change', () => void this.load());
    this.more.addEventListener('click', () => void this.load(true));
  }

  /** Fetches the first page again (or the next one with `more`), and schedules the next refresh if needed. */
  async load(more = false): Promise<void> {
    clearTimeout(this.timer);
    const generation = ++this.generation;
    // A refresh keeps the pages already shown (up to the API's 100 per page).
    const query: DocumentListQuery = { limit: more ? PAGE : Math.min(100, Math.max(PAGE, this.documents.length)) };
    if (this.collection.value.trim()) query.collection = this.collection.value.trim();
    if (this.status.value) query.status = this.status.value as DocumentListQuery['status'];
    if (more && this.nextCursor) query.cursor = this.nextCursor;
    try {
      const page = await this.api.call((c) => c.documents.list(query));
      if (generation !== this.generation) return;
      this.documents = more ? [...this.documents, ...page.documents] : page.documents;
      this.nextCursor = page.nextCursor;
      this.render();
    } catch (err) {
      if (generation === this.generation) notifyError('Listing documents failed', err);
      return;
    }
    if (this.documents.some((d) => !settled(d))) this.timer = setTimeout(() => void this.load(), REFRESH_MS);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private render(): void {
    clear(this.rows);
    for (const doc of this.documents) this.rows.append(this.row(doc));
    this.empty.hidden = this.documents.length > 0;
    this.more.hidden = !this.nextCursor;
  }

  private row(doc: Document): HTMLTableRowElement {
    const armed = this.armed === doc.id;
    const remove = h('button', { type: 'button', class: 'quiet danger', 'data-action': 'delete' }, armed ? 'Confirm delete' : 'Delete');
    remove.addEventListener('click', () => void this.remove(doc, remove));
    const progress = settled(doc) ? null : h('progress', { max: doc.progress.total || 1, value: doc.progress.done });
    return h(
      'tr',
      { 'data-document-id': doc.id, 'data-status': doc.status },
      h('td', { class: 'title', title: doc.id }, doc.title),
      h('td', {}, doc.collection),
      h(
        'td',
        {},
        h('span', { class: `badge ${doc.status}` }, doc.status),
        progress,
        h('span', { class: 'muted' }, progressText(doc)),
        doc.error ? h('code', { class: 'error-code', title: doc.error.message }, doc.error.code) : null,
      ),
      h('td', { class: 'num' }, doc.chunkCount),
      h('td', {}, remove),
    );
  }

  private async remove(doc: Document, button: HTMLButtonElement): Promise<void> {
    if (this.armed !== doc.id) {
      // A second click within 5 s deletes: no modal dialog, and no deletion by one slip. Kept by the view, so a
      // refresh of the list in between keeps the button armed.
      clearTimeout(this.disarm);
      this.armed = doc.id;
      this.render();
      this.disarm = setTimeout(() => {
        this.armed = undefined;
        this.render();
      }, 5000);
      return;
    }
    clearTimeout(this.disarm);
    this.armed = undefined;
    button.disabled = true;
    try {
      await this.api.call((c) => c.documents.delete(doc.id));
      notify(`Deleted “${doc.title}”.`);
      this.documents = this.documents.filter((d) => d.id !== doc.id);
      this.render();
    } catch (err) {
      button.disabled = false;
      notifyError(`Deleting “${doc.title}” failed`, err);
    }
  }
}
