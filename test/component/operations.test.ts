import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Express } from 'express';
import { createApp } from '../../src/api/app';
import { ADMIN_QUEUES_PATH } from '../../src/api/openapi/openapi-document';
import { QueueNames } from '../../src/queues/queue-names';
import { startTestServer, type TestServer } from '../support/test-server';

/** The operator endpoints: the API's own description, Swagger UI over it, and the key-guarded queue dashboard. */
const ADMIN_KEY = 'admin-0123456789abcdef';
const TENANT = { authorization: 'Bearer ka' };
const ADMIN_BEARER = { authorization: `Bearer ${ADMIN_KEY}` };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ API_KEYS: 'ka=alpha', ADMIN_API_KEY: ADMIN_KEY });
});
afterAll(async () => {
  await server?.cleanup();
});

/** Every `METHOD /path` the app answers, found by walking Express's router stack (routers mounted at the root). */
/** The routes the app says it serves (app.locals.routes, written down as each router declares them). */
const mountedRoutes = (app: Express): string[] => [...(app.locals.routes as string[])].sort();

const documentedRoutes = (doc: { paths: Record<string, Record<string, unknown>> }) =>
  Object.entries(doc.paths)
    .flatMap(([p, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`))
    .sort();

function ajv() {
  const validator = new Ajv2020({ allErrors: true, strict: true });
  addFormats(validator);
  return validator;
}

describe('When a client fetches GET /openapi.json', () => {
  let doc: any;
  beforeAll(async () => {
    const res = await server.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = res.body;
  });

  it('then it is public and an OpenAPI 3.1 document with bearer auth', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
  });

  it('then it lists exactly the routes the app mounts, and the dashboard', () => {
    const app = createApp(server.services);
    const documented = documentedRoutes(doc);
    // The dashboard is a mounted app (its UI and API), not one route; it is documented by its base path.
    expect(documented).toContain(`GET ${ADMIN_QUEUES_PATH}`);
    expect(mountedRoutes(app)).toEqual(documented.filter((r) => r !== `GET ${ADMIN_QUEUES_PATH}`));
    expect(mountedRoutes(app)).toEqual(expect.arrayContaining(['POST /sessions/:id/ask', 'DELETE /reindex/:jobId', 'GET /metrics']));
  });

  it('then every documented route is served (from outside: none answers route_not_found)', async () => {
    for (const route of documentedRoutes(doc)) {
      const [method, path] = route.split(' ');
      const res = await server.request(
        method,
        path.replace(/:\w+/g, 'probe-1'),
        method === 'GET' || method === 'DELETE' ? undefined : {},
        TENANT,
      );
      expect({ route, code: res.body?.error?.code }).not.toEqual({ route, code: 'route_not_found' });
    }
  });

  it('then path parameters and query parameters are described', () => {
    const params = (p: string, m: string) => doc.paths[p][m].parameters.map((x: { name: string; in: string }) => `${x.in}:${x.name}`);
    expect(params('/documents/{id}/chunks', 'get')).toEqual(['path:id', 'query:limit', 'query:cursor']);
    expect(params('/sessions/{id}/messages', 'get')).toEqual(['path:id', 'query:limit', 'query:beforeSeq']);
    expect(params('/reindex/{jobId}', 'delete')).toEqual(['path:jobId']);
    expect(params('/usage', 'get')).toEqual(['query:from', 'query:to']);
    expect(Object.keys(doc.paths['/sessions/{id}/ask'].post.responses['200'].content)).toEqual(['application/json', 'text/event-stream']);
  });

  it('then every JSON request body schema compiles, and the /search schema agrees with the server on what is valid', async () => {
    const v = ajv();
    const bodies = Object.values<Record<string, any>>(doc.paths).flatMap((item) =>
      Object.values<any>(item).flatMap((op) => op.requestBody?.content?.['application/json']?.schema ?? []),
    );
    expect(bodies.length).toBe(8);
    for (const schema of bodies) expect(() => v.compile(schema)).not.toThrow();
    const search = v.compile(doc.paths['/search'].post.requestBody.content['application/json'].schema);
    const good = {
      query: 'reindeer on the plateau',
      k: 5,
      mode: 'dense',
      filter: { metadata: { lang: ['en', 'se'] } },
      diversity: { lambda: 0.5 },
    };
    expect(search(good)).toBe(true);
    expect((await server.request('POST', '/search', good, TENANT)).status).toBe(200);

    const tooMany = { query: 'reindeer', k: 101 };
    expect(search(tooMany)).toBe(false);
    expect(search({ query: 'reindeer', unknownField: 1 })).toBe(false);
    const refused = await server.request('POST', '/search', tooMany, TENANT);
    expect(refused.status).toBe(400);

    const docBody = v.compile(doc.paths['/documents'].post.requestBody.content['application/json'].schema);
    const sample = {
      text: 'Sami herders follow the reindeer.',
      title: 'Herding',
      collection: 'notes',
      metadata: { lang: 'en', year: 2024 },
    };
    expect(docBody(sample)).toBe(true);
    expect(docBody({ ...sample, collection: 'has space' })).toBe(false);
    const ask = v.compile(doc.paths['/sessions/{id}/ask'].post.requestBody.content['application/json'].schema);
    expect(ask({ question: 'Where do reindeer go?', stream: true, k: 0 })).toBe(true);
    expect(ask({ k: 3 })).toBe(false);
  });

  it('then real answers match the documented response schemas, errors included', async () => {
    const v = new Ajv2020({ allErrors: true, strict: false });
    addFormats(v);
    v.addSchema({ $id: 'https://ragmem.local/openapi.json', components: doc.components });
    const shape = (name: string) => v.compile({ $ref: `https://ragmem.local/openapi.json#/components/schemas/${name}` });
    const check = (name: string, body: unknown) => {
      const validate = shape(name);
      expect({ valid: validate(body), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    };

    const created = await server.request(
      'POST',
      '/documents',
      { text: 'Cloudberries ripen in August on the bogs.', metadata: { lang: 'en' } },
      TENANT,
    );
    expect(created.status).toBe(202);
    check('Document', created.body);
    check('Error', (await server.request('POST', '/search', { query: 'x', k: 101 }, TENANT)).body);
    check('Error', (await server.request('GET', '/documents/nope', undefined, TENANT)).body);
    const session = await server.request('POST', '/sessions', { metadata: { channel: 'web' } }, TENANT);
    check('Session', session.body);
    check(
      'ContextPreview',
      (await server.request('POST', `/sessions/${session.body.id}/context`, { question: 'What ripens in August?' }, TENANT)).body,
    );
    check('Usage', (await server.request('GET', '/usage', undefined, TENANT)).body);
    check('Readiness', (await server.request('GET', '/readyz')).body);
  });
});

describe('When a browser opens GET /docs', () => {
  it('then it gets Swagger UI whose scripts and styles are served locally', async () => {
    const page = await server.request('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain("url: '/openapi.json'");
    const assets = [...String(page.body).matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']));
    for (const asset of assets) {
      const res = await fetch(server.url + asset);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      if (asset.endsWith('.js')) expect(res.headers.get('content-type')).toMatch(/javascript/);
      await res.arrayBuffer();
    }
  });

  it('then files of the package the page does not use are not served (404 like any unknown route)', async () => {
    for (const p of ['/docs/index.html', '/docs/swagger-initializer.js', '/docs/%2e%2e/package.json', '/docs/package.json']) {
      expect({ p, status: (await server.request('GET', p, undefined, TENANT)).status }).toEqual({ p, status: 404 });
    }
  });
});

describe('When /admin/queues is guarded by ADMIN_API_KEY', () => {
  it('then without credentials, or with a tenant’s key, it answers 401 with a Basic challenge', async () => {
    for (const headers of [
      {},
      TENANT,
      basic('ops', 'ka'),
      basic('ops', 'wrong-0123456789abcdef'),
      { authorization: `Bearer ${ADMIN_KEY}x` },
    ]) {
      const res = await server.request('GET', ADMIN_QUEUES_PATH, undefined, headers);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="ragmem admin"');
    }
    expect((await server.request('GET', `${ADMIN_QUEUES_PATH}/api/queues`, undefined, TENANT)).status).toBe(401);
  });

  it('then the admin key opens the dashboard as a bearer token and as the Basic password', async () => {
    for (const headers of [ADMIN_BEARER, basic('anyone', ADMIN_KEY)]) {
      const res = await server.request('GET', ADMIN_QUEUES_PATH, undefined, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
    // The page's own scripts sit behind the same key (a browser resends Basic credentials for them).
    const page = await server.request('GET', `${ADMIN_QUEUES_PATH}/`, undefined, ADMIN_BEARER);
    const script = /src="(static\/js\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${server.url}${ADMIN_QUEUES_PATH}/${script}`, { headers: basic('ops', ADMIN_KEY) });
    expect(asset.status).toBe(200);
    await asset.arrayBuffer();
    expect((await server.request('GET', `${ADMIN_QUEUES_PATH}/${script}`)).status).toBe(401);
  });

  it('then its API lists every queue', async () => {
    const res = await server.request('GET', `${ADMIN_QUEUES_PATH}/api/queues`, undefined, basic('ops', ADMIN_KEY));
    expect(res.status).toBe(200);
    const names = res.body.queues.map((q: { name: string }) => q.name).sort();
    expect(names).toEqual(Object.values(QueueNames).sort());
  });

  it('then the tenant API still refuses the admin key (it is no tenant key)', async () => {
    expect((await server.request('GET', '/documents', undefined, ADMIN_BEARER)).status).toBe(401);
  });
});

describe('When API_KEYS is set and ADMIN_API_KEY is not', () => {
  it('then /admin/queues does not exist (404 route_not_found), whatever the credentials', async () => {
    const locked = await startTestServer({ API_KEYS: 'ka=alpha', RUN_WORKERS: 'off' });
    try {
      for (const [p, headers] of [
        [ADMIN_QUEUES_PATH, {}],
        [ADMIN_QUEUES_PATH, TENANT],
        [`${ADMIN_QUEUES_PATH}/api/queues`, TENANT],
      ] as const) {
        const res = await locked.request('GET', p, undefined, headers);
        expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 404, code: 'route_not_found' });
        expect(res.body.error.message).toBe(`No route for GET ${p}`);
      }
      expect((await locked.request('GET', '/openapi.json')).status).toBe(200);
    } finally {
      await locked.cleanup();
    }
  });
});

describe('When auth is off (no API_KEYS, no ADMIN_API_KEY: local development)', () => {
  it('then the dashboard and its API are open', async () => {
    const dev = await startTestServer({ RUN_WORKERS: 'off' });
    try {
      expect((await dev.request('GET', ADMIN_QUEUES_PATH)).status).toBe(200);
      const queues = await dev.request('GET', `${ADMIN_QUEUES_PATH}/api/queues`);
      expect(queues.status).toBe(200);
      expect(queues.body.queues).toHaveLength(Object.values(QueueNames).length);
    } finally {
      await dev.cleanup();
    }
  });
});
