import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/**
 * Every input is bounded and answers a clear 4xx with a stable catalogue code, never a 500 (issue 11): path ids and
 * their encoding, body encodings, dates, metadata, filters, reindex chunking, multipart framing, JSON nesting, and the
 * bodies held in memory at once. After each case the service still answers /healthz.
 */
const MiB = 1024 * 1024;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ MAX_INFLIGHT_UPLOAD_BYTES: String(MiB), MAX_UPLOAD_BYTES: String(900 * 1024) });
});
afterAll(async () => {
  await server?.cleanup();
});
afterEach(async () => {
  expect((await server.request('GET', '/healthz')).status).toBe(200);
});

const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
};

const metadataOf = (keys: number, valueChars = 4) =>
  Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 'v'.repeat(valueChars)]));

/** A raw request, so framing, lengths and encodings are exactly what the test writes. */
function rawRequest(path: string, headers: Record<string, string | number>, body?: Buffer | string, method = 'POST') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    // A fresh connection each time: a kept-alive socket the server closed after an early answer would swallow the next request.
    const req = http.request(server.url + path, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* keep text */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('When a request once answered 500', () => {
  it('a bad percent-escape in a path id answers 400 invalid_path_encoding', async () => {
    expectError(await server.request('GET', '/documents/%E0%A4%A'), 400, 'invalid_path_encoding');
    expectError(await server.request('GET', '/sessions/%ZZ/messages'), 400, 'invalid_path_encoding');
    expectError(await server.request('DELETE', '/reindex/%C0'), 400, 'invalid_path_encoding');
  });

  it('Content-Encoding gzip on a body that is not gzip answers 400 invalid_content_encoding', async () => {
    const res = await rawRequest('/search', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{"query":"x"}');
    expectError(res, 400, 'invalid_content_encoding');
  });

  it('a real gzip body is still accepted, and an unknown encoding answers 415', async () => {
    const ok = await rawRequest(
      '/search',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      gzipSync('{"query":"lighthouse"}'),
    );
    expect(ok.status).toBe(200);
    expectError(
      await rawRequest('/search', { 'content-type': 'application/json', 'content-encoding': 'zstd-9' }, '{}'),
      415,
      'unsupported_media_type',
    );
  });

  it('an impossible date, a reversed range or a range over 400 days answers 400', async () => {
    expectError(await server.request('GET', '/usage?to=2024-13-01'), 400, 'invalid_request');
    expectError(await server.request('GET', '/usage?from=2023-02-29&to=2023-03-01'), 400, 'invalid_request');
    expectError(await server.request('GET', '/usage?from=2024-05-01&to=2024-01-01'), 400, 'invalid_request');
    expectError(await server.request('GET', '/usage?from=2020-01-01&to=2024-01-01'), 400, 'invalid_request');
    expect((await server.request('GET', '/usage?from=2024-02-29&to=2024-03-01')).status).toBe(200);
  });
});

describe('When the request line and headers are over 16 KiB', () => {
  it('Node refuses it before routing, and the answer is 431 headers_too_large in the envelope', async () => {
    expectError(await rawRequest(`/documents/${'i'.repeat(20_000)}`, {}, undefined, 'GET'), 431, 'headers_too_large');
  });
});

describe('When a path id is out of its bounds', () => {
  it('a document id that is too long or has odd characters answers 400 invalid_request', async () => {
    expectError(await server.request('GET', `/documents/doc_${'a'.repeat(80)}`), 400, 'invalid_request');
    expectError(await server.request('GET', '/documents/doc%27%20OR%201%3D1'), 400, 'invalid_request');
    expectError(await server.request('DELETE', '/documents/..%2F..%2Fetc'), 400, 'invalid_request');
  });

  it('a session id with odd characters or too long answers 400, a reindex job id that is not one answers 400', async () => {
    expectError(await server.request('GET', '/sessions/a%20b'), 400, 'invalid_request');
    expectError(await server.request('GET', `/sessions/${'s'.repeat(129)}/messages`), 400, 'invalid_request');
    expectError(await server.request('GET', '/reindex/not-a-job'), 400, 'invalid_request');
  });
});

describe('When metadata is too large', () => {
  it('more than 64 keys answers 413 metadata_too_large', async () => {
    expectError(await server.request('POST', '/documents', { text: 'hello', metadata: metadataOf(65) }), 413, 'metadata_too_large');
  });

  it('more than 8 KiB of JSON answers 413 metadata_too_large, in a document, a bulk item, a multipart field and a session', async () => {
    const big = metadataOf(4, 2500); // ~10 KB, every value within its own 4096-char bound
    expectError(await server.request('POST', '/documents', { text: 'hello', metadata: big }), 413, 'metadata_too_large');
    expectError(
      await server.request('POST', '/documents/bulk', { documents: [{ text: 'a' }, { text: 'b', metadata: big }] }),
      413,
      'metadata_too_large',
    );
    const fd = new FormData();
    fd.append('metadata', JSON.stringify(big));
    fd.append('file', new Blob(['some text'], { type: 'text/plain' }), 'a.txt');
    expectError(await server.request('POST', '/documents', fd), 413, 'metadata_too_large');
    expectError(await server.request('POST', '/sessions', { metadata: big }), 413, 'metadata_too_large');
  });

  it('metadata within the bounds is accepted', async () => {
    const res = await server.request('POST', '/documents', { text: 'metadata within bounds', metadata: metadataOf(64, 100) });
    expect(res.status).toBe(202);
  });
});

describe('When a filter is too large', () => {
  it('more than 32 keys or 256 values answers 413 filter_too_large, in search and in ask', async () => {
    const manyKeys = { metadata: metadataOf(33) };
    const manyValues = {
      metadata: Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`k${i}`, Array.from({ length: 100 }, (_, j) => `v${j}`)])),
    };
    expectError(await server.request('POST', '/search', { query: 'x', filter: manyKeys }), 413, 'filter_too_large');
    expectError(await server.request('POST', '/search', { query: 'x', filter: manyValues }), 413, 'filter_too_large');
    expectError(await server.request('POST', '/sessions/s1/context', { question: 'x', filter: manyValues }), 413, 'filter_too_large');
    expectError(
      await server.request('POST', '/search', { query: 'x', filter: { documentIds: Array.from({ length: 1001 }, (_, i) => `doc_${i}`) } }),
      400,
      'invalid_request',
    );
  });
});

describe('When reindex chunking would explode the chunk count', () => {
  it('an overlap over half the chunk size, or a chunk size out of range, answers 400', async () => {
    const res = await server.request('POST', '/reindex', { chunking: { chunkSize: 512, chunkOverlap: 511 } });
    expectError(res, 400, 'invalid_request');
    expect(JSON.stringify(res.body.error.details)).toContain('chunkOverlap');
    expectError(await server.request('POST', '/reindex', { chunking: { chunkSize: 512, chunkOverlap: 257 } }), 400, 'invalid_request');
    expectError(await server.request('POST', '/reindex', { chunking: { chunkSize: 100_000, chunkOverlap: 0 } }), 400, 'invalid_request');
  });
});

describe('When a JSON body is deeply nested', () => {
  it('100,000 nested arrays, at the top or inside a field, answer 400 and the process keeps serving', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expectError(await server.request('POST', '/search', deep, { 'content-type': 'application/json' }), 400, 'invalid_request');
    const inField = `{"query":"x","filter":{"metadata":{"a":${deep}}}}`;
    expectError(await server.request('POST', '/search', inField, { 'content-type': 'application/json' }), 400, 'invalid_request');
    const objects = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    expectError(await server.request('POST', '/documents', objects, { 'content-type': 'application/json' }), 400, 'invalid_request');
  });
});

describe('When a multipart body is malformed', () => {
  const boundary = 'XBOUNDARYX';
  const part = (name: string, value: string, filename?: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n` +
    `${filename ? 'Content-Type: text/plain\r\n' : ''}\r\n${value}\r\n`;
  const post = (body: string, contentType = `multipart/form-data; boundary=${boundary}`) =>
    rawRequest('/documents', { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }, body);

  it('no boundary answers 400 invalid_multipart', async () => {
    expectError(await post(part('file', 'hello', 'a.txt'), 'multipart/form-data'), 400, 'invalid_multipart');
  });

  it('a truncated body answers 400 invalid_multipart', async () => {
    expectError(await post(part('file', 'hello there', 'a.txt').slice(0, -10)), 400, 'invalid_multipart');
  });

  it('too many fields answers 400 invalid_multipart', async () => {
    const body = Array.from({ length: 40 }, (_, i) => part(`f${i}`, 'x')).join('') + part('file', 'hello', 'a.txt') + `--${boundary}--\r\n`;
    expectError(await post(body), 400, 'invalid_multipart');
  });

  it('a huge part header line answers 400 invalid_multipart', async () => {
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nX-Pad: ${'p'.repeat(40_000)}\r\n\r\nhello\r\n--${boundary}--\r\n`;
    expectError(await post(body), 400, 'invalid_multipart');
  });

  it('the text as a field instead of a file answers 400 invalid_multipart', async () => {
    expectError(await post(part('text', 'hello as a field') + `--${boundary}--\r\n`), 400, 'invalid_multipart');
  });

  it('a well-formed upload still answers 202', async () => {
    const res = await post(part('file', 'a well formed upload', 'ok.txt') + `--${boundary}--\r\n`);
    expect(res.status).toBe(202);
  });
});

describe('When uploads in flight hold MAX_INFLIGHT_UPLOAD_BYTES', () => {
  it('a new body answers 503 uploads_busy with Retry-After until the held one finishes', async () => {
    // A slow client: declares 800 KB, sends a little, holds the rest back.
    const text = 'slow upload '.repeat(70_000);
    const body = Buffer.from(JSON.stringify({ text }));
    const holdUpload = () => {
      const req = http.request(server.url + '/documents', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        agent: false,
      });
      const state: { status?: number } = {};
      const answered = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          state.status = res.statusCode ?? 0;
          resolve(state.status);
        });
        req.on('error', reject);
      });
      req.write(body.subarray(0, 1000));
      return { req, answered, state };
    };

    // 800 KB held + 300 KB more is over 1 MiB: refused before its body is read. Admission comes after authentication
    // and the rate limit (both await Redis), so the first probe may overtake the held upload and be admitted first,
    // refusing the held one instead: then the upload is held again.
    const probe = () => server.request('POST', '/search', { query: 'x', pad: 'p'.repeat(300_000) });
    let held = holdUpload();
    const refused = await waitFor('the probe to be refused', async () => {
      if (held.state.status === 503) held = holdUpload();
      const res = await probe();
      return res.status === 503 ? res : undefined;
    });
    expectError(refused, 503, 'uploads_busy');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Small bodies still fit beside it.
    expect((await server.request('POST', '/search', { query: 'lighthouse' })).status).toBe(200);

    held.req.end(body.subarray(1000));
    expect(await held.answered).toBe(202);
    // Released: the same probe is admitted (and refused for its unknown field, a 400).
    await waitFor('the probe to be admitted again', async () => ((await probe()).status === 400 ? true : undefined));
  });

  it('many concurrent multipart uploads each answer 202 or 503 uploads_busy, and every reservation is released afterwards', async () => {
    const uploads = Array.from({ length: 8 }, (_, i) => {
      const fd = new FormData();
      fd.append('file', new Blob([`concurrent upload ${i} `.repeat(12_000)], { type: 'text/plain' }), `u${i}.txt`);
      return server.request('POST', '/documents', fd);
    });
    const answers = await Promise.all(uploads);
    for (const res of answers) {
      expect([202, 503]).toContain(res.status);
      if (res.status === 503) expect(res.body.error.code).toBe('uploads_busy');
    }
    // ~250 KB each against a 1 MiB bound: at most four fit at once, and nothing stays reserved once all have answered.
    const big = () => server.request('POST', '/search', { query: 'x', pad: 'p'.repeat(900_000) });
    expect((await big()).status).toBe(400);
  });
});
