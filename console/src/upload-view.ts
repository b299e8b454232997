import type { Document } from '../../src/client';
import { describeError, type ConsoleApi } from './api';
import { byId, h } from './dom';
import { progressText, settled } from './documents-view';

/** How often an upload's document is read while it is queued or processing. */
const POLL_MS = 500;

/**
 * Uploads by drag and drop or the file picker: one line per file with its status and ingestion progress, read again
 * until the document is ready or failed (then its error code shows). `onChange` tells the documents list.
 *
 * The client is fetch-only, and fetch reports no upload progress: a file shows "uploading" until the service has it,
 * then the stages of its ingestion (parsing, chunking, embedding, indexing) with done/total.
 */
export class UploadView {
  private readonly zone = byId('drop-zone');
  private readonly input = byId<HTMLInputElement>('file-input');
  private readonly collection = byId<HTMLInputElement>('upload-collection');
  private readonly list = byId('uploads');

  constructor(
    private readonly api: ConsoleApi,
    private readonly onChange: () => void,
  ) {
    this.input.addEventListener('change', () => {
      this.uploadAll(this.input.files);
      this.input.value = '';
    });
    this.zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
      this.zone.classList.add('over');
    });
    this.zone.addEventListener('dragleave', () => this.zone.classList.remove('over'));
    this.zone.addEventListener('drop', (event) => {
      event.preventDefault();
      this.zone.classList.remove('over');
      this.uploadAll(event.dataTransfer?.files);
    });
    this.zone.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') this.input.click();
    });
  }

  private uploadAll(files: FileList | null | undefined): void {
    for (const file of Array.from(files ?? [])) void this.upload(file);
  }

  private async upload(file: File): Promise<void> {
    const status = h('span', { class: 'badge uploading' }, 'uploading');
    const bar = h('progress', {});
    const detail = h('span', { class: 'muted' });
    const line = h(
      'li',
      { 'data-file': file.name, 'data-status': 'uploading' },
      h('span', { class: 'name' }, file.name),
      status,
      bar,
      detail,
    );
    this.list.prepend(line);
    const show = (doc: Document) => {
      line.dataset.status = doc.status;
      line.dataset.documentId = doc.id;
      status.className = `badge ${doc.status}`;
      status.textContent = doc.duplicate ? `${doc.status} (duplicate)` : doc.status;
      bar.max = doc.progress.total || 1;
      bar.value = settled(doc) ? bar.max : doc.progress.done;
      detail.textContent = doc.error ? '' : progressText(doc);
      if (doc.error) detail.replaceChildren(h('code', { class: 'error-code', title: doc.error.message }, doc.error.code));
    };
    const fail = (err: unknown) => {
      const { code, message } = describeError(err);
      line.dataset.status = 'failed';
      status.className = 'badge failed';
      status.textContent = 'failed';
      bar.remove();
      detail.replaceChildren(h('code', { class: 'error-code', title: message }, code));
    };

    let doc: Document;
    try {
      const collection = this.collection.value.trim() || undefined;
      doc = await this.api.call((c) => c.documents.upload(file, file.name, { collection }));
    } catch (err) {
      return fail(err);
    }
    show(doc);
    this.onChange();
    while (!settled(doc)) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      try {
        doc = await this.api.call((c) => c.documents.get(doc.id));
      } catch (err) {
        return fail(err);
      }
      show(doc);
    }
    this.onChange();
  }
}
