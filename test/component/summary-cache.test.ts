import { randomBytes } from 'node:crypto';
import { waitFor } from '../support/wait-for';
import type { TestServer } from '../support/test-server';
import type { MistralDouble } from '../support/mistral-double';
import { startServiceOnMistral } from '../support/mistral-service';
import { FOLD_INSTRUCTIONS } from '../../src/sessions/summarize-session';

/** Summaries are made at temperature 0, so with CHAT_CACHE=on a fold the model already made is not asked for again. */
let upstream: MistralDouble;
let server: TestServer;
let stop: (() => Promise<void>) | undefined;
const KEEP_RECENT = 2;
const TRIGGER = 4;
beforeAll(async () => {
  ({ server, upstream, stop } = await startServiceOnMistral({
    CHAT_CACHE: 'on',
    SUMMARY_KEEP_RECENT_MESSAGES: String(KEEP_RECENT),
    SUMMARY_TRIGGER_MESSAGES: String(TRIGGER),
  }));
});
afterAll(async () => {
  await stop?.();
});

/** The same conversation, timestamps included, so both sessions fold exactly the same input. */
const conversation = Array.from({ length: 8 }, (_, i) => ({
  role: i % 2 === 0 ? 'user' : 'assistant',
  content:
    i % 2 === 0
      ? `Question ${i}: what did the survey of the Lofoten reefs find in site ${i}?`
      : `Site ${i - 1} had 4${i} coral colonies and clear water.`,
  createdAt: new Date(Date.UTC(2026, 0, 5, 9, i)).toISOString(),
}));

const folds = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions' && r.body.messages[0]?.content === FOLD_INSTRUCTIONS);

async function summarised(id: string) {
  await server.request('POST', `/sessions/${id}/messages`, { messages: conversation });
  return waitFor(`the summary of ${id}`, async () => {
    const view = (await server.request('GET', `/sessions/${id}`)).body;
    return (view.summary?.coversThroughSeq ?? 0) >= conversation.length - KEEP_RECENT ? view.summary : undefined;
  });
}

describe('When two sessions hold the same conversation and the chat cache is on', () => {
  it('then the first fold goes to the model at temperature 0 and the second session’s summary comes from the cache', async () => {
    const first = await summarised(`c-${randomBytes(6).toString('hex')}`);
    const asked = folds();
    expect(asked.length).toBeGreaterThan(0);
    for (const fold of asked) expect(fold.body.temperature).toBe(0);

    const second = await summarised(`c-${randomBytes(6).toString('hex')}`);
    expect(folds()).toHaveLength(asked.length);
    expect(second.text).toBe(first.text);
    expect(second.coversThroughSeq).toBe(first.coversThroughSeq);
  });
});
