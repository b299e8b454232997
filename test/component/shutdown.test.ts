import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../support/redis-server';
import { generatedText } from '../support/fixtures';
import { startTestServer } from '../support/test-server';
import { exitOf, spawnEntry } from '../support/spawn-entry';


describe('When the service gets SIGTERM while a document is being ingested', () => {
  it('then it stops taking requests, finishes the job, and exits 0', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-shutdown-'));
    const prefix = `t${randomBytes(5).toString('hex')}`;
    const port = await freePort();
    const env = { REDIS_URL: process.env.REDIS_URL!, REDIS_PREFIX: prefix, DATA_DIR: dataDir };
    const child = spawnEntry('src/server.ts', { LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', EMBED_BATCH_SIZE: '8', ...env });
    const exited = exitOf(child);
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; ; i++) {
        const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
        if (ok) break;
        if (i > 300) throw new Error('server never became ready');
        await new Promise((r) => setTimeout(r, 100));
      }
      const created = await fetch(`${base}/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: generatedText(3, 40_000) }),
      }).then((r) => r.json() as Promise<{ id: string }>);
      for (;;) {
        const doc = (await fetch(`${base}/documents/${created.id}`).then((r) => r.json())) as { status: string };
        if (doc.status === 'processing') break;
        if (doc.status === 'ready') throw new Error('finished before SIGTERM: make it longer');
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();

      // A fresh process on the same Redis and data dir finds the job finished, not abandoned.
      const after = await startTestServer({ REDIS_PREFIX: prefix, DATA_DIR: dataDir, RUN_WORKERS: 'off' });
      try {
        const doc = await after.request('GET', `/documents/${created.id}`);
        expect(doc.body).toMatchObject({ status: 'ready', progress: { stage: 'done' } });
        expect(await after.services.vectors.count('default', { documentId: created.id })).toBe(doc.body.chunkCount);
      } finally {
        await after.services.close();
        await after.stop();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
