import fc from 'fast-check';
import { checkAnswer, fuzzRequest, operationsOf, send, StatusHistogram, type Operation } from '../support/fuzz-requests';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Short fuzz run (a few hundred requests): generated and mutated requests to every operation of GET /openapi.json,
 * with and without a valid key. No 5xx but 503 dependency_unavailable, every error in the envelope with a catalogue
 * code, and /healthz answering throughout. The long run is test/chaos/fuzz-routes.test.ts.
 */
const KEY = 'k1';
let server: TestServer;
let ops: Operation[];

beforeAll(async () => {
  server = await startTestServer({ API_KEYS: `${KEY}=tenant-a` });
  const doc = await server.request('GET', '/openapi.json');
  expect(doc.status).toBe(200);
  ops = operationsOf(doc.body);
});
afterAll(async () => {
  await server?.cleanup();
});

it('When a few hundred generated requests hit every route, Then none answers 5xx or breaks the envelope, and /healthz stays up', async () => {
  const histogram = new StatusHistogram();
  const failures: string[] = [];
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(fuzzRequest(ops, KEY), async (r) => {
      const res = await send(server.url, r);
      sent += 1;
      histogram.add(res);
      const problem = checkAnswer(r, res);
      if (problem) failures.push(`${r.label}: ${problem}`);
      if (sent % 50 === 0) expect((await server.request('GET', '/healthz')).status).toBe(200);
      if (problem) throw new Error(`${r.label}: ${problem}`);
    }),
    { numRuns: 300, endOnFailure: true, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
  );
  expect(failures).toEqual([]);
  expect((await server.request('GET', '/healthz')).status).toBe(200);
  // Every operation was reached with a valid key at least once in a run this size (ops.length is ~25).
  expect(ops.length).toBeGreaterThan(15);
  expect(histogram.total).toBe(sent);
}, 120_000);
