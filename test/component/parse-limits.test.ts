import { flateBombPdf, nestedArraysPdf, nestedDictionariesPdf, pageBombPdf } from '../support/pdf-bombs';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';

/**
 * Hostile documents through the real HTTP API: each ends `failed` with its code, within a bounded time, while the
 * service keeps answering. The limits are small so the bombs trip them quickly; a timeout costs PARSE_TIMEOUT_MS.
 */
const PARSE_TIMEOUT_MS = 10_000;
const BOMB_DEADLINE_MS = 60_000;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    PARSE_TIMEOUT_MS: String(PARSE_TIMEOUT_MS),
    PDF_MAX_PAGES: '2000',
    PARSE_MAX_MEMORY_MB: '256',
    PARSE_CONCURRENCY: '2',
  });
});
afterAll(async () => {
  await server?.cleanup();
});

async function upload(name: string, type: string, data: Buffer | string, to: TestServer = server): Promise<string> {
  const fd = new FormData();
  fd.append('file', new Blob([data], { type }), name);
  const res = await to.request('POST', '/documents', fd);
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const failedWith = async (id: string) => {
  const doc = await waitForDocument(server, id, {}, BOMB_DEADLINE_MS);
  expect(doc.status).toBe('failed');
  return doc.error as { code: string; message: string };
};

describe('When a PDF is a bomb', () => {
  it('of 30,000 pages, Then it ends failed with pdf_too_large, naming the page count and the limit', async () => {
    const id = await upload('pages.pdf', 'application/pdf', pageBombPdf(30_000));
    const error = await failedWith(id);
    expect(error.code).toBe('pdf_too_large');
    expect(error.message).toContain('30000 pages; at most 2000');
  });

  it.each([
    ['arrays', nestedArraysPdf],
    ['dictionaries', nestedDictionariesPdf],
  ])('of %s nested 50,000 deep, Then it ends failed with pdf_invalid', async (_what, build) => {
    const error = await failedWith(await upload('nested.pdf', 'application/pdf', build(50_000)));
    expect(error.code).toBe('pdf_invalid');
  });

  it('whose content stream inflates to 512 MB, Then it ends failed with parse_out_of_memory', async () => {
    const bytes = await flateBombPdf(512);
    expect(bytes.length).toBeLessThan(1024 * 1024);
    const error = await failedWith(await upload('flate.pdf', 'application/pdf', bytes));
    expect(error.code).toBe('parse_out_of_memory');
    expect(error.message).toContain('256 MB');
  });
});

describe('When a web page takes longer to convert than PARSE_TIMEOUT_MS (450,000 paragraphs)', () => {
  // A server of its own, with room in memory, so that this page meets the time limit before the memory limit.
  let slow: TestServer;
  const SLOW_TIMEOUT_MS = 3_000;
  beforeAll(async () => {
    slow = await startTestServer({ PARSE_TIMEOUT_MS: String(SLOW_TIMEOUT_MS), PARSE_MAX_MEMORY_MB: '2048', PARSE_CONCURRENCY: '2' });
  });
  afterAll(async () => {
    await slow?.cleanup();
  });

  it('Then it ends failed with parse_timeout, and meanwhile the API answers and another document becomes ready', async () => {
    const bombId = await upload('slow.html', 'text/html', '<p>x</p>'.repeat(450_000), slow);
    const otherId = await upload('small.html', 'text/html', '<h1>Kestrel</h1><p>The kestrel hovers over the verge.</p>', slow);

    // All of this happens while the page is still being converted: parsing does not hold the API's event loop.
    expect((await slow.request('GET', '/healthz')).status).toBe(200);
    expect((await slow.request('POST', '/search', { query: 'anything' })).status).toBe(200);
    const other = await waitForDocument(slow, otherId, {}, BOMB_DEADLINE_MS);
    expect(other.status).toBe('ready');
    const found = await slow.request('POST', '/search', { query: 'kestrel hovers' });
    expect(found.body.results[0]?.documentId).toBe(otherId);

    const failed = await waitForDocument(slow, bombId, {}, BOMB_DEADLINE_MS);
    expect(failed.error.code).toBe('parse_timeout');
    expect(failed.error.message).toContain(`${SLOW_TIMEOUT_MS} ms`);
  });
});

describe('When HTML nests deeply or carries a huge attribute', () => {
  it('Then a page nested 1,000 deep or with a 5 MB attribute parses, and one nested 20,000 deep fails as html_too_deep', async () => {
    const well = (depth: number) => `${'<div>'.repeat(depth)}<p>Bottom of the well</p>${'</div>'.repeat(depth)}`;
    const wide = `<p title="${'x'.repeat(5 * 1024 * 1024)}">Wide attribute</p>`;
    for (const [html, text] of [
      [well(1_000), 'Bottom of the well'],
      [wide, 'Wide attribute'],
    ]) {
      const doc = await waitForDocument(server, await upload('odd.html', 'text/html', html), {}, BOMB_DEADLINE_MS);
      expect(doc.status).toBe('ready');
      const chunks = await server.request('GET', `/documents/${doc.id}/chunks`);
      expect(JSON.stringify(chunks.body)).toContain(text);
    }
    const error = await failedWith(await upload('deep.html', 'text/html', well(20_000)));
    expect(error.code).toBe('html_too_deep');
  });
});

describe('When the service stops', () => {
  it('Then every parse process has exited, and closing the pool again resolves', async () => {
    const pids = server.services.parsePool.pids();
    expect(pids.length).toBeGreaterThan(0);
    await server.cleanup();
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(server.services.parsePool.pids()).toEqual([]);
    await expect(server.services.parsePool.close()).resolves.toBeUndefined();
  });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
