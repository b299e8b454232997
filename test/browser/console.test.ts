import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createApp } from '../../src/api/app';
import { buildConsole } from '../../scripts/build-console';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * The web console in a real headless Chromium (Debian's, never a download), against the real service: key entry, an
 * upload by the file picker and by drag and drop, the list with its filters, a search, a streamed answer with its
 * citations and context breakdown, a delete. Chromium missing fails the suite (CI installs it: .ci/run).
 */
/**
 * Code passed to page.evaluate runs in Chromium and sees its globals; the root project type-checks with Node types
 * only, so they are declared loosely here, for this file alone.
 */
declare const document: any, window: any, localStorage: any, MutationObserver: any, Element: any, DataTransfer: any, File: any;

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const KEY = 'console-key-alpha';
const AUTH = { authorization: `Bearer ${KEY}` };
/** Deadline of each wait for the page (a document's ingestion included). */
const WAIT = { timeout: 30_000 };

const OTTERS = [
  '# Sea otters',
  '',
  'Sea otters crack open mussels and clams with stones while floating on their backs.',
  'They keep a favourite stone in a pouch of loose skin under the forearm.',
].join('\n');
const FERRIES = ['# Island ferries', '', 'The ferry to the island leaves the harbour at seven every morning, and at noon on Sundays.'].join(
  '\n',
);

let consoleDir: string;
let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the console's browser tests need Debian's chromium (apt-get install chromium)`,
    );
  }
  consoleDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ragmem-console-'));
  await buildConsole(consoleDir);
  // A 1,024-token prompt budget: the parts of a short answer's prompt take visible shares of the bar.
  server = await startTestServer({
    API_KEYS: `${KEY}=alpha`,
    CONSOLE_DIR: consoleDir,
    CONTEXT_MAX_TOKENS: '1536',
    CONTEXT_ANSWER_TOKENS: '512',
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  // Anything the Content-Security-Policy blocks (an inline style, a script from elsewhere) is a bug in the console.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e: any) => {
      ((window as any).__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.cleanup();
  if (consoleDir) await fs.promises.rm(consoleDir, { recursive: true, force: true });
});

/** Records each change of `data-status` on the upload lines, per file name, from inside the page. */
const recordUploadStatuses = () =>
  page.evaluate(() => {
    const seen: Record<string, string[]> = ((window as any).__uploads = {});
    const note = (li: any) => {
      const name = li.getAttribute('data-file')!;
      const status = li.getAttribute('data-status')!;
      const list = (seen[name] ??= []);
      if (list.at(-1) !== status) list.push(status);
    };
    new MutationObserver((records: any[]) => {
      for (const r of records) {
        if (r.type === 'attributes' && r.target instanceof Element && r.target.matches('li[data-file]')) note(r.target);
        for (const n of r.addedNodes) if (n instanceof Element && n.matches('li[data-file]')) note(n);
      }
    }).observe(document.getElementById('uploads')!, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-status'] });
  });

const uploadStatuses = (name: string): Promise<string[]> => page.evaluate((n) => (window as any).__uploads[n] ?? [], name);

const rowOf = (title: string) => page.locator('#document-rows tr', { has: page.locator('td.title', { hasText: title }) });

describe('When a user works in the web console', () => {
  it('then the console is served at / without a key, with a Content-Security-Policy of its own origin only', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<script type="module" src="app.js">');
    const script = await fetch(`${server.url}/app.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([200, expect.stringMatching(/javascript/)]);
    // The API behind it still wants a key.
    expect((await fetch(`${server.url}/documents`)).status).toBe(401);
  });

  it('then a 401 opens the key form, and the key entered is kept in localStorage and used', async () => {
    await page.goto(`${server.url}/`);
    await page.locator('#key-panel').waitFor({ state: 'visible', ...WAIT });
    expect(await page.locator('#key-reason').textContent()).toContain('401');
    await page.fill('#key-input', KEY);
    await page.click('#key-form button[type="submit"]');
    await page.locator('#key-panel').waitFor({ state: 'hidden', ...WAIT });
    await page.locator('#documents-empty').waitFor({ state: 'visible', ...WAIT });
    expect(await page.evaluate(() => localStorage.getItem('ragmem.apiKey'))).toBe(KEY);

    // A new visit uses the stored key: no form, the list loads.
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, WAIT);
    await page.locator('#documents-empty').waitFor({ state: 'visible', ...WAIT });
    expect(await page.locator('#key-panel').isHidden()).toBe(true);
    expect(await page.locator('#key-button').textContent()).toBe('API key: set');
  });

  it('then a file chosen with the picker shows its progress until ready, and is listed as ready', async () => {
    await recordUploadStatuses();
    await page.setInputFiles('#file-input', { name: 'otters.md', mimeType: 'text/markdown', buffer: Buffer.from(OTTERS) });
    await page.locator('#uploads li[data-file="otters.md"][data-status="ready"]').waitFor(WAIT);
    // Refreshed from the upload's answer to the end: uploading, then queued (202), ..., ready.
    const statuses = await uploadStatuses('otters.md');
    expect(statuses[0]).toBe('uploading');
    expect(statuses).toContain('queued');
    expect(statuses.at(-1)).toBe('ready');
    await rowOf('otters.md').and(page.locator('[data-status="ready"]')).waitFor(WAIT);
    expect(Number(await rowOf('otters.md').locator('td.num').textContent())).toBeGreaterThan(0);
  });

  it('then files dropped on the drop zone upload too (into the collection given), and a refused one shows its error code', async () => {
    await page.fill('#upload-collection', 'travel');
    const refused = page.waitForResponse((r) => r.url().endsWith('/documents') && r.request().method() === 'POST' && r.status() >= 400);
    const dataTransfer = await page.evaluateHandle(
      ([text, binary]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'ferries.md', { type: 'text/markdown' }));
        dt.items.add(new File([new Uint8Array(binary)], 'noise.bin', { type: 'application/octet-stream' }));
        return dt;
      },
      [FERRIES, [0x00, 0xff, 0x13, 0x37, 0x00, 0x9c, 0xfe, 0x01, 0x00, 0x00, 0xc3, 0x28]] as const,
    );
    await page.dispatchEvent('#drop-zone', 'dragover', { dataTransfer });
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });

    await page.locator('#uploads li[data-file="ferries.md"][data-status="ready"]').waitFor(WAIT);
    const refusal = await (await refused).json();
    const failedLine = page.locator('#uploads li[data-file="noise.bin"][data-status="failed"]');
    await failedLine.waitFor(WAIT);
    expect(await failedLine.locator('.error-code').textContent()).toBe(refusal.error.code);

    await rowOf('ferries.md').and(page.locator('[data-status="ready"]')).waitFor(WAIT);
    expect(await rowOf('ferries.md').locator('td').nth(1).textContent()).toBe('travel');
  });

  it('then the list filters by collection and by status', async () => {
    const titles = () => page.locator('#document-rows td.title').allTextContents();
    await page.fill('#filter-collection', 'travel');
    await page.click('#document-filters button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#document-rows tr').length === 1, undefined, WAIT);
    expect(await titles()).toEqual(['ferries.md']);

    await page.fill('#filter-collection', '');
    await page.selectOption('#filter-status', 'failed');
    await page.locator('#documents-empty').waitFor({ state: 'visible', ...WAIT });
    expect(await titles()).toEqual([]);

    await page.selectOption('#filter-status', 'ready');
    await page.waitForFunction(() => document.querySelectorAll('#document-rows tr[data-status="ready"]').length === 2, undefined, WAIT);
    expect((await titles()).sort()).toEqual(['ferries.md', 'otters.md']);
  });

  it('then a search shows the uploaded document’s hit with its title, score and snippet, in the mode chosen', async () => {
    const otters = await rowOf('otters.md').getAttribute('data-document-id');
    await page.fill('#search-query', 'otters open mussels with stones');
    await page.check('input[name="mode"][value="keyword"]');
    await page.click('#search-form button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('search-results')!.dataset.mode === 'keyword', undefined, WAIT);
    const first = page.locator('#search-results .hit').first();
    expect(await first.getAttribute('data-document-id')).toBe(otters);
    expect(await first.locator('.hit-title').textContent()).toBe('otters.md');
    expect(Number(await first.locator('.hit-score').textContent())).toBeGreaterThan(0);
    expect(await first.locator('.hit-snippet').textContent()).toContain('crack open mussels');

    // The switch searches again at once, in the new mode.
    await page.check('input[name="mode"][value="hybrid"]');
    await page.waitForFunction(() => document.getElementById('search-results')!.dataset.mode === 'hybrid', undefined, WAIT);
    expect(await page.locator('#search-results .hit').first().getAttribute('data-document-id')).toBe(otters);
  });

  it('then an answer streams in delta by delta, with its citations as links to their chunks and its context breakdown bar', async () => {
    await page.click('#session-new');
    await page.waitForFunction(() => document.getElementById('session-id').value !== '', undefined, WAIT);
    const sessionId = await page.inputValue('#session-id');

    // Every change of the answer's text, and when the citations appear, in the order the page saw them.
    await page.evaluate(() => {
      const log: Array<{ kind: 'delta'; text: string } | { kind: 'removed' } | { kind: 'citations' }> = ((window as any).__chat = []);
      new MutationObserver((records: any[]) => {
        for (const r of records) {
          const target = r.target;
          if (target.classList?.contains('answer')) {
            for (const n of r.addedNodes) log.push({ kind: 'delta', text: n.textContent ?? '' });
            if (r.removedNodes.length) log.push({ kind: 'removed' });
          }
          for (const n of r.addedNodes) if (n instanceof Element && n.matches('.citations')) log.push({ kind: 'citations' });
        }
      }).observe(document.getElementById('transcript')!, { childList: true, subtree: true, characterData: true });
    });
    const streamed = page.waitForResponse((r) => r.url().endsWith(`/sessions/${sessionId}/ask`));
    await page.fill('#question', 'How do sea otters open mussels?');
    await page.click('#ask-button');
    const answer = page.locator('#transcript .turn .answer').last();
    await page.locator('#transcript .turn .answer[data-state="done"]').waitFor(WAIT);

    // The answer as the service streamed it (Server-Sent Events), to hold the page against.
    const response = await streamed;
    expect(response.headers()['content-type']).toMatch(/^text\/event-stream/);
    const events = (await response.text())
      .split('\n\n')
      .filter((block) => block.includes('data: '))
      .map((block) => ({ event: /^event: (.*)$/m.exec(block)![1], data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) }));
    expect(events[0].event).toBe('context');
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text as string);
    expect(deltas.length).toBeGreaterThan(1);

    // Each delta was appended on its own as it arrived, in order, before the citations came; nothing was rewritten.
    const log: Array<{ kind: string; text?: string }> = await page.evaluate(() => (window as any).__chat);
    const appended = log.filter((e) => e.kind === 'delta').map((e) => e.text);
    expect(appended).toEqual(deltas);
    expect(log.some((e) => e.kind === 'removed')).toBe(false);
    const citationsAt = log.findIndex((e) => e.kind === 'citations');
    expect(citationsAt).toBeGreaterThan(log.map((e) => e.kind).lastIndexOf('delta'));
    expect(await answer.textContent()).toBe(done.data.answer);
    expect(done.data.answer).toBe(deltas.join(''));

    // Citations: one link per cited passage; a click shows the chunk's whole text, as GET /documents/:id/chunks has it.
    const citations = done.data.citations as Array<{ marker: string; title: string; documentId: string; chunkId: string }>;
    expect(citations.length).toBeGreaterThan(0);
    const links = page.locator('#transcript .turn').last().locator('a.citation');
    expect(await links.allTextContents()).toEqual(citations.map((c) => `[${c.marker}] ${c.title}`));
    expect(citations[0].title).toBe('otters.md');
    await links.first().click();
    const chunk = page.locator('#transcript .turn').last().locator('blockquote.chunk').first();
    await chunk.and(page.locator('[data-source="chunk"]')).waitFor(WAIT);
    const chunks = await server.request('GET', `/documents/${citations[0].documentId}/chunks`, undefined, AUTH);
    expect(await chunk.textContent()).toBe(chunks.body.chunks.find((c: { id: string }) => c.id === citations[0].chunkId).text);

    // The breakdown: the legend's figures are the answer's parts and add up to `used`; each segment's width is its
    // share of the budget.
    const ctx = done.data.context as { budget: number; used: number; parts: Record<string, number> };
    expect(ctx.budget).toBe(1024);
    expect(ctx.used).toBeLessThanOrEqual(ctx.budget);
    const figure = page.locator('#transcript .turn').last().locator('figure.breakdown');
    expect(Number(await figure.getAttribute('data-used'))).toBe(ctx.used);
    expect(Number(await figure.getAttribute('data-budget'))).toBe(ctx.budget);
    expect(await figure.locator('figcaption').textContent()).toContain(
      `${ctx.used.toLocaleString('en')} of ${ctx.budget.toLocaleString('en')}`,
    );
    const legend: Array<[string, number]> = await figure
      .locator('.legend li')
      .evaluateAll((items) =>
        items.map((li) => [li.getAttribute('data-part')!, Number(li.querySelector('.tokens')!.getAttribute('data-tokens'))]),
      );
    const parts = ['system', 'summary', 'recalled', 'retrieved', 'window', 'question'];
    expect(legend.slice(0, 6)).toEqual(parts.map((p) => [p, ctx.parts[p]]));
    expect(legend.reduce((sum, [, tokens]) => sum + tokens, 0)).toBe(ctx.used);
    expect(ctx.parts.retrieved).toBeGreaterThan(0);
    const barWidth = (await figure.locator('.bar').boundingBox())!.width;
    for (const part of parts) {
      const width = (await figure.locator(`.segment[data-part="${part}"]`).boundingBox())?.width ?? 0;
      expect(Math.abs(width - (barWidth * ctx.parts[part]) / ctx.budget)).toBeLessThan(0.5);
    }
  });

  it('then a document deleted from the list is gone from the list and from the API', async () => {
    await page.selectOption('#filter-status', '');
    await page.click('#document-filters button[type="submit"]');
    const row = rowOf('ferries.md');
    await row.waitFor(WAIT);
    const id = (await row.getAttribute('data-document-id'))!;
    await row.locator('button[data-action="delete"]').click();
    expect(await row.locator('button[data-action="delete"]').textContent()).toBe('Confirm delete');
    await row.locator('button[data-action="delete"]').click();
    await row.waitFor({ state: 'detached', ...WAIT });
    expect((await server.request('GET', `/documents/${id}`, undefined, AUTH)).status).toBe(404);
    expect(await rowOf('otters.md').count()).toBe(1);
  });

  it('then nothing broke on the page along the way (no script errors, nothing the Content-Security-Policy blocked)', async () => {
    expect(pageErrors).toEqual([]);
    expect(await page.evaluate(() => (window as any).__csp ?? [])).toEqual([]);
  });
});

describe('When the console is not built', () => {
  it('then / answers 404 console_not_built, saying to run npm run build, and the API keeps serving', async () => {
    const missing = path.join(os.tmpdir(), `ragmem-no-console-${process.pid}-${Date.now()}`);
    const app = createApp({ ...server.services, config: { ...server.services.config, consoleDir: missing } });
    const listener = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
      for (const p of ['/', '/app.js']) {
        const res = await fetch(base + p);
        expect(res.status).toBe(404);
        const body = (await res.json()) as any;
        expect(body.error.code).toBe('console_not_built');
        expect(body.error.message).toContain('npm run build');
      }
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/documents`, { headers: AUTH })).status).toBe(200);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
