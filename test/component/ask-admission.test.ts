import { startServiceOnMistral, type ServiceOnMistral } from '../support/mistral-service';
import { waitFor } from '../support/wait-for';

/** Asks one process works on at once are bounded (MAX_INFLIGHT_ASKS): past it, 503 asks_busy at once. */
let svc: ServiceOnMistral;

beforeAll(async () => {
  svc = await startServiceOnMistral({ MAX_INFLIGHT_ASKS: '1', MODEL_OFFLINE_FALLBACK: 'off' });
});
afterAll(async () => {
  await svc?.stop();
});

describe('When a process already answers MAX_INFLIGHT_ASKS questions', () => {
  it('then another ask gets 503 asks_busy with Retry-After, and asks are taken again once the first is answered', async () => {
    // The first chat completion takes two seconds at the model.
    svc.upstream.script([{ delayMs: 2_000, for: (r) => r.path.endsWith('/chat/completions') }]);
    const first = svc.server.request('POST', '/sessions/slow/ask', { question: 'What do herons eat?', k: 0 });
    await waitFor('the first ask to reach the model', () =>
      svc.upstream.requests.some((r) => r.path.endsWith('/chat/completions')) ? true : undefined,
    );

    const refused = await svc.server.request('POST', '/sessions/other/ask', { question: 'And egrets?', k: 0 });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'asks_busy', details: { maxInflight: 1 } });
    expect(refused.headers.get('retry-after')).toBe('1');
    // Other routes are not held back by it.
    expect((await svc.server.request('POST', '/search', { query: 'herons' })).status).toBe(200);

    expect((await first).status).toBe(200);
    expect((await svc.server.request('POST', '/sessions/other/ask', { question: 'And egrets?', k: 0 })).status).toBe(200);
  });
});
