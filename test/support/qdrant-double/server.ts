/**
 * A strict in-process Qdrant (1.19 HTTP API) test double.
 *
 * Every request is matched against the paths of Qdrant's own OpenAPI document, its query parameters and
 * JSON body are validated with ajv against the operation's schemas, and only then handed to an in-memory
 * engine that implements the semantics the vector store relies on. Anything Qdrant would refuse as
 * malformed (bad JSON, schema violation, unknown route) is answered like Qdrant does and also recorded in
 * `rejected`, so a test can assert the client never sent anything malformed:
 *
 *   const qdrant = await startQdrantDouble();
 *   ... exercise the store against qdrant.url ...
 *   expect(qdrant.rejected).toEqual([]);
 *
 * Query parameters are held to the operation's declared ones (an undeclared or repeated one is refused, see
 * OpenApiRoutes.validateQuery) and recorded parsed in `requests[].query`, so a test can assert e.g. `ordering` or
 * `consistency`. `setFault` makes it answer as a cluster with an unavailable shard does (SHARD_FAULTS).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenApiRoutes } from './openapi';
import { HttpError, QdrantEngine } from './engine';
import { UnsupportedFilterError } from './filter';

export interface QdrantDoubleOptions {
  /** When set, every request (but the health probes) needs `api-key: <key>` or `Authorization: Bearer <key>`. */
  apiKey?: string;
}

/**
 * A failure the double answers with, instead of serving, while it is set: what a distributed Qdrant answers while a
 * shard has no live replica. Requests are still validated first (a malformed one is refused as malformed) and
 * recorded with the fault's status.
 */
export interface QdrantFault {
  status: number;
  /** Qdrant's error text, answered as `{"status": {"error": <text>}}`. */
  error: string;
  /**
   * Which operations fail, by method and OpenAPI path template. Default `onPoints`: every request on a collection's
   * points (what shards serve), while collection, alias and index metadata (kept by the cluster's consensus on every
   * peer) go on answering, as they do on a real cluster with one shard's replicas down.
   */
  affects?: (operation: { method: string; template: string }) => boolean;
}

export const onPoints = (operation: { template: string }): boolean =>
  operation.template.startsWith('/collections/{collection_name}/points');

/**
 * Qdrant's answers for a shard it cannot serve. The statuses and message prefixes are Qdrant's (its REST status per
 * error kind is set in src/actix/helpers.rs: ServiceError `Service internal error: ...` 500, ShardUnavailable `Shard
 * temporarily unavailable: ...` 503, Timeout `Timeout error: ...` 408); the 500's sentence is the replica set's own,
 * while the 503's and 408's descriptions, and every shard and peer number, are illustrative.
 */
export const SHARD_FAULTS = {
  /** 503: the shard is known unavailable (e.g. its replicas are all dead or being recovered). */
  shardUnavailable: { status: 503, error: 'Shard temporarily unavailable: no active replica of shard 0 on this peer' },
  /** 500: a replica set asked for more live replicas than it has (reads with a consistency, writes with a write consistency factor). */
  notEnoughReplicas: {
    status: 500,
    error: 'Service internal error: The replica set for shard 0 on peer 1 does not have enough active replicas',
  },
  /** 408: the shard did not answer within the operation's timeout. */
  timeout: { status: 408, error: "Timeout error: Operation 'Search' timed out after 30 seconds" },
} as const satisfies Record<string, QdrantFault>;

export interface RecordedRequest {
  method: string;
  /** path without the query string */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** HTTP status the double answered with */
  status: number;
}

export interface RejectedRequest {
  method: string;
  path: string;
  status: number;
  errors: string[];
}

export interface QdrantDouble {
  url: string;
  close(): Promise<void>;
  /** Listens again on the same port after close(), with the collections and points it held (an outage that ends). */
  restart(): Promise<void>;
  /** Requests refused as malformed (400 JSON/schema, 404 unknown route) or using a feature the double lacks (501). */
  rejected: RejectedRequest[];
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Drops all collections/aliases, clears `requests` and `rejected`, and clears the fault. */
  reset(): void;
  /** Answers the requests the fault affects with it until `clearFault()` (e.g. `setFault(SHARD_FAULTS.shardUnavailable)`). */
  setFault(fault: QdrantFault): void;
  clearFault(): void;
}

let cachedRoutes: OpenApiRoutes | undefined;
function routes(): OpenApiRoutes {
  cachedRoutes ??= new OpenApiRoutes();
  return cachedRoutes;
}

const VERSION = { title: 'qdrant - vector search engine', version: '1.19.0', commit: 'qdrant-test-double' };
const AUTH_FREE = new Set(['/healthz', '/livez', '/readyz']);

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startQdrantDouble(opts: QdrantDoubleOptions = {}): Promise<QdrantDouble> {
  const openapi = routes();
  const engine = new QdrantEngine();
  const requests: RecordedRequest[] = [];
  const rejected: RejectedRequest[] = [];
  let fault: QdrantFault | undefined;

  const server = http.createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const raw = await readBody(req);
    let body: unknown = undefined;
    const record: RecordedRequest = { method, path: pathname, query: Object.fromEntries(url.searchParams), body: raw, status: 0 };
    requests.push(record);
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;

    const send = (status: number, payload: unknown, contentType = 'application/json'): void => {
      record.status = status;
      const text = typeof payload === 'string' && contentType !== 'application/json' ? payload : JSON.stringify(payload);
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const ok = (result: unknown): void => send(200, { result, status: 'ok', time: elapsed() });
    const fail = (status: number, message: string, reject?: string[]): void => {
      if (reject) rejected.push({ method, path: pathname, status, errors: reject });
      send(status, { status: { error: message }, time: elapsed() });
    };

    try {
      if (opts.apiKey !== undefined && !AUTH_FREE.has(pathname)) {
        const header = req.headers['api-key'];
        const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        if (header !== opts.apiKey && bearer !== opts.apiKey) {
          fail(401, 'Must provide an API key or an Authorization bearer token');
          return;
        }
      }

      const found = openapi.match(method, pathname);
      if (!found.op || !found.match) {
        const message = found.pathExists ? `Method ${method} is not allowed on ${pathname}` : `Not found: ${method} ${pathname}`;
        fail(404, message, [message]);
        return;
      }
      const { op, match } = found;

      const queryCheck = openapi.validateQuery(op, url.searchParams);
      if (!queryCheck.ok) {
        fail(400, `Query deserialize error: ${queryCheck.errors.join('; ')}`, queryCheck.errors);
        return;
      }

      if (openapi.hasBody(op)) {
        if (raw.trim() === '') {
          const msg = 'Json deserialize error: EOF while parsing a value at line 1 column 0';
          fail(400, `Format error in JSON body: ${msg}`, [msg]);
          return;
        }
        try {
          body = JSON.parse(raw);
        } catch (e) {
          const msg = `Json deserialize error: ${(e as Error).message}`;
          fail(400, `Format error in JSON body: ${msg}`, [msg]);
          return;
        }
        record.body = body;
        const check = openapi.validateBody(op, body);
        if (!check.ok) {
          fail(400, `Format error in JSON body: ${check.errors.join('; ')}`, check.errors);
          return;
        }
      } else if (raw.trim() !== '') {
        try {
          record.body = JSON.parse(raw);
        } catch {
          /* keep raw text */
        }
      }

      if (fault && (fault.affects ?? onPoints)({ method, template: match.template })) {
        fail(fault.status, fault.error);
        return;
      }

      const name = match.params.collection_name;
      const wait = url.searchParams.get('wait') === 'true';
      const b = (body ?? {}) as Record<string, unknown>;
      const key = `${method} ${match.template}`;
      switch (key) {
        case 'GET /':
          send(200, VERSION);
          return;
        case 'GET /healthz':
        case 'GET /livez':
        case 'GET /readyz':
          send(200, `${pathname.slice(1)} check passed`, 'text/plain');
          return;
        case 'GET /collections':
          return ok(engine.listCollections());
        case 'PUT /collections/{collection_name}':
          return ok(engine.createCollection(name, b));
        case 'PATCH /collections/{collection_name}':
          return ok(engine.updateCollection(name, b));
        case 'GET /collections/{collection_name}':
          return ok(engine.collectionInfo(name));
        case 'DELETE /collections/{collection_name}':
          return ok(engine.deleteCollection(name));
        case 'GET /collections/{collection_name}/exists':
          return ok(engine.collectionExists(name));
        case 'POST /collections/aliases':
          return ok(engine.changeAliases(b));
        case 'GET /aliases':
          return ok(engine.listAliases());
        case 'GET /collections/{collection_name}/aliases':
          return ok(engine.listAliases(name));
        case 'PUT /collections/{collection_name}/index':
          return ok(engine.createIndex(name, b, wait));
        case 'DELETE /collections/{collection_name}/index/{field_name}':
          return ok(engine.deleteIndex(name, match.params.field_name, wait));
        case 'PUT /collections/{collection_name}/points':
          return ok(engine.upsert(name, b, wait));
        case 'POST /collections/{collection_name}/points':
          return ok(engine.retrieve(name, b));
        case 'GET /collections/{collection_name}/points/{id}':
          return ok(engine.getPoint(name, match.params.id));
        case 'POST /collections/{collection_name}/points/delete':
          return ok(engine.deletePoints(name, b, wait));
        case 'POST /collections/{collection_name}/points/payload':
          return ok(engine.setPayload(name, b, wait, false));
        case 'PUT /collections/{collection_name}/points/payload':
          return ok(engine.setPayload(name, b, wait, true));
        case 'POST /collections/{collection_name}/points/payload/delete':
          return ok(engine.deletePayload(name, b, wait));
        case 'POST /collections/{collection_name}/points/payload/clear':
          return ok(engine.clearPayload(name, b, wait));
        case 'POST /collections/{collection_name}/points/count':
          return ok(engine.count(name, b));
        case 'POST /collections/{collection_name}/points/scroll':
          return ok(engine.scroll(name, b));
        case 'POST /collections/{collection_name}/points/query':
          return ok(engine.query(name, b));
        case 'POST /collections/{collection_name}/points/query/batch':
          return ok((b.searches as Record<string, unknown>[]).map((s) => engine.query(name, s)));
        default: {
          const msg = `Not supported by the Qdrant test double: ${key}`;
          fail(501, msg, [msg]);
          return;
        }
      }
    } catch (e) {
      if (e instanceof HttpError) {
        fail(e.status, e.message, e.unsupported ? [e.message] : undefined);
      } else if (e instanceof UnsupportedFilterError) {
        const unsupportedFeature = e.message.startsWith('Not supported') || e.message.includes('not supported');
        fail(unsupportedFeature ? 501 : 400, e.message, unsupportedFeature ? [e.message] : undefined);
      } else {
        const msg = `Service internal error: ${(e as Error).stack ?? String(e)}`;
        fail(500, msg, [msg]);
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    rejected,
    reset(): void {
      engine.reset();
      requests.length = 0;
      rejected.length = 0;
      fault = undefined;
    },
    setFault(next: QdrantFault): void {
      fault = next;
    },
    clearFault(): void {
      fault = undefined;
    },
    close(): Promise<void> {
      return new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
    restart(): Promise<void> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
  };
}
