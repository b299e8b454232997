import { randomUUID } from 'node:crypto';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { buildOpenApiDocument } from '../../src/api/openapi/openapi-document';
import type { RecordedRequest } from '../support/mistral-double';
import { startServiceOnMistral, type ServiceOnMistral } from '../support/mistral-service';
import { startRedis, type ThrowawayRedis } from '../support/redis-server';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/**
 * Every (route, status) pair the OpenAPI document lists is produced by a real request to a running service, and the
 * answer's body is validated with ajv against the schema the document gives for that status and media type. The table
 * of probes must match the document's pairs exactly: a status documented without a probe (or a probe of a status no
 * longer documented) fails the first test, so the table cannot fall behind the document.
 *
 * The schemas are made strict for the check (objects closed: `additionalProperties: false` where the document leaves
 * them open for future fields), so a field the server sends that the document does not describe fails as well.
 *
 * Three services: `main` (on a local double of Mistral, so an ask can be held while its session is deleted), `limits`
 * (per-key rate limit, tenant quotas, no workers, no ADMIN_API_KEY) and `outage` (its Redis stopped).
 */

const ADMIN_KEY = 'admin-0123456789abcdef';
const TENANT = { authorization: 'Bearer ka' };
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };
/** On `limits`: one key per scenario, so their buckets and quotas never meet. */
const LIMITS_KEYS = {
  documentQuota: 'kd',
  reindexQuota: 'kj',
  reindexConflict: 'kc',
  cancel: 'kx',
  rateLimited: 'kr',
} as const;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/**
 * Routes that do not answer JSON REST bodies: the MCP endpoint (POST /mcp, MCP Streamable HTTP) speaks JSON-RPC and
 * has its own suite. Left out by name.
 */
const NOT_REST = (path: string) => path === '/mcp' || path.startsWith('/mcp/');

type Json = Record<string, any>;

interface Req {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(server: TestServer, req: Req): Promise<Answer> {
  const headers: Record<string, string> = { ...req.headers };
  const init: RequestInit = { method: req.method, headers };
  if (typeof req.body === 'string' || req.body instanceof FormData) init.body = req.body;
  else if (req.body !== undefined) {
    init.body = JSON.stringify(req.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(server.url + req.path, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const json = (a: Answer): any => JSON.parse(a.text);
const unique = (what: string) => `${what} ${randomUUID()}`;
const newSessionId = () => `s-${randomUUID().slice(0, 12)}`;

// ---------------------------------------------------------------------------------------------------------------
// The services and what the probes share

let main: ServiceOnMistral;
let limits: TestServer;
let outage: TestServer;
let outageRedis: ThrowawayRedis;

/** Made once in beforeAll: a ready document (with chunks), a failed one, and a session with an answered question. */
const fixture = { collection: 'probes', readyDoc: '', failedDoc: '', session: '' };

/** A request as the tenant on `main`. */
const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = TENANT) =>
  send(main.server, { method, path, body, headers });
const expectStatus = (a: Answer, status: number) => {
  expect({ status: a.status, body: a.text.slice(0, 300) }).toEqual({ status, body: expect.anything() });
  return a;
};

function uploadForm(name: string, type: string, data: Buffer, fields: Record<string, string> = {}): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([new Uint8Array(data)], { type }), name);
  return fd;
}

beforeAll(async () => {
  main = await startServiceOnMistral({ API_KEYS: 'ka=alpha', ADMIN_API_KEY: ADMIN_KEY }, { dimensions: 1024, streamChunks: 4 });
  limits = await startTestServer({
    API_KEYS: Object.values(LIMITS_KEYS)
      .map((k) => `${k}=${k}-tenant`)
      .join(','),
    RUN_WORKERS: 'off',
    KEY_RATE_LIMIT_RPS: '0.001',
    KEY_RATE_LIMIT_BURST: '20',
    TENANT_MAX_DOCUMENTS: '1',
    TENANT_MAX_REINDEX_JOBS: '2',
  });
  outageRedis = await startRedis();
  outage = await startTestServer({ REDIS_URL: outageRedis.url, API_KEYS: 'ka=alpha', RUN_WORKERS: 'off', KEY_RATE_LIMIT_RPS: '0' });

  const text = [
    '# Cloudberries',
    'Cloudberries ripen in August on the bogs of Lapland; pickers guard their patches jealously.',
    '## Storage',
    'The berries keep for months in their own juice, which is rich in benzoic acid.',
  ].join('\n\n');
  const ready = json(await call('POST', '/documents', { text, collection: fixture.collection, metadata: { lang: 'en', year: 2024 } }));
  const junkPdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(4000, 7)]);
  const failed = json(
    await call('POST', '/documents', uploadForm('junk.pdf', 'application/pdf', junkPdf, { collection: fixture.collection })),
  );
  expect((await waitForDocument(main.server, ready.id, TENANT)).status).toBe('ready');
  expect((await waitForDocument(main.server, failed.id, TENANT)).status).toBe('failed');
  fixture.readyDoc = ready.id;
  fixture.failedDoc = failed.id;

  fixture.session = newSessionId();
  const history = [
    { role: 'user', content: 'We are planning a berry trip to Lapland.' },
    { role: 'assistant', content: 'August is the month for cloudberries.' },
  ];
  expectStatus(await call('POST', `/sessions/${fixture.session}/messages`, { messages: history }), 201);
  expectStatus(
    await call('POST', `/sessions/${fixture.session}/ask`, { question: 'When do cloudberries ripen?', collection: fixture.collection }),
    200,
  );
}, 120_000);

afterAll(async () => {
  await main?.stop();
  await limits?.cleanup();
  // Back up (and the service reconnected) before the service stops, so its shutdown does not wait on a Redis that is gone.
  await outageRedis?.restart().catch(() => undefined);
  if (outage) {
    await waitFor(
      'the outage service to be ready again',
      async () => ((await send(outage, { method: 'GET', path: '/readyz' })).status === 200 ? true : undefined),
      20_000,
      100,
    );
  }
  await outage?.cleanup();
  await outageRedis?.stop();
});

// ---------------------------------------------------------------------------------------------------------------
// The probes

/** A valid request to each tenant route: what the 401 (no key), 429 (key over its rate) and 503 (Redis down) probes send. */
const SAMPLE: Record<string, Req> = {
  'POST /documents': { method: 'POST', path: '/documents', body: { text: 'A note about reindeer.' } },
  'GET /documents': { method: 'GET', path: '/documents' },
  'POST /documents/bulk': { method: 'POST', path: '/documents/bulk', body: { documents: [{ text: 'A bulk note about reindeer.' }] } },
  'GET /documents/{id}': { method: 'GET', path: '/documents/doc_probe' },
  'DELETE /documents/{id}': { method: 'DELETE', path: '/documents/doc_probe' },
  'GET /documents/{id}/chunks': { method: 'GET', path: '/documents/doc_probe/chunks' },
  'POST /documents/{id}/reindex': { method: 'POST', path: '/documents/doc_probe/reindex' },
  'POST /search': { method: 'POST', path: '/search', body: { query: 'reindeer' } },
  'POST /sessions': { method: 'POST', path: '/sessions', body: {} },
  'GET /sessions/{id}': { method: 'GET', path: '/sessions/s-probe' },
  'DELETE /sessions/{id}': { method: 'DELETE', path: '/sessions/s-probe' },
  'GET /sessions/{id}/messages': { method: 'GET', path: '/sessions/s-probe/messages' },
  'POST /sessions/{id}/messages': {
    method: 'POST',
    path: '/sessions/s-probe/messages',
    body: { messages: [{ role: 'user', content: 'Hello' }] },
  },
  'POST /sessions/{id}/ask': { method: 'POST', path: '/sessions/s-probe/ask', body: { question: 'Where do reindeer go?' } },
  'POST /sessions/{id}/context': { method: 'POST', path: '/sessions/s-probe/context', body: { question: 'Where do reindeer go?' } },
  'POST /reindex': { method: 'POST', path: '/reindex', body: {} },
  'GET /reindex': { method: 'GET', path: '/reindex' },
  'GET /reindex/{jobId}': { method: 'GET', path: '/reindex/0123456789abcdef' },
  'DELETE /reindex/{jobId}': { method: 'DELETE', path: '/reindex/0123456789abcdef' },
  'GET /usage': { method: 'GET', path: '/usage' },
};

type Probe = () => Promise<Answer | Answer[]>;

/** Answers once the reindex is finished (it runs on main's inline workers). */
const finishedReindex = (jobId: string) =>
  waitFor(
    `reindex ${jobId} to finish`,
    async () => {
      const a = await call('GET', `/reindex/${jobId}`);
      return ['completed', 'failed', 'cancelled'].includes(json(a).status) ? a : undefined;
    },
    60_000,
    100,
  );

/** A reindex queued on `limits` (no workers there, so it stays queued until cancelled). */
const queuedReindex = async (key: string) =>
  json(
    expectStatus(
      await send(limits, { method: 'POST', path: '/reindex', body: { collection: `c${randomUUID().slice(0, 8)}` }, headers: bearer(key) }),
      202,
    ),
  ).jobId as string;

/** A streamed ask whose model call breaks after it began (the double cuts its stream): it ends with an `error` event. */
async function brokenStream(): Promise<Answer> {
  const isOurs = (r: RecordedRequest) =>
    r.path === '/v1/chat/completions' && JSON.stringify(r.body?.messages ?? '').includes('Bay of Fundy');
  main.upstream.script([{ brokenStream: true, for: isOurs }]);
  const answer = await call('POST', `/sessions/${newSessionId()}/ask`, {
    question: 'Describe the tides of the Bay of Fundy.',
    k: 0,
    stream: true,
  });
  expect(answer.text).toMatch(/event: error\n/);
  return answer;
}

/** The probes of statuses that need their own scenario; 401, 429 and 503 of tenant routes are made from SAMPLE below. */
const PROBES: Record<string, Probe> = {
  // Documents
  'POST /documents 202': async () => [
    await call('POST', '/documents', { text: unique('Reindeer cross the river'), metadata: { lang: 'en' }, externalId: unique('ext') }),
    await call('POST', '/documents', uploadForm('note.md', 'text/markdown', Buffer.from(`# Notes\n\n${unique('Lichen')}`))),
  ],
  'POST /documents 200': async () => {
    const text = unique('Said twice');
    expectStatus(await call('POST', '/documents', { text }), 202);
    return call('POST', '/documents', { text });
  },
  'POST /documents 400': () => call('POST', '/documents', {}),
  'POST /documents 403': async () => {
    const headers = bearer(LIMITS_KEYS.documentQuota);
    await send(limits, { method: 'POST', path: '/documents', body: { text: 'The one document this tenant may hold.' }, headers });
    return send(limits, { method: 'POST', path: '/documents', body: { text: unique('One too many') }, headers });
  },
  'POST /documents 413': () =>
    call('POST', '/documents', {
      text: 'Too much metadata',
      metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])),
    }),
  'POST /documents 415': () => call('POST', '/documents', 'plain text is not a way to send a document'),
  'GET /documents 200': async () => [
    await call('GET', '/documents'),
    await call('GET', `/documents?collection=${fixture.collection}&limit=1`),
  ],
  'GET /documents 400': () => call('GET', '/documents?limit=0'),
  'POST /documents/bulk 202': async () => {
    const again = unique('Bulk, sent twice');
    return call('POST', '/documents/bulk', {
      documents: [{ text: again }, { text: unique('Bulk, once'), metadata: { n: 1 } }, { text: again }],
    });
  },
  'POST /documents/bulk 400': () => call('POST', '/documents/bulk', { documents: [] }),
  'POST /documents/bulk 403': async () => {
    const headers = bearer(LIMITS_KEYS.documentQuota);
    await send(limits, { method: 'POST', path: '/documents', body: { text: 'The one document this tenant may hold.' }, headers });
    return send(limits, {
      method: 'POST',
      path: '/documents/bulk',
      body: { documents: [{ text: unique('Bulk, one too many') }] },
      headers,
    });
  },
  'POST /documents/bulk 413': () =>
    call('POST', '/documents/bulk', { documents: Array.from({ length: 1001 }, (_, i) => ({ text: `n${i}` })) }),
  'GET /documents/{id} 200': async () => [
    await call('GET', `/documents/${fixture.readyDoc}`),
    await call('GET', `/documents/${fixture.failedDoc}`),
  ],
  'GET /documents/{id} 400': () => call('GET', '/documents/not.an.id'),
  'GET /documents/{id} 404': () => call('GET', '/documents/doc_unknown'),
  'DELETE /documents/{id} 204': async () => {
    const created = json(expectStatus(await call('POST', '/documents', { text: unique('Soon gone') }), 202));
    await waitForDocument(main.server, created.id, TENANT);
    return call('DELETE', `/documents/${created.id}`);
  },
  'DELETE /documents/{id} 400': () => call('DELETE', '/documents/not.an.id'),
  'DELETE /documents/{id} 404': () => call('DELETE', '/documents/doc_unknown'),
  'GET /documents/{id}/chunks 200': async () => [
    await call('GET', `/documents/${fixture.readyDoc}/chunks`),
    await call('GET', `/documents/${fixture.readyDoc}/chunks?limit=1`),
  ],
  'GET /documents/{id}/chunks 400': () => call('GET', `/documents/${fixture.readyDoc}/chunks?limit=0`),
  'GET /documents/{id}/chunks 404': () => call('GET', '/documents/doc_unknown/chunks'),
  'POST /documents/{id}/reindex 202': async () => {
    const created = json(expectStatus(await call('POST', '/documents', { text: unique('Parsed again') }), 202));
    await waitForDocument(main.server, created.id, TENANT);
    return call('POST', `/documents/${created.id}/reindex`);
  },
  'POST /documents/{id}/reindex 400': () => call('POST', '/documents/not.an.id/reindex'),
  'POST /documents/{id}/reindex 404': () => call('POST', '/documents/doc_unknown/reindex'),

  // Search
  'POST /search 200': async () => [
    await call('POST', '/search', { query: 'when do cloudberries ripen', collection: fixture.collection }),
    await call('POST', '/search', { query: 'cloudberries', collection: fixture.collection, mergeAdjacent: true, mode: 'keyword' }),
  ],
  'POST /search 400': () => call('POST', '/search', { query: 'x', k: 101 }),

  // Sessions
  'POST /sessions 201': () => call('POST', '/sessions', { id: newSessionId(), systemPrompt: 'Be brief.', metadata: { channel: 'web' } }),
  'POST /sessions 400': () => call('POST', '/sessions', { unknownField: 1 }),
  'POST /sessions 409': async () => {
    const id = newSessionId();
    expectStatus(await call('POST', '/sessions', { id }), 201);
    return call('POST', '/sessions', { id });
  },
  'GET /sessions/{id} 200': async () => {
    const created = json(expectStatus(await call('POST', '/sessions', { systemPrompt: 'Be brief.', maxContextTokens: 4000 }), 201));
    return [await call('GET', `/sessions/${fixture.session}`), await call('GET', `/sessions/${created.id}`)];
  },
  'GET /sessions/{id} 400': () => call('GET', '/sessions/not%20an%20id'),
  'GET /sessions/{id} 404': () => call('GET', `/sessions/${newSessionId()}`),
  'DELETE /sessions/{id} 204': async () => {
    const id = newSessionId();
    expectStatus(await call('POST', '/sessions', { id }), 201);
    return call('DELETE', `/sessions/${id}`);
  },
  'DELETE /sessions/{id} 400': () => call('DELETE', '/sessions/not%20an%20id'),
  'DELETE /sessions/{id} 404': () => call('DELETE', `/sessions/${newSessionId()}`),
  'GET /sessions/{id}/messages 200': async () => [
    await call('GET', `/sessions/${fixture.session}/messages`),
    await call('GET', `/sessions/${fixture.session}/messages?limit=1`),
  ],
  'GET /sessions/{id}/messages 400': () => call('GET', `/sessions/${fixture.session}/messages?limit=0`),
  'GET /sessions/{id}/messages 404': () => call('GET', `/sessions/${newSessionId()}/messages`),
  'POST /sessions/{id}/messages 201': () =>
    call('POST', `/sessions/${newSessionId()}/messages`, {
      messages: [
        { role: 'user', content: 'Imported question', createdAt: '2024-05-01T10:00:00+02:00' },
        { role: 'assistant', content: 'Imported answer' },
      ],
    }),
  'POST /sessions/{id}/messages 400': () => call('POST', `/sessions/${newSessionId()}/messages`, { messages: [] }),
  'POST /sessions/{id}/messages 413': () =>
    call('POST', `/sessions/${newSessionId()}/messages`, {
      messages: Array.from({ length: 10_001 }, () => ({ role: 'user', content: 'x' })),
    }),
  'POST /sessions/{id}/ask 200': async () => {
    const body = { question: 'Where do cloudberries grow?', collection: fixture.collection };
    return [
      await call('POST', `/sessions/${fixture.session}/ask`, body),
      await call('POST', `/sessions/${fixture.session}/ask`, { ...body, stream: true }),
      await call('POST', `/sessions/${newSessionId()}/ask`, body, { ...TENANT, accept: 'text/event-stream' }),
      await brokenStream(),
    ];
  },
  'POST /sessions/{id}/ask 400': () => call('POST', `/sessions/${newSessionId()}/ask`, {}),
  'POST /sessions/{id}/ask 409': async () => {
    // The session is deleted while the model (the double, held for 1.5 s) makes the answer: nothing is stored.
    const id = newSessionId();
    expectStatus(
      await call('POST', `/sessions/${id}/messages`, { messages: [{ role: 'user', content: 'We were talking about glaciers.' }] }),
      201,
    );
    const isOurs = (r: RecordedRequest) => r.path === '/v1/chat/completions' && JSON.stringify(r.body?.messages ?? '').includes('moraines');
    main.upstream.script([{ delayMs: 1500, for: isOurs }]);
    const asking = call('POST', `/sessions/${id}/ask`, { question: 'And what are moraines?', k: 0 });
    await waitFor('the chat call', () => main.upstream.requests.find(isOurs));
    expectStatus(await call('DELETE', `/sessions/${id}`), 204);
    return asking;
  },
  'POST /sessions/{id}/ask 413': () => call('POST', `/sessions/${newSessionId()}/ask`, { question: 'x'.repeat(32_769) }),
  'POST /sessions/{id}/context 200': async () => [
    await call('POST', `/sessions/${fixture.session}/context`, { question: 'And in September?', collection: fixture.collection }),
    await call('POST', `/sessions/${newSessionId()}/context`, { question: 'Anything?', k: 0 }),
  ],
  'POST /sessions/{id}/context 400': () => call('POST', `/sessions/${newSessionId()}/context`, { question: 'x', k: -1 }),
  'POST /sessions/{id}/context 413': () => call('POST', `/sessions/${newSessionId()}/context`, { question: 'x'.repeat(32_769) }),

  // Reindex
  'POST /reindex 202': () => call('POST', '/reindex', { collection: unique('rx').replace(/ /g, '-').slice(0, 40) }),
  'POST /reindex 400': () => call('POST', '/reindex', { chunking: { chunkSize: 1, chunkOverlap: 0 } }),
  'POST /reindex 403': async () => {
    await queuedReindex(LIMITS_KEYS.reindexQuota);
    await queuedReindex(LIMITS_KEYS.reindexQuota);
    return send(limits, {
      method: 'POST',
      path: '/reindex',
      body: { collection: 'one-too-many' },
      headers: bearer(LIMITS_KEYS.reindexQuota),
    });
  },
  'POST /reindex 409': async () => {
    const body = { collection: 'rebuilt-twice' };
    const headers = bearer(LIMITS_KEYS.reindexConflict);
    expectStatus(await send(limits, { method: 'POST', path: '/reindex', body, headers }), 202);
    return send(limits, { method: 'POST', path: '/reindex', body, headers });
  },
  'GET /reindex 200': async () => {
    // A finished job (with finishedAt and the old index's drop time) among the listed ones.
    const started = json(expectStatus(await call('POST', '/reindex', { collection: fixture.collection }), 202));
    await finishedReindex(started.jobId);
    return [await call('GET', '/reindex'), await call('GET', '/reindex?limit=1')];
  },
  'GET /reindex 400': () => call('GET', '/reindex?limit=0'),
  'GET /reindex/{jobId} 200': async () => {
    const started = json(expectStatus(await call('POST', '/reindex', { collection: fixture.collection }), 202));
    return [await call('GET', `/reindex/${started.jobId}`), await finishedReindex(started.jobId)];
  },
  'GET /reindex/{jobId} 400': () => call('GET', '/reindex/not-a-job'),
  'GET /reindex/{jobId} 404': () => call('GET', '/reindex/0123456789abcdef'),
  'DELETE /reindex/{jobId} 200': async () => {
    const jobId = await queuedReindex(LIMITS_KEYS.cancel);
    return send(limits, { method: 'DELETE', path: `/reindex/${jobId}`, headers: bearer(LIMITS_KEYS.cancel) });
  },
  'DELETE /reindex/{jobId} 400': () => call('DELETE', '/reindex/not-a-job'),
  'DELETE /reindex/{jobId} 404': () => call('DELETE', '/reindex/0123456789abcdef'),
  'DELETE /reindex/{jobId} 409': async () => {
    const jobId = await queuedReindex(LIMITS_KEYS.cancel);
    const cancel = () => send(limits, { method: 'DELETE', path: `/reindex/${jobId}`, headers: bearer(LIMITS_KEYS.cancel) });
    expectStatus(await cancel(), 200);
    return cancel();
  },

  // Operations
  'GET /usage 200': async () => [await call('GET', '/usage'), await call('GET', '/usage?from=2024-01-01&to=2024-01-31')],
  'GET /usage 400': () => call('GET', '/usage?from=2024-13-01'),
  'GET /healthz 200': () => call('GET', '/healthz', undefined, {}),
  'GET /readyz 200': async () => [await call('GET', '/readyz', undefined, {}), await call('GET', '/readyz', undefined, ADMIN)],
  'GET /readyz 503': async () => {
    await outageRedis.stop();
    return send(outage, { method: 'GET', path: '/readyz' });
  },
  'GET /metrics 200': () => call('GET', '/metrics', undefined, ADMIN),
  'GET /metrics 401': () => call('GET', '/metrics', undefined, TENANT),
  'GET /openapi.json 200': () => call('GET', '/openapi.json', undefined, {}),
  'GET /docs 200': () => call('GET', '/docs', undefined, {}),
  'GET /admin/queues 200': () => call('GET', '/admin/queues', undefined, ADMIN),
  'GET /admin/queues 401': () => call('GET', '/admin/queues', undefined, TENANT),
  // Without ADMIN_API_KEY while keys exist, the dashboard does not exist.
  'GET /admin/queues 404': () => send(limits, { method: 'GET', path: '/admin/queues', headers: bearer(LIMITS_KEYS.cancel) }),
};

/** A key of `limits` over its rate: its burst spent (refilled at one request per 1,000 s). */
let rateLimitedKeySpent = false;
async function spendRateLimitedKey(): Promise<void> {
  if (rateLimitedKeySpent) return;
  await waitFor(
    'the rate-limited key to be refused',
    async () =>
      (await send(limits, { method: 'GET', path: '/usage', headers: bearer(LIMITS_KEYS.rateLimited) })).status === 429 ? true : undefined,
    10_000,
    0,
  );
  rateLimitedKeySpent = true;
}

/** 401, 429 and 503 of a tenant route: its sample request without a key, with a key over its rate, and with Redis down. */
function middlewareProbe(route: string, status: number): Probe | undefined {
  const sample = SAMPLE[route];
  if (!sample) return undefined;
  if (status === 401) return () => send(main.server, { ...sample, headers: {} });
  if (status === 429) {
    return async () => {
      await spendRateLimitedKey();
      return send(limits, { ...sample, headers: bearer(LIMITS_KEYS.rateLimited) });
    };
  }
  if (status === 503) {
    return async () => {
      await outageRedis.stop();
      return send(outage, { ...sample, headers: TENANT });
    };
  }
  return undefined;
}

const probeOf = (pair: string): Probe | undefined => {
  const [method, path, status] = pair.split(' ');
  return PROBES[pair] ?? middlewareProbe(`${method} ${path}`, Number(status));
};

// ---------------------------------------------------------------------------------------------------------------
// The document, and validation against it

const DOCUMENT = buildOpenApiDocument() as unknown as Json;
const DOC_ID = 'https://ragmem.local/openapi.json';

/** Every documented `METHOD /path STATUS` (paths as the document writes them), MCP left out. */
const DOCUMENTED_PAIRS: string[] = Object.entries<Json>(DOCUMENT.paths)
  .filter(([path]) => !NOT_REST(path))
  .flatMap(([path, item]) =>
    Object.entries<Json>(item).flatMap(([method, op]) =>
      Object.keys(op.responses).map((status) => `${method.toUpperCase()} ${path} ${status}`),
    ),
  )
  .sort();

/** A copy of a schema with every object that lists its properties closed to others (unless it says otherwise). */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
  if (out.properties && out.additionalProperties === undefined && out.type === 'object') out.additionalProperties = false;
  return out;
}

/** `#/...` references made absolute, so a schema taken out of the document still resolves against it. */
function anchored(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(anchored);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? DOC_ID + v : anchored(v)]),
  );
}

let ajv: Ajv2020;
const compiled = new Map<unknown, ValidateFunction>();
function validatorOf(schema: unknown): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(anchored(closed(schema)) as object)));
  return v;
}
function expectValid(schema: unknown, value: unknown, what: string): void {
  const validate = validatorOf(schema);
  const valid = validate(value);
  expect({ what, valid, errors: validate.errors ?? null, value: valid ? undefined : value }).toEqual({
    what,
    valid: true,
    errors: null,
    value: undefined,
  });
}

/** The response object of a documented pair, its `$ref` (to components.responses) resolved. */
function documentedResponse(pair: string): Json {
  const [method, path, status] = pair.split(' ');
  const response = DOCUMENT.paths[path][method.toLowerCase()].responses[status];
  return response.$ref ? DOCUMENT.components.responses[response.$ref.split('/').pop()] : response;
}

const ASK_STREAM_EVENT = { $ref: '#/components/schemas/AskStreamEvent' };

interface StreamEvent {
  event: string;
  data: unknown;
}

/** An SSE body as a client reads it: blocks of `event:` and `data:` lines. */
function parseEventStream(text: string): StreamEvent[] {
  return text
    .split(/\n\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length) ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice('data: '.length))
        .join('\n');
      return { event, data: JSON.parse(data) };
    });
}

function expectEventStream(mediaType: Json, text: string, pair: string): void {
  const events = parseEventStream(text);
  const described = mediaType['x-events'] as Record<string, { schema: unknown }>;
  expect(events.length).toBeGreaterThanOrEqual(3);
  expect(events[0].event).toBe('context');
  expect(events.slice(1, -1).every((e) => e.event === 'delta')).toBe(true);
  expect(['done', 'error']).toContain(events.at(-1)!.event);
  for (const [i, e] of events.entries()) {
    expect(Object.keys(described)).toContain(e.event);
    expectValid(described[e.event].schema, e.data, `${pair}: event ${i} (${e.event})`);
    expectValid(ASK_STREAM_EVENT, e, `${pair}: event ${i} as an AskStreamEvent`);
  }
}

/** The answer matches the documented response of its pair: status, media type, body schema, documented headers. */
function expectDocumented(pair: string, answer: Answer): void {
  const status = Number(pair.split(' ')[2]);
  expect({ pair, status: answer.status, body: answer.text.slice(0, 500) }).toEqual({ pair, status, body: expect.any(String) });
  const response = documentedResponse(pair);
  for (const header of Object.keys(response.headers ?? {})) {
    expect({ pair, header, value: answer.headers.get(header) }).toEqual({ pair, header, value: expect.stringMatching(/^\d+$/) });
  }
  if (!response.content) {
    expect({ pair, body: answer.text }).toEqual({ pair, body: '' });
    return;
  }
  const type = (answer.headers.get('content-type') ?? '').split(';')[0].trim();
  expect({ pair, type, documented: Object.keys(response.content) }).toEqual({ pair, type, documented: expect.arrayContaining([type]) });
  const mediaType = response.content[type];
  if (type === 'text/event-stream') return expectEventStream(mediaType, answer.text, pair);
  const body = type === 'application/json' ? JSON.parse(answer.text) : answer.text;
  expectValid(mediaType.schema, body, pair);
}

// ---------------------------------------------------------------------------------------------------------------

describe('When every documented response is probed against the running service', () => {
  beforeAll(async () => {
    ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    // The served document, closed as above, is what the answers are validated against.
    const served = json(await call('GET', '/openapi.json', undefined, {}));
    expect(served).toEqual(JSON.parse(JSON.stringify(DOCUMENT)));
    ajv.addSchema({ $id: DOC_ID, components: closed(served.components) });
  });

  it('then every documented (route, status) has a probe, and every probe a documented pair', () => {
    const probed = DOCUMENTED_PAIRS.filter((pair) => probeOf(pair) !== undefined);
    expect(DOCUMENTED_PAIRS.filter((pair) => !probed.includes(pair))).toEqual([]);
    expect(Object.keys(PROBES).filter((pair) => !DOCUMENTED_PAIRS.includes(pair))).toEqual([]);
    expect(Object.keys(SAMPLE).filter((route) => !DOCUMENTED_PAIRS.some((pair) => pair.startsWith(`${route} `)))).toEqual([]);
    // The statuses the task names, as far as the document lists them (a sanity check of the enumeration itself).
    const statuses = new Set(DOCUMENTED_PAIRS.map((pair) => pair.split(' ')[2]));
    for (const s of ['200', '201', '202', '204', '400', '401', '403', '404', '409', '413', '415', '429', '503'])
      expect(statuses).toContain(s);
  });

  it('then the stream events are described by name, each with a component schema, and AskStreamEvent has one branch per event', () => {
    const media = DOCUMENT.paths['/sessions/{id}/ask'].post.responses['200'].content['text/event-stream'];
    expect(Object.keys(media['x-events'])).toEqual(['context', 'delta', 'done', 'error']);
    for (const { schema } of Object.values<Json>(media['x-events'])) {
      expect(DOCUMENT.components.schemas[schema.$ref.split('/').pop()]).toBeDefined();
    }
    const branches = DOCUMENT.components.schemas.AskStreamEvent.oneOf.map((b: Json) => b.properties.event.const);
    expect(branches).toEqual(Object.keys(media['x-events']));
  });

  // The 503 probes stop `outage`'s Redis (it stays down): they run last, as they are listed last.
  const ordered = [...DOCUMENTED_PAIRS.filter((p) => !p.endsWith(' 503')), ...DOCUMENTED_PAIRS.filter((p) => p.endsWith(' 503'))];
  it.each(ordered)('then %s answers as documented', async (pair) => {
    const probe = probeOf(pair);
    if (!probe) throw new Error(`no probe for ${pair}`);
    const answers = await probe();
    for (const answer of Array.isArray(answers) ? answers : [answers]) expectDocumented(pair, answer);
  });
});
