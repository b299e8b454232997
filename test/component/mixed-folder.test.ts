import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docxFile } from '../support/docx-file';
import { sharedPdf } from '../support/fixtures';

// The "done": a company's document share dropped into the service at once, each file uploaded as a client
// would (no declared type for most), then every one findable by search or failed with a named code.
let server: TestServer;
let photos: string;
beforeAll(async () => {
  server = await startTestServer();
  photos = mkdtempSync(path.join(os.tmpdir(), 'ragmem-share-'));
  // A page photo as JPEG and as TIFF, made from the shared scan with poppler (installed with OCR).
  execFileSync('pdftoppm', ['-r', '200', '-jpeg', '-singlefile', sharedPdf('c02-22.pdf'), path.join(photos, 'page')]);
  execFileSync('pdftoppm', ['-r', '200', '-tiff', '-singlefile', sharedPdf('c02-22.pdf'), path.join(photos, 'page')]);
});
afterAll(async () => {
  await server?.cleanup();
  if (photos) rmSync(photos, { recursive: true, force: true });
});

async function upload(name: string, data: Buffer | string) {
  const fd = new FormData();
  fd.append('file', new Blob([data], { type: 'application/octet-stream' }), name);
  const res = await server.request('POST', '/documents', fd);
  expect(res.status).toBe(202);
  return res.body.id as string;
}

async function hitsFor(query: string) {
  const res = await server.request('POST', '/search', { query, k: 5, mode: 'keyword' });
  expect(res.status).toBe(200);
  return (res.body.results as Array<{ documentId: string }>).map((r) => r.documentId);
}

it('When a folder of mixed documents is uploaded at once, Then each is found by its own words or fails with its code', async () => {
  const docx = await docxFile([
    { heading: 1, text: 'Travel policy' },
    { paragraph: 'Employees book rail travel for journeys under four hours and keep every receipt for the expense claim.' },
  ]);
  const html = `<html><body><nav>Home | Careers</nav><article><h1>Canteen menu</h1>
    <p>On Fridays the canteen serves smoked haddock chowder with soda bread, and a lentil stew for those who prefer it.</p>
    </article></body></html>`;
  const files: Array<[name: string, data: Buffer | string]> = [
    ['federal-register.pdf', readFileSync(sharedPdf('federal-register-2020-17221.pdf'))], // three columns
    ['nics.pdf', readFileSync(sharedPdf('nics-background-checks-2015-11.pdf'))], // a wide table
    ['linn.pdf', readFileSync(sharedPdf('linn.pdf'))], // a two-column scan: OCR
    ['page.jpg', readFileSync(path.join(photos, 'page.jpg'))],
    ['page.tif', readFileSync(path.join(photos, 'page.tif'))],
    ['travel.docx', docx],
    ['canteen.htm', html],
    ['locked.pdf', readFileSync(sharedPdf('password-example.pdf'))],
  ];
  const ids: Record<string, string> = Object.fromEntries(
    await Promise.all(files.map(async ([name, data]) => [name, await upload(name, data)])),
  );
  const docs: Record<string, any> = Object.fromEntries(
    await Promise.all(Object.entries(ids).map(async ([name, id]) => [name, await waitForDocument(server, id, {}, 120_000)])),
  );

  expect(docs['locked.pdf']).toMatchObject({ status: 'failed', error: { code: 'pdf_encrypted' } });
  for (const [name, doc] of Object.entries(docs)) if (name !== 'locked.pdf') expect([name, doc.status]).toEqual([name, 'ready']);
  expect(docs['linn.pdf'].ocr.pages).toEqual([1]);
  expect(docs['page.jpg'].ocr.pages).toEqual([1]);
  expect(docs['page.tif'].ocr.pages).toEqual([1]);
  expect(docs['federal-register.pdf'].ocr).toBeUndefined();

  expect((await hitsFor('flight control computer software airworthiness'))[0]).toBe(ids['federal-register.pdf']);
  expect((await hitsFor('firearm background checks Kentucky'))[0]).toBe(ids['nics.pdf']);
  expect((await hitsFor('LinnSequencer polyphonic tracks MIDI channels'))[0]).toBe(ids['linn.pdf']);
  expect((await hitsFor('rail travel receipt expense claim'))[0]).toBe(ids['travel.docx']);
  expect((await hitsFor('smoked haddock chowder'))[0]).toBe(ids['canteen.htm']);
  const scanHits = await hitsFor('scrouched down and laid still');
  expect(scanHits).toEqual(expect.arrayContaining([ids['page.jpg'], ids['page.tif']]));
});
