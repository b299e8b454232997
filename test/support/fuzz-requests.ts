import http from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { isErrorCode } from '../../src/errors';

/**
 * Generated and mutated HTTP requests for every operation of the service's OpenAPI document (GET /openapi.json):
 * bodies sampled from each operation's JSON schema, then broken (wrong types, missing or unknown fields, nulls, huge
 * and unicode strings, deep nesting), sent with odd content types and encodings, bad percent-escapes in path
 * parameters, and with or without a valid key. Shared by the short fuzz run (test/component) and the long one
 * (test/chaos). Requests go over raw `http` so paths, headers and bodies reach the server exactly as generated.
 */

type Schema = Record<string, any>;

export interface Operation {
  method: string;
  template: string;
  pathParams: string[];
  query: { name: string; schema: Schema }[];
  jsonBody?: Schema;
  multipart: boolean;
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** A short label for failure messages. */
  label: string;
}

export interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Operations to fuzz: every method of every path in the document. */
export function operationsOf(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params: any[] = op.parameters ?? [];
      const content = op.requestBody?.content ?? {};
      ops.push({
        method: method.toUpperCase(),
        template,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        jsonBody: content['application/json']?.schema,
        multipart: content['multipart/form-data'] !== undefined,
      });
    }
  }
  return ops;
}

const weirdString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\uFEFF',
    '\uD800',
    '💥'.repeat(50),
    "' OR 1=1 --",
    '../../etc/passwd',
    '</context>',
    '%00',
    'null',
    '{}',
    '_sessions',
  ),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);

const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  weirdString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308, -0),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 5 }),
);

/** A value the schema accepts (roughly: refinements are the server's to judge). */
function valid(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return anyJson;
  const options = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(options) && options.length > 0) return fc.oneof(...options.map((s: Schema) => valid(s, depth + 1)));
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      if (typeof schema.pattern === 'string') {
        try {
          return fc.stringMatching(new RegExp(schema.pattern)).map((s) => s.slice(0, schema.maxLength ?? 200));
        } catch {
          /* a pattern fast-check cannot read: plain strings */
        }
      }
      if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      return fc
        .string({ minLength: Math.max(1, schema.minLength ?? 1), maxLength: Math.min(schema.maxLength ?? 60, 60) })
        .filter((s) => s.trim() !== '');
    }
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1000, -1e6), max: Math.min(schema.maximum ?? 1000, 1e6) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(valid(schema.items, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case 'object': {
      const props: Record<string, Schema> = schema.properties ?? {};
      const required: string[] = schema.required ?? [];
      if (Object.keys(props).length === 0) {
        return fc.dictionary(
          fc.string({ minLength: 1, maxLength: 10 }),
          fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean()),
          { maxKeys: 4 },
        );
      }
      const entries = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, valid(s, depth + 1)]));
      return fc.record(entries, { requiredKeys: required.filter((k) => k in props) });
    }
    default:
      return anyJson;
  }
}

const deepNesting = fc
  .integer({ min: 1_000, max: 100_000 })
  .chain((n) => fc.constantFrom('['.repeat(n) + ']'.repeat(n), '{"a":'.repeat(n) + '1' + '}'.repeat(n)));

/** A schema-valid value broken in one way: a field dropped, retyped, nulled, grown, nested or added. */
function mutated(schema: Schema | undefined): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid(schema), fc.nat(), anyJson, fc.constantFrom('drop', 'retype', 'null', 'unknown', 'nest', 'array'))
    .map(([value, pick, junk, how]) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return how === 'array' ? [value] : junk;
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const key = keys.length > 0 ? keys[pick % keys.length] : 'extra';
      switch (how) {
        case 'drop':
          delete copy[key];
          break;
        case 'retype':
          copy[key] = junk;
          break;
        case 'null':
          copy[key] = null;
          break;
        case 'unknown':
          copy[`x${pick % 100}`] = junk;
          break;
        case 'nest':
          copy[key] = JSON.parse('['.repeat(200) + ']'.repeat(200));
          break;
        case 'array':
          return [copy];
      }
      return copy;
    });
}

/** encodeURIComponent, with lone surrogates replaced (as UTF-8 would) instead of throwing. */
const encode = (s: string) => encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));

const pathSegment = (name: string) =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: name === 'jobId' ? fc.stringMatching(/^[0-9a-f]{16}$/) : fc.constantFrom('doc_000000000aaaaaaaaaaaaaaaa', 's1', 'abc'),
    },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encode) },
    { weight: 2, arbitrary: fc.constantFrom('%ZZ', '%E0%A4%A', '%', '%C0%AF', '%FF%FE', '%2e%2e', '..', '%00', 'a%2Fb', '%F0%9F%92') },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 5_000 }).map((n) => 'i'.repeat(n)) },
  );

const queryValue = (schema: Schema) =>
  fc.oneof(
    valid(schema).map((v) => encode(String(v))),
    weirdString.map((s) => encode(s.slice(0, 2000))),
    fc.constantFrom('%ZZ', '2024-13-01', '-1', '1e999', 'NaN', '9999-99-99', '%', '[]', 'a&b=c'),
  );

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=zzz',
  'application/octet-stream',
  '',
);

function multipartBody(
  fields: Record<string, string>,
  file?: { name: string; type: string; data: string },
  boundary = 'fuzzBoundary',
): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(fields)) out += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  if (file)
    out += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n${file.data}\r\n`;
  return Buffer.from(`${out}--${boundary}--\r\n`);
}

const multipart = fc
  .tuple(
    fc.dictionary(
      fc.constantFrom('title', 'collection', 'metadata', 'externalId', 'text', 'other'),
      weirdString.map((s) => s.slice(0, 5000)),
      { maxKeys: 4 },
    ),
    fc.option(
      fc.record({
        name: fc.constantFrom('a.txt', 'a.md', 'a.pdf', 'a.png', '', '../x.html'),
        type: fc.constantFrom('text/plain', 'application/pdf', 'text/html', 'image/png'),
        data: fc.string({ maxLength: 300 }),
      }),
    ),
    fc.nat(100),
  )
  .map(([fields, file, cut]) => {
    const body = multipartBody(fields, file ?? undefined);
    // Now and then a truncated body.
    return {
      body: cut < 15 ? body.subarray(0, Math.floor((body.length * cut) / 15)) : body,
      contentType: 'multipart/form-data; boundary=fuzzBoundary',
    };
  });

type Encoding = 'none' | 'gzip' | 'fake-gzip' | 'deflate' | 'br' | 'x-unknown';
const encodings = fc.constantFrom<Encoding>('none', 'none', 'none', 'none', 'gzip', 'fake-gzip', 'deflate', 'br', 'x-unknown');

/** One generated request against `ops`; `key` is a valid API key, sent on most requests. */
export function fuzzRequest(ops: Operation[], key: string): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...ops).chain((op) => {
    const path = fc
      .tuple(...op.pathParams.map((name) => pathSegment(name).map((v) => [name, v] as const)))
      .map((pairs) => pairs.reduce((p, [name, v]) => p.replace(`{${name}}`, v), op.template));
    const query = fc
      .tuple(
        fc.subarray(op.query).chain((qs) => fc.tuple(...qs.map((q) => queryValue(q.schema).map((v) => `${q.name}=${v}`)))),
        fc.option(fc.constantFrom('zz=1', 'limit=%ZZ', 'limit=1&limit=2', 'a[b]=c')),
      )
      .map(([pairs, extra]) => [...pairs, ...(extra ? [extra] : [])].join('&'));
    const json = fc.oneof(
      { weight: 3, arbitrary: valid(op.jsonBody).map((v) => JSON.stringify(v)) },
      { weight: 4, arbitrary: mutated(op.jsonBody).map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: deepNesting },
      { weight: 1, arbitrary: fc.oneof(weirdString, fc.constantFrom('{', '{"a":', 'nul', '"\\ud800"', '[1,2', '\u0000')) },
    );
    const body = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(json, contentTypes).map(([text, contentType]) => ({ body: Buffer.from(text), contentType })) },
      { weight: op.multipart ? 3 : 1, arbitrary: multipart },
      { weight: 1, arbitrary: fc.constant({ body: undefined as Buffer | undefined, contentType: '' }) },
    );
    const auth = fc.constantFrom('valid', 'valid', 'valid', 'valid', 'none', 'wrong', 'malformed');
    return fc.tuple(path, query, body, encodings, auth, fc.boolean()).map(([p, q, b, encoding, who, chunked]): FuzzRequest => {
      const headers: Record<string, string> = {};
      if (b.contentType) headers['content-type'] = b.contentType;
      if (who === 'valid') headers.authorization = `Bearer ${key}`;
      if (who === 'wrong') headers.authorization = 'Bearer not-a-key';
      if (who === 'malformed') headers.authorization = 'Basic ???';
      let payload = b.body;
      if (payload && encoding !== 'none') {
        headers['content-encoding'] = encoding === 'fake-gzip' ? 'gzip' : encoding;
        if (encoding === 'gzip') payload = gzipSync(payload);
      }
      const sendBody = op.method !== 'GET' && op.method !== 'DELETE' ? payload : chunked ? payload : undefined;
      // Framed either way: Node's client does not chunk a GET or DELETE body by itself, and unframed bytes would be
      // read as the next request on the connection.
      if (sendBody) headers[chunked ? 'transfer-encoding' : 'content-length'] = chunked ? 'chunked' : String(sendBody.length);
      // Under Node's 16 KiB header limit: past it the server answers 431 before the body, and the client, still
      // writing, sees a reset instead (input-bounds.test.ts checks the 431 itself).
      const path = (q ? `${p}?${q}` : p).slice(0, 12_000);
      return {
        method: op.method,
        path,
        headers,
        body: sendBody,
        label: `${op.method} ${path.slice(0, 120)} [${b.contentType || 'no type'}, ${encoding}, ${who}]`,
      };
    });
  });
}

/** Sends one request exactly as generated. */
export function send(baseUrl: string, r: FuzzRequest, timeoutMs = 60_000): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(baseUrl + r.path, { method: r.method, headers: r.headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms: ${r.label}`)));
    req.on('error', (err) =>
      reject(
        new Error(`${r.label}: ${err.message} (headers ${JSON.stringify(r.headers).slice(0, 300)}, body ${r.body?.length ?? 0} bytes)`),
      ),
    );
    req.end(r.body);
  });
}

/**
 * What every answer must satisfy: no 5xx but 503 `dependency_unavailable`, and every error in the envelope
 * `{"error": {"code", "message"}}` with a catalogue code. Returns a reason, or undefined when the answer is fine.
 */
export function checkAnswer(r: FuzzRequest, res: FuzzResponse): string | undefined {
  if (res.status < 400) return res.status >= 200 ? undefined : `status ${res.status}`;
  let body: any;
  try {
    body = JSON.parse(res.text);
  } catch {
    return `${res.status} with a body that is not JSON: ${res.text.slice(0, 200)}`;
  }
  const code = body?.error?.code;
  if (typeof code !== 'string' || !isErrorCode(code) || typeof body.error.message !== 'string') {
    return `${res.status} without the error envelope: ${res.text.slice(0, 300)}`;
  }
  if (res.status >= 500 && !(res.status === 503 && code === 'dependency_unavailable'))
    return `${res.status} ${code}: ${body.error.message}`;
  return undefined;
}

/** Status counts, for the README's figures. */
export class StatusHistogram {
  readonly counts = new Map<string, number>();
  total = 0;
  add(res: FuzzResponse): void {
    let code = '';
    try {
      code = JSON.parse(res.text)?.error?.code ?? '';
    } catch {
      /* not JSON */
    }
    const key = code ? `${res.status} ${code}` : String(res.status);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.total += 1;
  }
  toString(): string {
    return [...this.counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
  }
}
