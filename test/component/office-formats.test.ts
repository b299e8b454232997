import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docxFile } from '../support/docx-file';
import { sharedPdf } from '../support/fixtures';

let server: TestServer;
beforeAll(async () => {
  // Small chunks, so that each section of a document starts a chunk of its own and carries its heading path.
  server = await startTestServer({ CHUNK_SIZE_TOKENS: '40', CHUNK_OVERLAP_TOKENS: '0' });
});
afterAll(async () => {
  await server?.cleanup();
});

const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

async function upload(name: string, type: string, data: Buffer | string) {
  const fd = new FormData();
  fd.append('file', new Blob([data], { type }), name);
  return server.request('POST', '/documents', fd);
}

async function searchHit(query: string) {
  const res = await server.request('POST', '/search', { query, k: 3, mode: 'keyword' });
  expect(res.status).toBe(200);
  return res.body.results[0] as { documentId: string; text: string; metadata: { headingPath: string[] } } | undefined;
}

describe('When a Word document is uploaded', () => {
  it('then it becomes searchable, its headings become the heading paths of its chunks, and its table rows stay whole', async () => {
    const bytes = await docxFile([
      { heading: 1, text: 'Harbour operations manual' },
      { paragraph: 'This manual describes the daily work of the harbour.' },
      { heading: 2, text: 'Tide gauges' },
      { paragraph: 'The quartermaster reads the tide gauges at dawn and logs each reading in the ledger.' },
      { bullet: 'Check the float well for silt' },
      { bullet: 'Wind the chart drum' },
      {
        table: [
          ['Gauge', 'Location'],
          ['North pier gauge', 'Breakwater lantern'],
        ],
      },
    ]);
    const created = await upload('manual.docx', 'application/octet-stream', bytes); // clients often send no Word type
    expect(created.status).toBe(202);
    const doc = await waitForDocument(server, created.body.id);
    expect(doc.status).toBe('ready');
    expect(doc.chunkCount).toBeGreaterThan(1);
    expect(doc.ocr).toBeUndefined(); // nothing was read by OCR

    const hit = await searchHit('quartermaster tide gauges dawn');
    expect(hit?.documentId).toBe(created.body.id);
    expect(hit?.metadata.headingPath).toEqual(['Harbour operations manual', 'Tide gauges']);
    expect(hit?.text).toContain('-   Check the float well for silt');
    const row = await searchHit('north pier gauge breakwater lantern');
    expect(row?.documentId).toBe(created.body.id);
    expect(row?.text).toContain('| North pier gauge | Breakwater lantern |');
    expect(row?.metadata.headingPath).toEqual(['Harbour operations manual', 'Tide gauges']);
  });

  it('then a corrupt .docx fails as docx_invalid, and a ZIP archive that is not a Word document is refused with 415', async () => {
    const corrupt = await upload('broken.docx', DOCX_TYPE, Buffer.from('PK\u0003\u0004 not really a zip archive'));
    expect(corrupt.status).toBe(202);
    const failed = await waitForDocument(server, corrupt.body.id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'docx_invalid' } });

    const JSZip = (await import('jszip')).default;
    const zip = new JSZip();
    zip.file('xl/workbook.xml', '<workbook/>');
    const archive = await zip.generateAsync({ type: 'nodebuffer' });
    const refused = await upload('sheet.xlsx', 'application/octet-stream', archive);
    expect(refused.status).toBe(415);
    expect(refused.body.error.code).toBe('unsupported_media_type');
  });
});

describe('When a saved web page is uploaded', () => {
  it('then its article is searchable under its headings, and its navigation, footer and scripts are not indexed', async () => {
    const paragraph = (s: string) => `<p>${s}</p>`;
    const page = `<!DOCTYPE html><html><head><title>Lighthouse keeping</title><script>trackVisitor("beacon")</script></head><body>
      <nav><a href="/">Home</a> <a href="/shop">Souvenir shop</a> <a href="/login">Sign in</a></nav>
      <header><p>Coastal heritage society newsletter</p></header>
      <main><article><h1>Lighthouse keeping</h1>
      ${paragraph('Keepers trimmed the wicks of the great lamp every evening, and polished the Fresnel lens until it gleamed. '.repeat(4))}
      <h2>Fog signals</h2>
      ${paragraph('When fog rolled in, the keeper sounded the diaphone horn every thirty seconds until the fog lifted at sea. '.repeat(4))}
      </article></main>
      <footer><p>Copyright the society. Manage cookie preferences.</p></footer></body></html>`;
    const created = await upload('lighthouse.html', 'text/html', page);
    expect(created.status).toBe(202);
    expect(await waitForDocument(server, created.body.id)).toMatchObject({ status: 'ready' });

    const hit = await searchHit('diaphone horn fog');
    expect(hit?.documentId).toBe(created.body.id);
    expect(hit?.metadata.headingPath).toEqual(['Lighthouse keeping', 'Fog signals']);
    const chunks = await server.request('GET', `/documents/${created.body.id}/chunks`);
    const indexed = (chunks.body.chunks as Array<{ text: string }>).map((c) => c.text).join('\n');
    for (const frame of ['Souvenir shop', 'newsletter', 'cookie', 'trackVisitor']) expect(indexed).not.toContain(frame);
    expect(await searchHit('souvenir shop sign in')).toBeUndefined();
  });
});

describe('When a photo of a page is uploaded (PNG)', () => {
  it('then OCR reads it and it becomes searchable', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ragmem-photo-'));
    try {
      execFileSync('pdftoppm', ['-r', '200', '-png', '-singlefile', sharedPdf('c02-22.pdf'), path.join(dir, 'page')]);
      const created = await upload('page.png', 'image/png', readFileSync(path.join(dir, 'page.png')));
      expect(created.status).toBe(202);
      const doc = await waitForDocument(server, created.body.id);
      expect(doc).toMatchObject({ status: 'ready', ocr: { pages: [1] } });
      expect((await searchHit('scrouched down and laid still'))?.documentId).toBe(created.body.id);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
