import { ConsoleApi } from './api';
import { ChatView } from './chat-view';
import { DocumentsView } from './documents-view';
import { setUpKeyEntry } from './key-entry';
import { SearchView } from './search-view';
import { UploadView } from './upload-view';

/** The console's entry: one API state, the views, and the key form that reloads them when a key is entered. */
function start(): void {
  let storage: Storage | undefined;
  try {
    storage = window.localStorage;
  } catch {
    storage = undefined;
  }
  // The API is the origin (and path) that served this page: the console works behind a path prefix too.
  const api = new ConsoleApi(new URL('.', window.location.href).href, storage);
  const documents = new DocumentsView(api);
  new UploadView(api, () => void documents.load());
  new SearchView(api);
  new ChatView(api);
  setUpKeyEntry(api, () => void documents.load());
  void documents.load();
  document.body.dataset.ready = 'true';
}

start();
