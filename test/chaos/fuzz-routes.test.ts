import fc from 'fast-check';
import { checkAnswer, fuzzRequest, operationsOf, send, StatusHistogram, type Operation } from '../support/fuzz-requests';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Long fuzz run (`npm run test:chaos`): thousands of generated and mutated requests to every operation of
 * GET /openapi.json, with and without a valid key, bounded to ~3 minutes (FUZZ_RUNS, FUZZ_SECONDS override). No 5xx
 * but 503 dependency_unavailable, every error in the envelope with a catalogue code, /healthz answering throughout.
 * Prints the request count and the status histogram for the README.
 */
const KEY = 'k1';
const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 170);
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

it('When thousands of generated requests hit every route, Then none answers 5xx or breaks the envelope, and /healthz stays up', async () => {
  const histogram = new StatusHistogram();
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const started = Date.now();
  let healthChecks = 0;
  await fc.assert(
    fc.asyncProperty(fuzzRequest(ops, KEY), async (r) => {
      const res = await send(server.url, r);
      histogram.add(res);
      if (histogram.total % 100 === 0) {
        expect((await server.request('GET', '/healthz')).status).toBe(200);
        healthChecks += 1;
      }
      const problem = checkAnswer(r, res);
      if (problem) throw new Error(`${r.label}: ${problem}`);
    }),
    { numRuns: RUNS, seed, endOnFailure: true, interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false },
  );
  expect((await server.request('GET', '/healthz')).status).toBe(200);
  console.log(
    `fuzz: ${histogram.total} requests to ${ops.length} operations in ${Math.round((Date.now() - started) / 1000)} s (seed ${seed}), ` +
      `${healthChecks} /healthz checks all 200\nstatus histogram: ${histogram.toString()}`,
  );
  expect(histogram.total).toBeGreaterThan(1000);
});
