import { randomBytes } from 'node:crypto';
import { waitFor } from '../support/wait-for';
import type { TestServer } from '../support/test-server';
import type { MistralDouble, RecordedRequest } from '../support/mistral-double';
import { startServiceOnMistral } from '../support/mistral-service';

/** Asks answered by Mistral's wire format (a local double): what is sent, and what a client that leaves gets stored. */
let upstream: MistralDouble;
let server: TestServer;
let stop: (() => Promise<void>) | undefined;
beforeAll(async () => {
  ({ server, upstream, stop } = await startServiceOnMistral({}, { dimensions: 1024, streamChunks: 4 }));
});
afterAll(async () => {
  await stop?.();
});

const newId = () => `m-${randomBytes(6).toString('hex')}`;
const chatRequests = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions');

/** Streamed asks ended so far, per outcome (ragmem_asks_total). */
async function streamedAsksEnded(): Promise<Map<string, number>> {
  const { values } = await server.services.metrics.asksTotal.get();
  return new Map(values.filter((v) => v.labels.mode === 'stream').map((v) => [String(v.labels.outcome), v.value]));
}

describe('When a session asks a Mistral model', () => {
  it('then the model receives exactly the messages the context endpoint shows, and the answer is stored', async () => {
    const id = newId();
    await server.request(
      'POST',
      `/sessions/${id}/messages`,
      {
        messages: [
          { role: 'user', content: 'We agreed the budget for the Orion project is 12,000 euros.' },
          { role: 'assistant', content: 'Noted: Orion has a 12,000 euro budget.' },
        ],
      },
      {},
    );
    const body = { question: 'What is the Orion budget?', k: 0, maxContextTokens: 4000 };
    const preview = await server.request('POST', `/sessions/${id}/context`, body);
    expect(preview.status).toBe(200);
    const before = chatRequests().length;
    const asked = await server.request('POST', `/sessions/${id}/ask`, body);
    expect(asked.status).toBe(200);
    // The ask's own call (found by its question, should a background job also call the model meanwhile).
    const sent = chatRequests()
      .slice(before)
      .find((r) => JSON.stringify(r.body.messages).includes('What is the Orion budget?'))!.body;
    expect(sent.model).toBe('mistral-small-latest');
    expect(sent.messages.map((m: { role: string; content: string }) => ({ role: m.role, content: m.content }))).toEqual(
      preview.body.messages,
    );
    // The answer may use what the 4,000-token limit leaves after the prompt.
    expect(sent.max_tokens).toBe(Math.min(4096, 4000 - preview.body.context.used));
    expect(asked.body).toMatchObject({ answer: 'echo: What is the Orion budget?', model: 'mistral-small-latest', citations: [] });
    expect(asked.body.usage.promptTokens).toBeGreaterThan(0);
    const session = await server.request('GET', `/sessions/${id}`);
    expect(session.body.messageCount).toBe(4);
  });

  it('then a streaming client that disconnects cancels the model call and nothing is stored', async () => {
    const id = newId();
    const before = chatRequests().length;
    const endedBefore = await streamedAsksEnded();
    const isOurs = (r: RecordedRequest) =>
      r.path === '/v1/chat/completions' && JSON.stringify(r.body.messages).includes('long story about lighthouses');
    upstream.script([{ delayMs: 5000, for: isOurs }]);
    const controller = new AbortController();
    const pending = fetch(`${server.url}/sessions/${id}/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ question: 'Tell me a long story about lighthouses.', k: 0 }),
      signal: controller.signal,
    });
    const res = await pending;
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: context\n/);
    // This ask's own call: a background job (a summary of an earlier test's session) may call the model meanwhile.
    const index = upstream.requests.indexOf(await waitFor('the chat call', () => chatRequests().slice(before).find(isOurs)));
    controller.abort();
    await upstream.waitForClientClose(index, 5000);
    expect(upstream.requests[index].closedEarly).toBe(true);
    // Once the ask has ended (counted by ragmem_asks_total), it has done all it will: it stored nothing.
    const outcome = await waitFor('the cancelled ask to end', async () => {
      const ended = await streamedAsksEnded();
      return [...ended].find(([outcome, n]) => n > (endedBefore.get(outcome) ?? 0))?.[0];
    });
    // Cut off in the model call (`aborted`) or just after it (`client_closed_request`), depending on timing.
    expect(['aborted', 'client_closed_request']).toContain(outcome);
    expect((await server.request('GET', `/sessions/${id}`)).status).toBe(404);
  });

  it('then a model failure mid-stream ends the stream with an error event and stores nothing', async () => {
    const id = newId();
    upstream.script([{ brokenStream: true, for: (r) => JSON.stringify(r.body?.messages ?? '').includes('Bay of Fundy') }]);
    const res = await fetch(`${server.url}/sessions/${id}/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question: 'Describe the tides of the Bay of Fundy in detail.', k: 0, stream: true }),
    });
    const text = await res.text();
    expect(text).toMatch(/^event: context\n/);
    expect(text).toMatch(/event: delta\n/);
    expect(text).toMatch(/event: error\ndata: \{"code":"[a-z_]+","message":/);
    expect(text).not.toMatch(/event: done/);
    expect((await server.request('GET', `/sessions/${id}`)).status).toBe(404);
  });

  it('then a session deleted while its answer is being made answers 409 session_deleted and stays deleted', async () => {
    const id = newId();
    await server.request('POST', `/sessions/${id}/messages`, { messages: [{ role: 'user', content: 'We were talking about glaciers.' }] });
    const isOurs = (r: RecordedRequest) => r.path === '/v1/chat/completions' && JSON.stringify(r.body.messages).includes('moraines');
    upstream.script([{ delayMs: 1500, for: isOurs }]);
    const asking = server.request('POST', `/sessions/${id}/ask`, { question: 'And what are moraines?', k: 0 });
    await waitFor('the chat call', () => chatRequests().find(isOurs));
    expect((await server.request('DELETE', `/sessions/${id}`)).status).toBe(204);
    const answer = await asking;
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('session_deleted');
    expect((await server.request('GET', `/sessions/${id}`)).status).toBe(404);
  });
});
