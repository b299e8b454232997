import { waitFor } from '../support/wait-for';
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
    expect(Object.keys(timing).sort()).toEqual(['build', 'model', 'retrieve', 'session', 'store', 'turn']);
    for (const ms of Object.values(timing)) expect(ms).toBeGreaterThanOrEqual(0);

    const second = await server.request('POST', '/sessions/timed/ask', { question: 'And what do they eat?' });
    expect(Object.keys(stages(second.headers.get('server-timing')))).toContain('history');

    const metrics = await server.request('GET', '/metrics');
    const count = (stage: string) =>
      Number(new RegExp(`ragmem_ask_stage_seconds_count\\{stage="${stage}"\\} (\\d+)`).exec(metrics.body)?.[1]);
    expect(count('model')).toBe(2);
    expect(count('history')).toBe(1);

    // A context preview says the same of the stages it runs (no model call, nothing stored).
    const preview = await server.request('POST', '/sessions/timed/context', { question: 'Which stones?' });
    expect(preview.status).toBe(200);
    expect(Object.keys(stages(preview.headers.get('server-timing'))).sort()).toEqual(['build', 'history', 'retrieve', 'session']);
  });
});

describe('When the tenant already holds every place of the fair scheduler', () => {
  it('then an ask waits for a turn before building its context, and says how long it waited', async () => {
    const fair = await startTestServer({ FAIR_MAX_INFLIGHT: '1' });
    try {
      // The tenant holds the process's one place (as a running search would).
      const hold = await fair.services.fairScheduler.enter('default', () => undefined);
      const asking = fair.request('POST', '/sessions/turns/ask', { question: 'Anyone there?', k: 0 });
      await waitFor('the ask to wait in line', () => (fair.services.fairScheduler.stats().waiting === 1 ? true : undefined));
      await new Promise((r) => setTimeout(r, 50));
      hold();
      const answer = await asking;
      expect(answer.status).toBe(200);
      const turn = /turn;dur=([\d.]+)/.exec(answer.headers.get('server-timing') ?? '');
      expect(Number(turn?.[1])).toBeGreaterThanOrEqual(50);
      // Its place is given back before the model call ends: nothing runs or waits now.
      expect(fair.services.fairScheduler.stats()).toEqual({ inflight: 0, waiting: 0 });
    } finally {
      await fair.cleanup();
    }
  });
});
