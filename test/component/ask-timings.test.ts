import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';

/** Where an ask's time goes, as an operator reads it: the Server-Timing header and the per-stage histogram. */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.cleanup();
});

describe('When a chat app asks', () => {
  it('then the answer says how long each stage took, and /metrics adds them up per stage', async () => {
    const doc = await server.request('POST', '/documents', { text: 'Otters crack mussels on their bellies with stones.' });
    await waitForDocument(server, doc.body.id);
    const first = await server.request('POST', '/sessions/timed/ask', { question: 'How do otters open mussels?' });
    expect(first.status).toBe(200);
    const stages = (header: string | null) =>
      Object.fromEntries((header ?? '').split(', ').map((part) => [part.split(';')[0], Number(part.split('dur=')[1])]));
    // A new session has no history to read and nothing to recall yet.
    const timing = stages(first.headers.get('server-timing'));
    expect(Object.keys(timing).sort()).toEqual(['build', 'model', 'retrieve', 'session', 'store']);
    for (const ms of Object.values(timing)) expect(ms).toBeGreaterThanOrEqual(0);

    const second = await server.request('POST', '/sessions/timed/ask', { question: 'And what do they eat?' });
    expect(Object.keys(stages(second.headers.get('server-timing')))).toContain('history');

    const metrics = await server.request('GET', '/metrics');
    const count = (stage: string) => Number(new RegExp(`ragmem_ask_stage_seconds_count\\{stage="${stage}"\\} (\\d+)`).exec(metrics.body)?.[1]);
    expect(count('model')).toBe(2);
    expect(count('history')).toBe(1);
  });
});
