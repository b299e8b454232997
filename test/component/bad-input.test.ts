import fs from 'node:fs/promises';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { sharedPdf } from '../support/fixtures';

/**
 * Every bad input gets a clear 4xx (or a `failed` document with a code) and nothing already stored is lost:
 * after each case the service still answers and the first document is still searchable.
 */
let server: TestServer;
let anchorId: string;
const ANCHOR = 'The lighthouse keeper logs the tide at dawn and dusk every single day.';

beforeAll(async () => {
  server = await startTestServer({ MAX_UPLOAD_BYTES: String(256 * 1024) });
  const res = await server.request('POST', '/documents', { text: ANCHOR, title: 'Anchor' });
  anchorId = res.body.id;
  await waitForDocument(server, anchorId);
});
afterAll(async () => {
  await server?.cleanup();
});

afterEach(async () => {
  const health = await server.request('GET', '/healthz');
  expect(health.status).toBe(200);
  const res = await server.request('POST', '/search', { query: 'lighthouse keeper tide', k: 3 });
  expect(res.status).toBe(200);
  expect(res.body.results[0].documentId).toBe(anchorId);
});

function upload(name: string, type: string, data: Buffer | string, fields: Record<string, string> = {}) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([data], { type }), name);
  return server.request('POST', '/documents', fd);
}

const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(5);
};

describe('When the request itself is wrong', () => {
  it('an empty JSON body answers 400 invalid_request', async () => {
    expectError(await server.request('POST', '/documents', {}), 400, 'invalid_request');
  });

  it('no body at all answers 415 naming the accepted types', async () => {
    expectError(await server.request('POST', '/documents'), 415, 'unsupported_media_type');
  });

  it('broken JSON answers 400 invalid_json', async () => {
    const res = await server.request('POST', '/documents', '{"text": ', { 'content-type': 'application/json' });
    expectError(res, 400, 'invalid_json');
  });

  it('fields with wrong types and unknown fields answer 400 with the failing fields', async () => {
    const res = await server.request('POST', '/documents', { text: 42, title: ['x'], colour: 'blue' });
    expectError(res, 400, 'invalid_request');
    const paths = res.body.error.details.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['text', 'title']));
    expect(JSON.stringify(res.body.error.details)).toContain('colour');
  });

  it('whitespace-only text answers 400', async () => {
    expectError(await server.request('POST', '/documents', { text: '   \n ' }), 400, 'invalid_request');
  });

  it('metadata that is not a JSON object answers 400', async () => {
    expectError(await upload('a.txt', 'text/plain', 'hello there', { metadata: '[1,2]' }), 400, 'invalid_request');
    expectError(await upload('a.txt', 'text/plain', 'hello there', { metadata: '{not json' }), 400, 'invalid_request');
    expectError(await server.request('POST', '/documents', { text: 'x y z', metadata: { nested: { a: 1 } } }), 400, 'invalid_request');
  });

  it('a search without a query or with k out of range answers 400', async () => {
    expectError(await server.request('POST', '/search', {}), 400, 'invalid_request');
    expectError(await server.request('POST', '/search', { query: 'x', k: 101 }), 400, 'invalid_request');
    expectError(await server.request('POST', '/search', { query: 'x', mode: 'fuzzy' }), 400, 'invalid_request');
  });
});

describe('When the uploaded file is wrong', () => {
  it('an empty file answers 400 empty_document', async () => {
    expectError(await upload('empty.txt', 'text/plain', ''), 400, 'empty_document');
  });

  it('a file over the size limit answers 413', async () => {
    expectError(await upload('big.txt', 'text/plain', 'a'.repeat(300 * 1024)), 413, 'payload_too_large');
  });

  it('an unsupported type (a GIF, a spreadsheet) answers 415', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1');
    expectError(await upload('image.gif', 'image/gif', gif), 415, 'unsupported_media_type');
    expectError(
      await upload('sheet.xls', 'application/vnd.ms-excel', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])),
      415,
      'unsupported_media_type',
    );
  });

  it('invalid UTF-8 text answers 400 invalid_encoding', async () => {
    expectError(await upload('bad.txt', 'text/plain', Buffer.from([0x68, 0x69, 0x20, 0xc3, 0x28, 0xff])), 400, 'invalid_encoding');
  });

  it('a truncated PDF ends failed with pdf_invalid', async () => {
    const pdf = await fs.readFile(sharedPdf('tracemonkey.pdf'));
    const res = await upload('cut.pdf', 'application/pdf', pdf.subarray(0, 20_000));
    expect(res.status).toBe(202);
    const doc = await waitForDocument(server, res.body.id);
    expect(doc).toMatchObject({ status: 'failed', error: { code: 'pdf_invalid' } });
  });

  it('garbage behind a PDF header ends failed with pdf_invalid', async () => {
    const res = await upload('junk.pdf', 'application/pdf', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(4000, 7)]));
    expect(res.status).toBe(202);
    expect(await waitForDocument(server, res.body.id)).toMatchObject({ status: 'failed', error: { code: 'pdf_invalid' } });
  });

  it('an encrypted PDF ends failed with pdf_encrypted, at once', async () => {
    const res = await upload('locked.pdf', 'application/pdf', await fs.readFile(sharedPdf('password-example.pdf')));
    const doc = await waitForDocument(server, res.body.id);
    expect(doc).toMatchObject({ status: 'failed', error: { code: 'pdf_encrypted' } });
  });

  it('an image-only PDF is read by OCR (on by default) and becomes searchable, its OCR pages in its chunks', async () => {
    const res = await upload('scan.pdf', 'application/pdf', await fs.readFile(sharedPdf('c02-22.pdf')));
    const doc = await waitForDocument(server, res.body.id);
    expect(doc.status).toBe('ready');
    // The document view says which pages OCR read and how sure tesseract was.
    expect(doc.ocr.pages).toEqual([1]);
    expect(doc.ocr.meanConfidence).toBeGreaterThan(80);
    const found = await server.request('POST', '/search', { query: 'tip-toeing along a path amongst the trees', mode: 'keyword', k: 1 });
    expect(found.body.results[0]).toMatchObject({ documentId: res.body.id, metadata: { pages: [1] } });
  });
});

describe('When an id does not exist', () => {
  it('GET, chunks, DELETE and reindex answer 404 not_found', async () => {
    expectError(await server.request('GET', '/documents/doc_nope'), 404, 'not_found');
    expectError(await server.request('GET', '/documents/doc_nope/chunks'), 404, 'not_found');
    expectError(await server.request('DELETE', '/documents/doc_nope'), 404, 'not_found');
    expectError(await server.request('POST', '/documents/doc_nope/reindex'), 404, 'not_found');
  });

  it('an unknown route answers 404 route_not_found with a request id', async () => {
    const res = await server.request('GET', '/nothing-here', undefined, { 'x-request-id': 'trace-123' });
    expectError(res, 404, 'route_not_found');
    expect(res.headers.get('x-request-id')).toBe('trace-123');
  });
});

describe('When a request once answered 500 (issue 11)', () => {
  it('bad percent-escapes in path ids answer 400 invalid_path_encoding, an impossible day 400 invalid_request', async () => {
    expectError(await server.request('GET', '/documents/%E0%A4%A'), 400, 'invalid_path_encoding');
    expectError(await server.request('GET', '/sessions/%ZZ/messages'), 400, 'invalid_path_encoding');
    expectError(await server.request('GET', '/usage?to=2024-13-01'), 400, 'invalid_request');
  });

  it('metadata over 8 KiB and filters over their bounds answer 413 with their own codes', async () => {
    const big = { a: 'x'.repeat(4000), b: 'y'.repeat(4000), c: 'z'.repeat(400) };
    expectError(await server.request('POST', '/documents', { text: 'a b c', metadata: big }), 413, 'metadata_too_large');
    const filter = { metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) };
    expectError(await server.request('POST', '/search', { query: 'lighthouse', filter }), 413, 'filter_too_large');
  });
});
