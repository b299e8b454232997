import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../support/redis-server';
import { generatedText } from '../support/fixtures';
import { startTestServer } from '../support/test-server';
import { exitOf, spawnEntry, spawnWorker, SLOW_PROCESS_TEST_MS } from '../support/spawn-entry';
import { startServiceOnMistral } from '../support/mistral-service';
import { DOUBLE_API_KEY, startMistralDouble } from '../support/mistral-double';
import { waitFor } from '../support/wait-for';
import { waitForDocument } from '../support/test-server';

describe('When the service gets SIGTERM while a document is being ingested', () => {
  it(
    'then it stops taking requests, finishes the job, and exits 0',
    async () => {
      const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-shutdown-'));
      const prefix = `t${randomBytes(5).toString('hex')}`;
      const port = await freePort();
      // Embeddings through a Mistral double answering each batch after 50 ms: the job takes a second or more on any
      // machine, so SIGTERM lands while it runs.
      const upstream = await startMistralDouble({ dimensions: 1024, embedDelayMs: 50 });
      const mistral = { MISTRAL_API_KEY: DOUBLE_API_KEY, MISTRAL_SERVER_URL: upstream.url };
      const env = { REDIS_URL: process.env.REDIS_URL!, REDIS_PREFIX: prefix, DATA_DIR: dataDir, ...mistral };
      const child = spawnEntry('src/server.ts', {
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        EMBED_BATCH_SIZE: '8',
        ...env,
      });
      const exited = exitOf(child);
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitFor(
          'the server to be ready',
          () =>
            fetch(`${base}/readyz`).then(
              (r) => (r.ok ? true : undefined),
              () => undefined,
            ),
          30_000,
          100,
        );
        const created = await fetch(`${base}/documents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: generatedText(3, 40_000) }),
        }).then((r) => r.json() as Promise<{ id: string }>);
        await waitFor(
          'the job to start',
          async () => {
            const doc = (await fetch(`${base}/documents/${created.id}`).then((r) => r.json())) as { status: string };
            if (doc.status === 'ready') throw new Error('finished before SIGTERM, despite the embed delay');
            return doc.status === 'processing' ? true : undefined;
          },
          30_000,
          10,
        );
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        await expect(fetch(`${base}/healthz`)).rejects.toThrow();

        // A fresh process on the same Redis and data dir finds the job finished, not abandoned.
        const after = await startTestServer({ REDIS_PREFIX: prefix, DATA_DIR: dataDir, RUN_WORKERS: 'off', ...mistral });
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
        await upstream.close();
        await fs.rm(dataDir, { recursive: true, force: true });
      }
      // The API and the worker process it forks both start from TypeScript: on a busy CI machine that alone can take a minute.
    },
    SLOW_PROCESS_TEST_MS,
  );
});

describe('When a worker gets SIGTERM while its job hangs on a model that never answers', () => {
  it(
    'then it exits once WORKER_CLOSE_TIMEOUT_MS has passed, and the job completes on another worker',
    async () => {
      const svc = await startServiceOnMistral({ RUN_WORKERS: 'off', JOB_LOCK_MS: '2000' });
      const workerEnv = {
        MISTRAL_API_KEY: DOUBLE_API_KEY,
        MISTRAL_SERVER_URL: svc.upstream.url,
        JOB_LOCK_MS: '2000',
        MODEL_TIMEOUT_MS: '600000',
        WORKER_CLOSE_TIMEOUT_MS: '1500',
      };
      const started = [] as ReturnType<typeof spawnWorker>[];
      try {
        // The first embedding request hangs for ten minutes: far past any deadline the test could wait for.
        svc.upstream.script([{ delayMs: 600_000, for: (r) => r.path.endsWith('/embeddings') }]);
        const created = await svc.server.request('POST', '/documents', { text: generatedText(5, 4_000), title: 'Hangs' });
        expect(created.status).toBe(202);
        const hanging = spawnWorker(svc.server.services.config, workerEnv);
        started.push(hanging);
        await waitFor('the hanging embedding request', () => svc.upstream.requests.find((r) => r.path.endsWith('/embeddings')), 60_000);

        const stoppedAt = Date.now();
        hanging.kill('SIGTERM');
        // Without the deadline the worker would wait on the hung job for its ten minutes; 60 s is well short of that.
        const code = await Promise.race([
          exitOf(hanging),
          new Promise<'still running'>((r) => setTimeout(() => r('still running'), 60_000)),
        ]);
        expect(code).toBe(0);
        console.log(
          `shutdown deadline: a worker with a hung job exited ${Date.now() - stoppedAt} ms after SIGTERM (WORKER_CLOSE_TIMEOUT_MS 1500)`,
        );

        started.push(spawnWorker(svc.server.services.config, workerEnv));
        const doc = await waitForDocument(svc.server, created.body.id, {}, 90_000);
        expect(doc.status).toBe('ready');
        expect(await svc.server.services.vectors.count('default', { documentId: created.body.id })).toBe(doc.chunkCount);
      } finally {
        for (const c of started) c.kill('SIGKILL');
        await Promise.all(started.map(exitOf));
        await svc.stop();
      }
    },
    SLOW_PROCESS_TEST_MS,
  );
});
