import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { exitOf, ROOT } from '../support/spawn-entry';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/**
 * The MCP endpoint through the SDK's own client: over Streamable HTTP against the real service (Redis, LanceDB,
 * workers inline, offline models), and over stdio through `ragmem mcp` started as its own process.
 */
const MAX_QUESTION_CHARS = 300;
const A = { authorization: 'Bearer ka' };
const TOOLS = ['add_document', 'ask', 'get_session_history', 'list_documents', 'search_documents'];

let server: TestServer;
const clients: Client[] = [];
beforeAll(async () => {
  // One request at a time per process (FAIR_MAX_INFLIGHT=1): the strictest setting of the tenant turns the tools take.
  server = await startTestServer({ API_KEYS: 'ka=alpha,kb=beta', MAX_QUESTION_CHARS: String(MAX_QUESTION_CHARS), FAIR_MAX_INFLIGHT: '1' });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await server?.cleanup();
});

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** An SDK client connected to POST /mcp with `key` as its bearer token. */
async function connect(key: string): Promise<Client> {
  const client = new Client({ name: 'mcp-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** A tool call's JSON answer; fails the test if the call was a tool error, or its two forms disagree. */
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<any> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  if (result.isError) throw new Error(`${name} answered a tool error: ${text}`);
  expect(JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent;
}

/** A tool call that must fail as a tool result (not a protocol error): its isError flag and text. */
async function callFailing(client: Client, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { isError: result.isError === true, text: result.content.map((c) => (c.type === 'text' ? c.text : '')).join('') };
}

/** `promise`, or a failure naming `what` once `ms` have passed without it settling. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A document added through the tool, once it is ready. */
async function addReady(client: Client, args: Record<string, unknown>): Promise<{ id: string; status: string }> {
  const added = await call(client, 'add_document', args);
  expect(added).toMatchObject({ id: expect.stringMatching(/^doc_/), status: 'queued', title: args.title });
  expect((await waitForDocument(server, added.id, A)).status).toBe('ready');
  return added;
}

describe('When an agent lists the tools over POST /mcp', () => {
  it('then it gets the five, their inputs described by the routes’ own schemas and bounds, and their output schemas', async () => {
    const client = await connect('ka');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const search = byName.search_documents.inputSchema as any;
    expect(Object.keys(search.properties)).toEqual(['query', 'collection', 'k', 'mode']);
    expect(search.required).toEqual(['query']);
    // POST /search's bounds and defaults, and its strictness about unknown fields.
    expect(search.properties.k).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 8 });
    expect(search.properties.mode.enum).toEqual(['hybrid', 'dense', 'keyword']);
    expect(search.properties.collection.pattern).toBe('^[A-Za-z0-9._-]+$');
    expect(search.additionalProperties).toBe(false);
    expect((byName.ask.inputSchema as any).required).toEqual(['sessionId', 'question']);
    expect((byName.add_document.inputSchema as any).required).toEqual(['text']);
    expect(Object.keys((byName.list_documents.inputSchema as any).properties)).toEqual(['collection', 'limit', 'cursor']);
    expect((byName.get_session_history.inputSchema as any).properties.limit).toMatchObject({ minimum: 1, maximum: 500, default: 50 });
    for (const tool of tools) expect({ tool: tool.name, output: tool.outputSchema?.type }).toEqual({ tool: tool.name, output: 'object' });
    expect(byName.search_documents.annotations?.readOnlyHint).toBe(true);
    expect(client.getServerVersion()?.name).toBe('ragmem');
  });
});

describe('When an agent adds a document and searches', () => {
  it('then the document is found once ready, the same text again is a duplicate, and another tenant sees none of it', async () => {
    const alpha = await connect('ka');
    const beta = await connect('kb');
    const collection = unique('mcp');
    const added = await addReady(alpha, {
      text: 'Narwhals use their long spiral tusk to sense changes in the salinity of Arctic water.',
      title: 'Narwhals',
      collection,
      metadata: { source: 'mcp-test' },
    });

    const found = await call(alpha, 'search_documents', { query: 'what does the narwhal tusk sense?', collection, k: 3 });
    expect(found.results[0]).toMatchObject({ documentId: added.id, title: 'Narwhals', metadata: { source: 'mcp-test' } });
    expect(found.results[0].text).toMatch(/salinity/);
    const listed = await call(alpha, 'list_documents', { collection });
    expect(listed).toEqual({ documents: [expect.objectContaining({ id: added.id, status: 'ready' })], nextCursor: null });

    const again = await call(alpha, 'add_document', {
      text: 'Narwhals use their long spiral tusk to sense changes in the salinity of Arctic water.',
      collection,
    });
    expect(again).toMatchObject({ id: added.id, duplicate: true });

    expect(await call(beta, 'list_documents', { collection })).toEqual({ documents: [], nextCursor: null });
    const betaSearch = await call(beta, 'search_documents', { query: 'narwhal tusk salinity', collection });
    expect(betaSearch.results.map((r: { documentId: string }) => r.documentId)).not.toContain(added.id);
  });
});

describe('When an agent asks in a session', () => {
  it('then the answer cites the document, and the history holds the question then the answer, in order', async () => {
    const client = await connect('ka');
    const collection = unique('mcp');
    const doc = await addReady(client, {
      text: 'The Borealis plan costs 17 euros per month and includes offline maps.',
      title: 'Plans',
      collection,
    });
    const sessionId = unique('agent');
    const question = 'How much does the Borealis plan cost per month?';

    const asked = await call(client, 'ask', { sessionId, question, collection });
    expect(asked.answer).toMatch(/17 euros/);
    expect(asked.citations).toEqual([expect.objectContaining({ marker: '1', documentId: doc.id, title: 'Plans' })]);
    expect(asked).toMatchObject({ sessionId, messageId: expect.any(String), model: 'offline-extractive' });
    expect(asked.context).toBeUndefined();

    const history = await call(client, 'get_session_history', { sessionId });
    expect(history.messages.map((m: { seq: number; role: string; content: string }) => [m.seq, m.role, m.content])).toEqual([
      [1, 'user', question],
      [2, 'assistant', asked.answer],
    ]);
    expect(history.messages[1]).toMatchObject({ id: asked.messageId, citations: asked.citations });
    expect(history.nextBeforeSeq).toBeNull();
    // The session is the HTTP API's too.
    expect((await server.request('GET', `/sessions/${sessionId}`, undefined, A)).body.messageCount).toBe(2);

    // Paging back: the newest message only, then the one before it.
    const newest = await call(client, 'get_session_history', { sessionId, limit: 1 });
    expect(newest.messages.map((m: { seq: number }) => m.seq)).toEqual([2]);
    const older = await call(client, 'get_session_history', { sessionId, limit: 1, beforeSeq: newest.nextBeforeSeq });
    expect(older.messages.map((m: { seq: number }) => m.seq)).toEqual([1]);

    // Another tenant has no such session.
    const beta = await connect('kb');
    const foreign = await callFailing(beta, 'get_session_history', { sessionId });
    expect(foreign.isError).toBe(true);
    expect(JSON.parse(foreign.text).error.code).toBe('session_not_found');
  });
});

describe('When one tenant’s agent asks several questions at once, with one request at a time allowed per process', () => {
  it('then every ask is answered: an ask takes its turn only to build its context, never a second one while holding one', async () => {
    const client = await connect('ka');
    const sessions = Array.from({ length: 4 }, () => unique('busy'));
    const asking = Promise.all(sessions.map((sessionId) => call(client, 'ask', { sessionId, question: 'Is anyone there?', k: 0 })));
    // Stuck asks never answer: a deadline names the failure instead of jest's timeout.
    const asked = await within(20_000, 'answer to all four concurrent asks of one tenant', asking);
    expect(asked.map((a) => a.sessionId)).toEqual(sessions);
  });
});

describe('When a tool call fails', () => {
  it('then a use-case error is a tool result with isError and the API’s envelope, code included', async () => {
    const client = await connect('ka');
    const missing = await callFailing(client, 'get_session_history', { sessionId: unique('nobody') });
    expect(missing.isError).toBe(true);
    expect(JSON.parse(missing.text)).toEqual({
      error: { code: 'session_not_found', message: expect.stringMatching(/^No session "nobody-/) },
    });

    // The HTTP route's own bound, with its own code, checked before any work: no session is created.
    const sessionId = unique('long');
    const tooLong = await callFailing(client, 'ask', { sessionId, question: 'x'.repeat(MAX_QUESTION_CHARS + 1) });
    expect(tooLong.isError).toBe(true);
    expect(JSON.parse(tooLong.text).error).toMatchObject({ code: 'question_too_large', details: { max: MAX_QUESTION_CHARS } });
    expect((await server.request('GET', `/sessions/${sessionId}`, undefined, A)).status).toBe(404);
  });

  it('then an input the route’s schema refuses is a tool error from the SDK’s validation, naming the field and the bound', async () => {
    const client = await connect('ka');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ query: 'otters', k: 0 }, /expected number to be >=1 at k/],
      [{ query: 'otters', k: 1000 }, /expected number to be <=100 at k/],
      [{ query: '   ' }, /must not be empty at query/],
      [{ query: 'otters', collection: '_sessions' }, /reserved.*at collection/],
      [{ query: 'otters', filter: { metadata: {} } }, /Unrecognized key.*"filter"/],
    ];
    for (const [args, reason] of cases) {
      const refused = await callFailing(client, 'search_documents', args);
      expect({ args, isError: refused.isError }).toEqual({ args, isError: true });
      // The SDK validates with the tool's input schema (the route's) and answers JSON-RPC's invalid-params text.
      expect(refused.text).toMatch(/^MCP error -32602: Input validation error: Invalid arguments for tool search_documents/);
      expect(refused.text).toMatch(reason);
    }
  });
});

describe('When POST /mcp is called without the protocol’s client', () => {
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } },
  };

  it('then without a key, or with a wrong one, it answers 401 in the API’s envelope, and the SDK client cannot connect', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const res = await server.request('POST', '/mcp', initialize, headers);
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 401, code: 'unauthorized' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    // The SDK's transport error carries the HTTP status and the API's body.
    await expect(connect('nope')).rejects.toMatchObject({ code: 401, message: expect.stringMatching(/"code":"unauthorized"/) });
  });

  it('then a plain JSON request is answered in JSON (no Accept needed), and refusals come in the API’s envelope', async () => {
    const init = await server.request('POST', '/mcp', initialize, A);
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toMatch(/^application\/json/);
    expect(init.headers.get('mcp-session-id')).toBeNull();
    expect(init.body).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'ragmem' } } });

    const notJsonRpc = await server.request('POST', '/mcp', { hello: 'world' }, A);
    expect({ status: notJsonRpc.status, code: notJsonRpc.body.error.code }).toEqual({ status: 400, code: 'invalid_request' });
    const asText = await server.request('POST', '/mcp', 'hello', { ...A, 'content-type': 'text/plain' });
    expect({ status: asText.status, code: asText.body.error.code }).toEqual({ status: 415, code: 'unsupported_media_type' });
  });

  it('then GET and DELETE answer 405, as a stateless server does by the MCP spec', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await server.request(method, '/mcp', undefined, A);
      expect({ method, status: res.status, allow: res.headers.get('allow') }).toEqual({ method, status: 405, allow: 'POST' });
      expect(res.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    }
  });
});

describe('When a desktop assistant starts `ragmem mcp` over stdio', () => {
  const entry = ['--import', 'tsx', 'test/support/mcp-stdio-entry.ts'];

  it('then the bridge lists the same tools and a search through it finds the tenant’s document', async () => {
    const http = await connect('ka');
    const collection = unique('stdio');
    const doc = await addReady(http, { text: 'Capybaras are the largest living rodents and swim well.', title: 'Capybaras', collection });

    const client = new Client({ name: 'desktop-assistant', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [...entry, '--url', server.url, '--key', 'ka'],
      cwd: ROOT,
      stderr: 'pipe',
    });
    await client.connect(transport);
    clients.push(client);
    expect(client.getServerVersion()?.name).toBe('ragmem');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    expect(tools).toEqual((await http.listTools()).tools);

    const found = await call(client, 'search_documents', { query: 'largest rodent', collection });
    expect(found.results[0]).toMatchObject({ documentId: doc.id, title: 'Capybaras' });
    const refused = await callFailing(client, 'get_session_history', { sessionId: unique('none') });
    expect(JSON.parse(refused.text).error.code).toBe('session_not_found');
  });

  it('then it exits by itself, with code 0, once the assistant closes its stdin', async () => {
    const child = spawn(process.execPath, [...entry, '--url', server.url, '--key', 'ka'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'assistant', version: '0' } },
    };
    child.stdin.write(`${JSON.stringify(initialize)}\n`);
    const answer = await waitFor('the bridge to answer initialize on stdout', () => (stdout.includes('\n') ? stdout : undefined), 30_000);
    expect(JSON.parse(answer.split('\n')[0])).toMatchObject({ id: 1, result: { serverInfo: { name: 'ragmem' } } });
    child.stdin.end();
    expect(await within(10_000, 'the bridge’s exit after stdin closed', exitOf(child))).toBe(0);
    expect(child.signalCode).toBeNull();
  });

  it('then a wrong key stops it at start with the service’s answer on stderr and a failing exit code', async () => {
    const child = spawn(process.execPath, [...entry, '--url', server.url, '--key', 'nope'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    expect(await exitOf(child)).toBe(1);
    expect(stderr).toMatch(/cannot open the MCP endpoint http:\/\/127\.0\.0\.1:\d+\/mcp/);
    expect(stderr).toMatch(/unauthorized/);
    // stdout is the protocol's: nothing else is ever written there.
    expect(stdout).toBe('');
  });
});
