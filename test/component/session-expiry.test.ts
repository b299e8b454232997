import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';
import { sessionDocumentId } from '../../src/sessions/session-recall-index';

/** Idle sessions expire as a whole: messages and summary in Redis, and their recall vectors through the sweep. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SESSION_TTL_SECONDS: '1', SESSION_SWEEP_INTERVAL_MS: '250' });
});
afterAll(async () => {
  await server?.cleanup();
});

const turns = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: `${tag} turn ${i}: the glacier survey found ${i * 3} crevasses.`,
  }));
/** The recall vectors of one session generation (its document in the `_sessions` collection). */
const vectorsOfSession = async (sessionId: string) => {
  const session = await server.services.sessions.get('default', sessionId);
  if (!session) throw new Error(`no session ${sessionId}`);
  const documentId = sessionDocumentId(sessionId, session.generation);
  return () => server.services.sessionVectors.count('default', { collection: '_sessions', documentId });
};

const until = (what: string, probe: () => Promise<boolean>, timeoutMs = 15_000) =>
  waitFor(what, async () => ((await probe()) ? true : undefined), timeoutMs, 100);

describe('When a session stays idle past SESSION_TTL_SECONDS', () => {
  it('then its messages expire and the sweep deletes its recall vectors, while a session in use keeps its own', async () => {
    const idle = `idle-${randomBytes(4).toString('hex')}`;
    const busy = `busy-${randomBytes(4).toString('hex')}`;
    await server.request('POST', `/sessions/${idle}/messages`, { messages: turns(10, 'idle') });
    const idleVectors = await vectorsOfSession(idle);
    await server.request('POST', `/sessions/${busy}/messages`, { messages: turns(6, 'busy') });
    const busyVectors = await vectorsOfSession(busy);
    // Both are kept in use until recall has indexed them (a 1 s TTL is short on a loaded machine), so that the idle
    // session's vectors exist before it goes quiet: their sweep below is then a real deletion.
    const warmUp: Array<Promise<unknown>> = [];
    const touch = setInterval(() => {
      for (const id of [idle, busy]) warmUp.push(server.request('POST', `/sessions/${id}/messages`, { messages: turns(1, 'warm') }));
    }, 300);
    try {
      await until('both are indexed', async () => (await idleVectors()) >= 10 && (await busyVectors()) >= 6);
    } finally {
      clearInterval(touch);
      await Promise.allSettled(warmUp);
    }

    // The busy session keeps talking; the idle one says nothing more.
    const inFlight: Array<Promise<unknown>> = [];
    const keepAlive = setInterval(
      () => inFlight.push(server.request('POST', `/sessions/${busy}/messages`, { messages: turns(1, 'still busy') })),
      300,
    );
    try {
      await until('the idle session expired', async () => (await server.request('GET', `/sessions/${idle}`)).status === 404);
      await until('the idle session’s vectors are swept', async () => (await idleVectors()) === 0);
      // Both were created together, so the busy one has outlived its TTL too: use keeps it.
      expect((await server.request('GET', `/sessions/${busy}`)).status).toBe(200);
      // Recall keeps up with the busy session while it is in use (it would expire if left idle for its 1 s TTL, so
      // the appends go on until recall has indexed through what it held here).
      const target = (await server.request('GET', `/sessions/${busy}`)).body.lastSeq;
      await until(
        'the busy session is indexed',
        async () => (await server.request('GET', `/sessions/${busy}`)).body.recallIndexedThroughSeq >= target,
        60_000,
      );
      // The busy session keeps its vectors: one per message indexed, none beyond what it holds.
      const vectors = await busyVectors();
      const after = await server.request('GET', `/sessions/${busy}`);
      expect(after.status).toBe(200);
      expect(vectors).toBeGreaterThanOrEqual(target);
      expect(vectors).toBeLessThanOrEqual(after.body.lastSeq);
    } finally {
      clearInterval(keepAlive);
      await Promise.allSettled(inFlight);
    }
    // And the expired id starts afresh when used again.
    const again = await server.request('POST', `/sessions/${idle}/messages`, { messages: turns(2, 'new') });
    expect(again.body).toEqual({ appended: 2, lastSeq: 2 });
  });
});
