import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';

/**
 * Tenant A floods the API from 32 connections (the load bench's client count) while tenant B goes about its business.
 * What must hold: every one of B's requests succeeds, and A's excess is refused cheaply (429 with Retry-After) instead
 * of queueing in front of B. B's latencies are printed for the record, not asserted (timings belong to `npm run bench`).
 */
const A = { authorization: 'Bearer ka' };
const B = { authorization: 'Bearer kb' };

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

describe('When one tenant floods the API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ API_KEYS: 'ka=alpha,kb=beta', KEY_RATE_LIMIT_RPS: '50', KEY_RATE_LIMIT_BURST: '50' });
    for (const [headers, topic] of [[A, 'Falcons stoop on pigeons over the city.'], [B, 'Otters crack mussels on their bellies.']] as const) {
      const doc = await server.request('POST', '/documents', { text: topic }, headers);
      await waitForDocument(server, doc.body.id, headers);
    }
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  async function timedSearches(n: number): Promise<number[]> {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const res = await server.request('POST', '/search', { query: 'otters mussels' }, B);
      ms.push(performance.now() - started);
      expect(res.status).toBe(200);
      expect(res.body.results[0].text).toMatch(/Otters/);
    }
    return ms;
  }

  it("then the other tenant's requests all succeed while the flood is refused with 429", async () => {
    const quiet = await timedSearches(30);

    let flooding = true;
    const statuses: number[] = [];
    const flood = Promise.all(
      Array.from({ length: 32 }, async () => {
        while (flooding) {
          const res = await server.request('POST', '/search', { query: 'falcons' }, A);
          statuses.push(res.status);
          if (res.status === 429) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        }
      }),
    );
    // B starts once A's burst is spent, so it meets the flood at full strength.
    const deadline = Date.now() + 30_000;
    while (!statuses.includes(429)) {
      if (Date.now() > deadline) throw new Error('the flood was never refused');
      await new Promise((r) => setTimeout(r, 10));
    }
    const busy = await timedSearches(60);
    flooding = false;
    await flood;

    const refused = statuses.filter((s) => s === 429).length;
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(refused).toBeGreaterThan(0);
    const f = (xs: number[]) => `p50 ${percentile(xs, 0.5).toFixed(1)} ms, p95 ${percentile(xs, 0.95).toFixed(1)} ms`;
    process.stdout.write(`noisy neighbour: B alone ${f(quiet)}; B during A's flood ${f(busy)}; A sent ${statuses.length}, ${refused} refused\n`);
  });
});
