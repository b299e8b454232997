import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/**
 * Tenant A floods the API from 32 connections (the load bench's client count) while tenant B goes about its business.
 * What must hold: every one of B's requests succeeds, and A's excess is refused cheaply (429 with Retry-After) instead
 * of queueing in front of B. B's latencies are printed for the record, not asserted (timings belong to `npm run bench`).
 */
const A = { authorization: 'Bearer ka' };
const B = { authorization: 'Bearer kb' };

/**
 * Each key may send 10 requests a second. A's 32 connections exceed that unless a search takes over 3 s, so the flood
 * is refused however slow the machine; B sends one request every 200 ms, half its allowance, however fast it is.
 */
const RATE_LIMIT_RPS = 10;
const B_INTERVAL_MS = 200;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

describe('When one tenant floods the API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      API_KEYS: 'ka=alpha,kb=beta',
      KEY_RATE_LIMIT_RPS: String(RATE_LIMIT_RPS),
      KEY_RATE_LIMIT_BURST: String(RATE_LIMIT_RPS),
    });
    for (const [headers, topic] of [
      [A, 'Falcons stoop on pigeons over the city.'],
      [B, 'Otters crack mussels on their bellies.'],
    ] as const) {
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
      // Paced, so B stays within its own rate limit: what is tested is A's flood, not B's allowance.
      const pause = started + B_INTERVAL_MS - performance.now();
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
    return ms;
  }

  it("then the other tenant's requests all succeed while the flood is refused with 429", async () => {
    const quiet = await timedSearches(10);

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
    await waitFor('the flood to be refused', () => (statuses.includes(429) ? true : undefined), 30_000, 10);
    const busy = await timedSearches(30);
    flooding = false;
    await flood;

    const refused = statuses.filter((s) => s === 429).length;
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(refused).toBeGreaterThan(0);
    const f = (xs: number[]) => `p50 ${percentile(xs, 0.5).toFixed(1)} ms, p95 ${percentile(xs, 0.95).toFixed(1)} ms`;
    process.stdout.write(
      `noisy neighbour: B alone ${f(quiet)}; B during A's flood ${f(busy)}; A sent ${statuses.length}, ${refused} refused\n`,
    );
  });
});
