import type { ConsoleApi } from './api';
import { byId } from './dom';

/**
 * The key form: opens by itself when the service answers 401 (and from the header button), stores the key through
 * ConsoleApi (localStorage), then calls `onKey` so the views load again with it.
 */
export function setUpKeyEntry(api: ConsoleApi, onKey: () => void): void {
  const panel = byId('key-panel');
  const form = byId<HTMLFormElement>('key-form');
  const input = byId<HTMLInputElement>('key-input');
  const reason = byId('key-reason');
  const button = byId<HTMLButtonElement>('key-button');

  const label = () => {
    button.textContent = api.key ? 'API key: set' : 'API key';
  };
  const open = (why?: string) => {
    reason.textContent = why ?? 'Requests carry this key as a bearer token. It is kept in this browser only.';
    input.value = '';
    panel.hidden = false;
    input.focus();
  };
  const close = () => {
    panel.hidden = true;
  };

  api.onUnauthorized((message) => open(`The service answered 401 unauthorized: ${message}. Enter an API key.`));
  button.addEventListener('click', () => open());
  byId('key-cancel').addEventListener('click', close);
  byId('key-forget').addEventListener('click', () => {
    api.setKey(undefined);
    label();
    close();
    onKey();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    api.setKey(input.value);
    label();
    close();
    onKey();
  });
  label();
}
