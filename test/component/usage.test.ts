import { waitForDocument, type TestServer } from '../support/test-server';
import type { MistralDouble } from '../support/mistral-double';
import { startServiceOnMistral } from '../support/mistral-service';

/** The service with a Mistral key: embeddings go through the gateway to Mistral's wire format (a local double). */
let upstream: MistralDouble;
let server: TestServer;
let stop: (() => Promise<void>) | undefined;
beforeAll(async () => {
  ({ server, upstream, stop } = await startServiceOnMistral({ API_KEYS: 'ka=alpha,kb=beta', ADMIN_API_KEY: ADMIN_KEY }));
});
afterAll(async () => {
  await stop?.();
});

const A = { authorization: 'Bearer ka' };
/** /metrics needs the admin key. */
const ADMIN_KEY = 'admin-usage-0123456789abcdef';

describe('When a Mistral key is configured', () => {
  it('then documents are embedded by mistral-embed through the gateway, and /usage shows the tenant’s tokens', async () => {
    expect(server.services.embedder).toMatchObject({ model: 'mistral-embed', dimensions: 1024 });
    const created = await server.request('POST', '/documents', { text: 'Reindeer migrate across the Finnmark plateau each spring.' }, A);
    expect((await waitForDocument(server, created.body.id, A)).status).toBe('ready');
    const embedCalls = upstream.requests.filter((r) => r.path === '/v1/embeddings');
    expect(embedCalls.length).toBeGreaterThan(0);
    expect(embedCalls[0].body).toMatchObject({ model: 'mistral-embed' });

    const found = await server.request('POST', '/search', { query: 'reindeer migration Finnmark' }, A);
    expect(found.body.results[0].documentId).toBe(created.body.id);

    const usage = await server.request('GET', '/usage', undefined, A);
    expect(usage.status).toBe(200);
    const embed = usage.body.usage.find((r: { model: string }) => r.model === 'mistral-embed');
    expect(embed.calls).toBeGreaterThanOrEqual(2);
    expect(embed.promptTokens).toBeGreaterThan(0);
    expect(usage.body.totals.costUsd).toBeGreaterThan(0);

    const metrics = await server.request('GET', '/metrics', undefined, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(metrics.body).toMatch(/ragmem_model_tokens_total\{model="mistral-embed",purpose="embed",kind="prompt"\} [1-9]/);
    expect(metrics.body).toMatch(/ragmem_model_calls_total\{model="mistral-embed",purpose="embed",outcome="ok"\} [1-9]/);

    const other = await server.request('GET', '/usage', undefined, { authorization: 'Bearer kb' });
    expect(other.body.usage).toEqual([]);
  });

  it('then a malformed usage range answers 400', async () => {
    const res = await server.request('GET', '/usage?from=yesterday', undefined, A);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });
});

describe('When a usage range is reversed or too long', () => {
  it('then it answers 400 invalid_request', async () => {
    const reversed = await server.request('GET', '/usage?from=2026-02-01&to=2026-01-01', undefined, A);
    expect({ status: reversed.status, code: reversed.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    const long = await server.request('GET', '/usage?from=2020-01-01&to=2026-01-01', undefined, A);
    expect(long.status).toBe(400);
  });
});

describe('When two tenants embed the same text', () => {
  it('then each tenant’s first embedding of it is a provider call metered to that tenant: the cache never answers one tenant with another’s work', async () => {
    const B = { authorization: 'Bearer kb' };
    const text = `Cormorants dry their wings on the breakwater ${Date.now()}`;
    const embedsOf = () => upstream.requests.filter((r) => r.path === '/v1/embeddings' && JSON.stringify(r.body).includes(text)).length;
    const embedUsage = async (headers: Record<string, string>) =>
      (
        (await server.request('GET', '/usage', undefined, headers)).body.usage as Array<{
          model: string;
          calls: number;
          promptTokens: number;
        }>
      ).find((row) => row.model === 'mistral-embed') ?? { calls: 0, promptTokens: 0 };

    expect((await server.request('POST', '/search', { query: text, mode: 'dense' }, A)).status).toBe(200);
    expect(embedsOf()).toBe(1);
    // A's own repeat is a cache hit: no provider call, nothing more metered.
    const afterA = await embedUsage(A);
    expect((await server.request('POST', '/search', { query: text, mode: 'dense' }, A)).status).toBe(200);
    expect(embedsOf()).toBe(1);
    expect(await embedUsage(A)).toMatchObject({ calls: afterA.calls, promptTokens: afterA.promptTokens });

    // B asks for the same text: it is embedded for B and metered to B, exactly as if A had never asked.
    const beforeB = await embedUsage(B);
    expect((await server.request('POST', '/search', { query: text, mode: 'dense' }, B)).status).toBe(200);
    expect(embedsOf()).toBe(2);
    const afterB = await embedUsage(B);
    expect(afterB.calls).toBe(beforeB.calls + 1);
    expect(afterB.promptTokens).toBeGreaterThan(beforeB.promptTokens);
  });
});
