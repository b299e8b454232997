import { describeError } from './api';
import { byId } from './dom';

/** The header's one status line: the last thing worth telling (an error's code and message, or a done deed). */
export function notify(text: string, kind: 'info' | 'error' = 'info'): void {
  const el = byId('notice');
  el.textContent = text;
  el.dataset.kind = kind;
}

export function notifyError(what: string, err: unknown): void {
  const { code, message } = describeError(err);
  notify(`${what}: ${code}: ${message}`, 'error');
}
