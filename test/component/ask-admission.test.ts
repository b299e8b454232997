import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startServiceOnMistral, type ServiceOnMistral } from '../support/mistral-service';
import { waitFor } from '../support/wait-for';

/** Asks one process works on at once are bounded (MAX_INFLIGHT_ASKS), over HTTP and MCP together: past it, asks_busy at once. */
let svc: ServiceOnMistral;

beforeAll(async () => {
  svc = await startServiceOnMistral({ MAX_INFLIGHT_ASKS: '1', MODEL_OFFLINE_FALLBACK: 'off' });
});
afterAll(async () => {
  await svc?.stop();
});

describe('When a process already answers MAX_INFLIGHT_ASKS questions', () => {
  it('then another ask gets 503 asks_busy with Retry-After, and asks are taken again once the first is answered', async () => {
    // The first chat completion takes two seconds at the model.
    svc.upstream.script([{ delayMs: 2_000, for: (r) => r.path.endsWith('/chat/completions') }]);
    const first = svc.server.request('POST', '/sessions/slow/ask', { question: 'What do herons eat?', k: 0 });
    await waitFor('the first ask to reach the model', () =>
      svc.upstream.requests.some((r) => r.path.endsWith('/chat/completions')) ? true : undefined,
    );

    const refused = await svc.server.request('POST', '/sessions/other/ask', { question: 'And egrets?', k: 0 });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'asks_busy', details: { maxInflight: 1 } });
    expect(refused.headers.get('retry-after')).toBe('1');
    // Other routes are not held back by it.
    expect((await svc.server.request('POST', '/search', { query: 'herons' })).status).toBe(200);

    expect((await first).status).toBe(200);
    expect((await svc.server.request('POST', '/sessions/other/ask', { question: 'And egrets?', k: 0 })).status).toBe(200);
  });
});

describe('When asks come over MCP too', () => {
  const completions = () => svc.upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
  const mcpAsk = async (question: string) => {
    const client = new Client({ name: 'admission-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${svc.server.url}/mcp`)));
    try {
      const result = (await client.callTool({ name: 'ask', arguments: { sessionId: 'mcp-asker', question, k: 0 } })) as CallToolResult;
      return { isError: result.isError === true, text: result.content.map((c) => (c.type === 'text' ? c.text : '')).join('') };
    } finally {
      await client.close();
    }
  };

  it('then an MCP ask holds a place that an HTTP ask is refused for, and the other way round', async () => {
    svc.upstream.script([{ delayMs: 2_000, for: (r) => r.path.endsWith('/chat/completions') }]);
    let before = completions();
    const viaMcp = mcpAsk('What do kingfishers eat?');
    await waitFor('the MCP ask to reach the model', () => (completions() > before ? true : undefined));
    const refused = await svc.server.request('POST', '/sessions/other/ask', { question: 'And terns?', k: 0 });
    expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 503, code: 'asks_busy' });
    expect(await viaMcp).toMatchObject({ isError: false });

    svc.upstream.script([{ delayMs: 2_000, for: (r) => r.path.endsWith('/chat/completions') }]);
    before = completions();
    const viaHttp = svc.server.request('POST', '/sessions/other/ask', { question: 'And terns?', k: 0 });
    await waitFor('the HTTP ask to reach the model', () => (completions() > before ? true : undefined));
    const busy = await mcpAsk('And gulls?');
    expect(busy.isError).toBe(true);
    expect(JSON.parse(busy.text).error).toMatchObject({ code: 'asks_busy', details: { maxInflight: 1 } });
    expect((await viaHttp).status).toBe(200);
    // Its place was given back: the next MCP ask is answered.
    expect(await mcpAsk('And gulls?')).toMatchObject({ isError: false });
  });
});
