import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/** Idle sessions expire as a whole: messages and summary in Redis, and their recall vectors through the sweep. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SESSION_TTL_SECONDS: '1', SESSION_SWEEP_INTERVAL_MS: '250' });
});
afterAll(async () => {
  await server?.cleanup();
});

const turns = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `${tag} turn ${i}: the glacier survey found ${i * 3} crevasses.` }));
const vectorsOf = (tenant = 'default') => server.services.sessionVectors.count(tenant, { collection: '_sessions' });

const until = (what: string, probe: () => Promise<boolean>, timeoutMs = 15_000) => waitFor(what, async () => ((await probe()) ? true : undefined), timeoutMs, 100);

describe('When a session stays idle past SESSION_TTL_SECONDS', () => {
  it('then its messages expire and the sweep deletes its recall vectors, while a session in use keeps its own', async () => {
    const idle = `idle-${randomBytes(4).toString('hex')}`;
    const busy = `busy-${randomBytes(4).toString('hex')}`;
    await server.request('POST', `/sessions/${idle}/messages`, { messages: turns(10, 'idle') });
    await server.request('POST', `/sessions/${busy}/messages`, { messages: turns(6, 'busy') });
    await until('both are indexed', async () => (await vectorsOf()) >= 16);

    // The busy session keeps talking; the idle one says nothing more.
    const inFlight: Array<Promise<unknown>> = [];
    const keepAlive = setInterval(() => inFlight.push(server.request('POST', `/sessions/${busy}/messages`, { messages: turns(1, 'still busy') })), 300);
    try {
      await until('the idle session expired', async () => (await server.request('GET', `/sessions/${idle}`)).status === 404);
      await until('the idle session’s vectors are swept', async () => (await vectorsOf()) < 16);
      await new Promise((r) => setTimeout(r, 1500));
      expect((await server.request('GET', `/sessions/${busy}`)).status).toBe(200);
    } finally {
      clearInterval(keepAlive);
    }
    // Every append has landed (none may still be in flight), and recall has indexed through the last of them.
    await Promise.all(inFlight);
    const busySession = (await server.request('GET', `/sessions/${busy}`)).body;
    await until('the busy session is indexed', async () => (await server.request('GET', `/sessions/${busy}`)).body.recallIndexedThroughSeq >= busySession.lastSeq);
    // Only the busy session's vectors remain: one per message it holds.
    const busyCount = (await server.request('GET', `/sessions/${busy}`)).body.messageCount;
    expect(await vectorsOf()).toBeGreaterThanOrEqual(busyCount);
    expect(await vectorsOf()).toBeLessThan(busyCount + 10);
    // And the expired id starts afresh when used again.
    const again = await server.request('POST', `/sessions/${idle}/messages`, { messages: turns(2, 'new') });
    expect(again.body).toEqual({ appended: 2, lastSeq: 2 });
  });
});
