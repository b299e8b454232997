import type { AskAnswer, MessageList } from '../../src/client';
import { describeError, type ConsoleApi } from './api';
import { breakdownBar } from './breakdown-bar';
import { citationList } from './citations';
import { byId, clear, h } from './dom';
import { notify, notifyError } from './notice';

type Message = MessageList['messages'][number];

/**
 * Chat with a session: open an id (its history shows) or make a new one, then ask. The answer streams in (each delta
 * is appended as it arrives), then its citations and the context breakdown bar follow. Only one ask runs at a time.
 */
export class ChatView {
  private readonly sessionId = byId<HTMLInputElement>('session-id');
  private readonly collection = byId<HTMLInputElement>('session-collection');
  private readonly transcript = byId('transcript');
  private readonly question = byId<HTMLTextAreaElement>('question');
  private readonly askButton = byId<HTMLButtonElement>('ask-button');

  constructor(private readonly api: ConsoleApi) {
    byId<HTMLFormElement>('session-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.open(this.sessionId.value.trim());
    });
    byId('session-new').addEventListener('click', () => void this.create());
    byId<HTMLFormElement>('ask-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.ask();
    });
    this.question.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        void this.ask();
      }
    });
  }

  private async create(): Promise<void> {
    try {
      const collection = this.collection.value.trim() || undefined;
      const session = await this.api.call((c) => c.sessions.create({ collection }));
      this.sessionId.value = session.id;
      clear(this.transcript);
      notify(`Session ${session.id} (collection ${session.collection}).`);
    } catch (err) {
      notifyError('Creating a session failed', err);
    }
  }

  /** Shows the session's newest 50 messages; an unknown id is fine (the first ask creates it). */
  private async open(id: string): Promise<void> {
    if (!id) return this.create();
    clear(this.transcript);
    try {
      const page = await this.api.call((c) => c.sessions.messages(id, { limit: 50 }));
      for (const message of [...page.messages].reverse()) this.transcript.append(this.pastMessage(message));
      notify(`Session ${id}: ${page.messages.length} message(s) shown.`);
    } catch (err) {
      if (describeError(err).code === 'session_not_found') notify(`Session ${id} is new: the first question creates it.`);
      else notifyError(`Opening session ${id} failed`, err);
    }
  }

  private pastMessage(message: Message): HTMLElement {
    return h(
      'div',
      { class: `turn past ${message.role}`, 'data-seq': message.seq },
      h('p', { class: message.role === 'user' ? 'question' : 'answer' }, message.content),
      message.citations?.length ? citationList(this.api, message.citations) : null,
    );
  }

  private async ask(): Promise<void> {
    const question = this.question.value.trim();
    if (!question || this.askButton.disabled) return;
    if (!this.sessionId.value.trim()) await this.create();
    const id = this.sessionId.value.trim();
    if (!id) return;

    const answer = h('p', { class: 'answer', 'data-state': 'waiting' });
    const breakdown = h('div', { class: 'breakdown-slot' });
    const after = h('div', { class: 'after' });
    const turn = h('div', { class: 'turn' }, h('p', { class: 'question' }, question), answer, after, breakdown);
    this.transcript.append(turn);
    this.question.value = '';
    this.askButton.disabled = true;
    let done: AskAnswer | undefined;
    try {
      for await (const event of this.api.client.sessions.askStream(id, { question })) {
        if (event.type === 'context') {
          breakdown.replaceChildren(breakdownBar(event.context));
        } else if (event.type === 'delta') {
          // One text node per delta: the answer grows as the model writes it.
          answer.dataset.state = 'streaming';
          answer.append(document.createTextNode(event.text));
          turn.scrollIntoView({ block: 'end' });
        } else if (event.type === 'done') {
          done = event.answer;
        } else {
          throw Object.assign(new Error(event.message), { code: event.code });
        }
      }
      if (!done) throw new Error('the stream ended without an answer');
    } catch (err) {
      this.api.noticeUnauthorized(err);
      const code = (err as { code?: unknown }).code;
      const { message } = describeError(err);
      answer.dataset.state = 'failed';
      after.replaceChildren(
        h(
          'p',
          { class: 'error' },
          h('code', { class: 'error-code' }, typeof code === 'string' ? code : describeError(err).code),
          ` ${message}`,
        ),
      );
      this.askButton.disabled = false;
      return;
    }
    answer.dataset.state = 'done';
    answer.dataset.messageId = done.messageId;
    if (done.citations.length) after.replaceChildren(citationList(this.api, done.citations));
    breakdown.replaceChildren(breakdownBar(done.context));
    this.askButton.disabled = false;
    turn.scrollIntoView({ block: 'end' });
  }
}
