/**
 * Writes docs/console.png (1280x800), the README's picture of the web console: the service runs in-process (a
 * throwaway Redis, LanceDB in a temp folder, offline models), a few documents go in, and Debian's Chromium searches and
 * asks through the console itself. Run: `npx tsx scripts/console-screenshot.ts [out.png]` (with `LANCEDB_LOG=error`
 * before it, LanceDB's deprecation warnings stay quiet, as under npm start).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { RagmemClient } from '../src/client';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { startServer } from '../src/server';
import { startRedis } from '../test/support/redis-server';
import { waitFor } from '../test/support/wait-for';
import { buildConsole } from './build-console';

const OUT = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'docs', 'console.png'));
const KEY = 'demo-key';

const DOCUMENTS = [
  {
    title: 'Sea otters',
    collection: 'default',
    text: 'Sea otters crack open mussels and clams with stones while floating on their backs. Each otter keeps a favourite stone in a pouch of loose skin under its forearm, and uses it again and again.',
  },
  {
    title: 'Kelp forests',
    collection: 'default',
    text: 'Otters eat sea urchins, which graze on kelp. Where otters returned, kelp forests grew back within a decade, sheltering fish and storing carbon.',
  },
  {
    title: 'Beavers',
    collection: 'default',
    text: 'Beavers build dams of branches and mud; the ponds behind them hold water through dry summers and slow floods in spring.',
  },
  {
    title: 'Island ferries',
    collection: 'travel',
    text: 'The ferry to the island leaves the harbour at seven every morning, and at noon on Sundays.',
  },
];

async function main(): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-screenshot-'));
  const redis = await startRedis();
  const consoleDir = path.join(work, 'console');
  await buildConsole(consoleDir);
  const config = loadConfig({
    REDIS_URL: redis.url,
    DATA_DIR: path.join(work, 'data'),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    RUN_WORKERS: 'inline',
    API_KEYS: `${KEY}=demo`,
    CONSOLE_DIR: consoleDir,
    // A 1,024-token budget, so the breakdown bar's parts are wide enough to see.
    CONTEXT_MAX_TOKENS: '1536',
    CONTEXT_ANSWER_TOKENS: '512',
  });
  const server = await startServer(config, createLogger('silent'));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const client = new RagmemClient({ baseUrl: server.url, apiKey: KEY });
    for (const doc of DOCUMENTS) {
      const added = await client.documents.create(doc);
      await waitFor(
        `${doc.title} ready`,
        async () => ((await client.documents.get(added.id)).status === 'ready' ? true : undefined),
        60_000,
      );
    }
    await client.sessions.create({ id: 'otter-notes' });
    await client.sessions.importMessages('otter-notes', {
      messages: [
        { role: 'user', content: 'I am writing a short piece on marine mammals that use tools.' },
        { role: 'assistant', content: 'Sea otters are the classic example: they use stones to open shellfish.' },
      ],
    });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The key the user would enter once (the console keeps it in localStorage).
    await page.addInitScript((key) => (globalThis as any).localStorage.setItem('ragmem.apiKey', key), KEY);
    await page.goto(`${server.url}/`);
    await page.locator('#document-rows tr').first().waitFor();

    await page.setInputFiles('#file-input', {
      name: 'otter-field-notes.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from('# Field notes\n\nAn otter dived eleven times in ten minutes, surfacing each time with a clam.'),
    });
    await page.locator('#uploads li[data-status="ready"]').waitFor({ timeout: 60_000 });

    await page.fill('#search-query', 'how do otters open shellfish');
    await page.click('#search-form button[type="submit"]');
    await page.locator('#search-results .hit').first().waitFor();

    await page.fill('#session-id', 'otter-notes');
    await page.click('#session-open');
    await page.locator('#transcript .turn.past').first().waitFor();
    await page.fill('#question', 'How do sea otters open mussels?');
    await page.click('#ask-button');
    await page.locator('#transcript .answer[data-state="done"]').waitFor();
    await page.locator('#transcript a.citation').first().click();
    await page.locator('#transcript blockquote.chunk[data-source]').first().waitFor();

    await page.screenshot({ path: OUT });
    console.log(`wrote ${path.relative(process.cwd(), OUT)}`);
  } finally {
    await browser.close();
    await server.stop();
    await redis.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
