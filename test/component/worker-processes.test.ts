import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../support/redis-server';
import { generatedText } from '../support/fixtures';
import { childrenOf, exitOf, spawnEntry, SLOW_PROCESS_TEST_MS } from '../support/spawn-entry';
import { waitFor } from '../support/wait-for';

/**
 * The default process model, as `npm start` runs it: the API forks WORKER_PROCESSES worker processes, keeps their
 * number up, and takes them down with it.
 */

const alive = (pid: number) =>
  fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');

/** The nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
const threadNices = (pid: number) =>
  fs
    .readdirSync(`/proc/${pid}/task`)
    .map((tid) => Number(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]));

interface Api {
  child: ChildProcess;
  base: string;
  dataDir: string;
  json(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
}

const started: Api[] = [];

async function startApi(env: Record<string, string> = {}): Promise<Api> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ragmem-procs-'));
  const port = await freePort();
  const child = spawnEntry('src/server.ts', {
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: `t${randomBytes(5).toString('hex')}`,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  const api: Api = {
    child,
    base,
    dataDir,
    json: async (method, p, body) => {
      const res = await fetch(base + p, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: await res.json() };
    },
  };
  started.push(api);
  await waitFor(
    'the API to answer /readyz',
    () =>
      fetch(`${base}/readyz`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      ),
    60_000,
    100,
  );
  return api;
}

async function waitReady(api: Api, id: string, timeoutMs = 90_000) {
  return waitFor(
    `document ${id} to be ready`,
    async () => {
      const doc = await api.json('GET', `/documents/${id}`);
      if (doc.body.status === 'failed') throw new Error(`document failed: ${JSON.stringify(doc.body.error)}`);
      return doc.body.status === 'ready' ? doc.body : undefined;
    },
    timeoutMs,
    50,
  );
}

afterAll(async () => {
  for (const api of started) {
    const kids = childrenOf(api.child.pid!);
    if (api.child.exitCode === null && api.child.signalCode === null) api.child.kill('SIGKILL');
    for (const pid of kids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await exitOf(api.child);
    await fsp.rm(api.dataDir, { recursive: true, force: true });
  }
});

describe('When the service starts with the default process model (RUN_WORKERS=processes)', () => {
  it(
    'then the API forks WORKER_PROCESSES workers that ingest, replaces one that is killed mid-job without losing the job, and a SIGTERM stops them all gracefully',
    async () => {
      const api = await startApi({ WORKER_PROCESSES: '2', JOB_LOCK_MS: '2000', EMBED_BATCH_SIZE: '4' });
      const first = await waitFor('two worker processes', () =>
        childrenOf(api.child.pid!).length === 2 ? childrenOf(api.child.pid!) : undefined,
      );

      // The API runs no queue worker of its own: documents become ready only through its children.
      const small = await api.json('POST', '/documents', { text: 'Otters crack mussels on their bellies.' });
      expect(small.status).toBe(202);
      await waitReady(api, small.body.id);

      // Workers yield the CPU to the API (WORKER_NICE, default 10): every thread, LanceDB's started for the job too.
      const ours = os.getPriority();
      for (const pid of first) expect(new Set(threadNices(pid))).toEqual(new Set([Math.max(10, ours)]));
      expect(new Set(threadNices(api.child.pid!))).toEqual(new Set([ours]));

      // A long document, and the child that took it is killed while it works (as the OOM killer would).
      const long = await api.json('POST', '/documents', { text: generatedText(11, 25_000), title: 'Long' });
      await waitFor(
        `document ${long.body.id} to be processing`,
        async () => ((await api.json('GET', `/documents/${long.body.id}`)).body.status === 'processing' ? true : undefined),
        60_000,
        10,
      );
      for (const pid of first) process.kill(pid, 'SIGKILL');

      // Both are replaced by new processes, and the job their death interrupted is taken over and finishes.
      const replaced = await waitFor(
        'two new worker processes',
        () => {
          const now = childrenOf(api.child.pid!);
          return now.length === 2 && now.every((pid) => !first.includes(pid)) ? now : undefined;
        },
        60_000,
        50,
      );
      const doc = await waitReady(api, long.body.id, SLOW_PROCESS_TEST_MS - 60_000);
      expect(doc.chunkCount).toBeGreaterThan(1);
      const chunks = await api.json('GET', `/documents/${long.body.id}/chunks?limit=1`);
      expect(chunks.status).toBe(200);

      // SIGTERM: the API exits 0 and takes its workers with it.
      api.child.kill('SIGTERM');
      expect(await exitOf(api.child)).toBe(0);
      await waitFor('the workers to exit', () => (replaced.every((pid) => !alive(pid)) ? true : undefined), 30_000, 50);
    },
    SLOW_PROCESS_TEST_MS,
  );

  it(
    'then workers whose API was killed outright (SIGKILL) stop by themselves',
    async () => {
      const api = await startApi({ WORKER_PROCESSES: '1' });
      const [worker] = await waitFor('a worker process', () =>
        childrenOf(api.child.pid!).length === 1 ? childrenOf(api.child.pid!) : undefined,
      );
      api.child.kill('SIGKILL');
      await exitOf(api.child);
      await waitFor('the orphaned worker to exit', () => (!alive(worker) ? true : undefined), 30_000, 50);
    },
    SLOW_PROCESS_TEST_MS,
  );

  it(
    'then RUN_WORKERS=inline forks nothing',
    async () => {
      const api = await startApi({ RUN_WORKERS: 'inline' });
      const doc = await api.json('POST', '/documents', { text: 'Falcons stoop on pigeons over the city.' });
      await waitReady(api, doc.body.id);
      expect(childrenOf(api.child.pid!)).toEqual([]);
    },
    SLOW_PROCESS_TEST_MS,
  );
});
