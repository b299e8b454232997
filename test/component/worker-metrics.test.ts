import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { ingestJobId } from '../../src/queues/ingest-queue';
import { exportedNames, metricNamesIn, samplesOf, sumOf } from '../support/prometheus-text';
import { freePort } from '../support/redis-server';
import { childrenOf, exitOf, spawnEntry, SLOW_PROCESS_TEST_MS, ROOT } from '../support/spawn-entry';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';
import { redisEnvOf } from '../support/test-redis';

/**
 * Metrics of the worker processes, in both deployments: a worker run on its own (`npm run worker`, RUN_WORKERS=off on
 * the API) serves /metrics on WORKER_METRICS_PORT behind the admin key; workers the API forks (`npm start`) send their
 * figures to the API, whose /metrics serves them labelled by worker. Then the Grafana dashboard is held against what
 * both really export.
 */
const ADMIN_KEY = 'admin-key-0123456789abcdef';
const TENANT_KEY = 'tenant-key-acme-0123';
const TENANT = { authorization: `Bearer ${TENANT_KEY}` };

const isUp = (url: string) =>
  fetch(url).then(
    (r) => (r.ok ? true : undefined),
    () => undefined,
  );
const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

/** The API with no workers of its own, and one worker process with a metrics port, whose log lines are kept. */
let server: TestServer;
let worker: ChildProcess;
let workerUrl: string;
const workerLog: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  server = await startTestServer({ RUN_WORKERS: 'off', API_KEYS: `${TENANT_KEY}=acme`, ADMIN_API_KEY: ADMIN_KEY });
  const port = await freePort();
  const { redis, redisPrefix, dataDir } = server.services.config;
  worker = spawnEntry(
    'workers/index.ts',
    {
      ...redisEnvOf(redis),
      REDIS_PREFIX: redisPrefix,
      DATA_DIR: dataDir,
      API_KEYS: `${TENANT_KEY}=acme`,
      ADMIN_API_KEY: ADMIN_KEY,
      WORKER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    ['ignore', 'pipe', 'inherit'],
  );
  readline.createInterface({ input: worker.stdout! }).on('line', (line) => {
    try {
      workerLog.push(JSON.parse(line));
    } catch {
      /* not a log line */
    }
  });
  workerUrl = `http://127.0.0.1:${port}`;
  await waitFor('the worker’s /healthz', () => isUp(`${workerUrl}/healthz`), 60_000, 100);
}, SLOW_PROCESS_TEST_MS);

afterAll(async () => {
  worker?.kill('SIGKILL');
  if (worker) await exitOf(worker);
  await server?.cleanup();
});

describe('When a worker runs as its own process with WORKER_METRICS_PORT', () => {
  let requestId: string;
  let jobId: string;

  beforeAll(async () => {
    requestId = `req-${randomBytes(6).toString('hex')}`;
    const posted = await server.request(
      'POST',
      '/documents',
      { text: 'Puffins nest in burrows on the cliffs of the Faroe Islands.' },
      { ...TENANT, 'x-request-id': requestId },
    );
    expect(posted.status).toBe(202);
    const doc = await waitForDocument(server, posted.body.id, TENANT);
    expect(doc.status).toBe('ready');
    jobId = ingestJobId(doc.id, doc.version);
  }, SLOW_PROCESS_TEST_MS);

  it('then its /metrics answers 401 without the admin key (a tenant key is not one) and 200 with it, with the duration of the job it ran', async () => {
    expect((await get(`${workerUrl}/metrics`)).status).toBe(401);
    expect((await get(`${workerUrl}/metrics`, TENANT)).status).toBe(401);
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const text = await waitFor('the job’s duration in the worker’s /metrics', async () => {
      const res = await get(`${workerUrl}/metrics`, admin);
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^text\/plain/);
      return sumOf(res.text, 'ragmem_job_duration_seconds_count', { queue: 'ingest', outcome: 'completed' }) === 1 ? res.text : undefined;
    });
    expect(samplesOf(text, 'ragmem_job_duration_seconds_bucket', { queue: 'ingest', outcome: 'completed', le: '+Inf' })).toHaveLength(1);
    expect(sumOf(text, 'ragmem_job_wait_seconds_count', { queue: 'ingest' })).toBe(1);
    expect(sumOf(text, 'ragmem_jobs_total', { queue: 'ingest', outcome: 'completed' })).toBe(1);
    // State every process shares (queue depths, breakers) is exported by the API, not once more per worker.
    expect(samplesOf(text, 'ragmem_queue_depth')).toEqual([]);
    expect(samplesOf(text, 'ragmem_model_breaker_state')).toEqual([]);
  });

  it('then its log lines for the job name the job and the request that queued it', async () => {
    const line = await waitFor('the worker’s "document indexed" line', () =>
      workerLog.find((l) => l.msg === 'document indexed' && l.jobId === jobId),
    );
    expect(line).toMatchObject({ requestId, jobId, queue: 'ingest', role: 'worker' });
  });
});

/** `npm start` as a child process (RUN_WORKERS=processes, one worker), with auth off (no keys: loopback only). */
describe('When the API forks its worker processes (RUN_WORKERS=processes)', () => {
  let api: ChildProcess;
  let base: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ragmem-metrics-'));
    const port = await freePort();
    api = spawnEntry('src/server.ts', {
      REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX: `t${randomBytes(5).toString('hex')}`,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      WORKER_PROCESSES: '1',
      LOG_LEVEL: 'warn',
    });
    base = `http://127.0.0.1:${port}`;
    await waitFor('the API to answer /readyz', () => isUp(`${base}/readyz`), 60_000, 100);
  }, SLOW_PROCESS_TEST_MS);

  afterAll(async () => {
    if (!api) return;
    const kids = childrenOf(api.pid!);
    api.kill('SIGTERM');
    await exitOf(api);
    for (const pid of kids) if (fs.existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it(
    'then the API’s /metrics includes the workers’ job figures, each series labelled with its worker, beside its own',
    async () => {
      const posted = await fetch(`${base}/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Gannets dive for mackerel from thirty metres.' }),
      }).then((r) => r.json() as Promise<{ id: string }>);
      await waitFor(
        'the document to be ready',
        async () => {
          const doc = (await fetch(`${base}/documents/${posted.id}`).then((r) => r.json())) as { status: string };
          return doc.status === 'ready' ? true : undefined;
        },
        SLOW_PROCESS_TEST_MS - 60_000,
        50,
      );
      const text = await waitFor(
        'the forked worker’s job duration in the API’s /metrics',
        async () => {
          const t = (await get(`${base}/metrics`)).text;
          return sumOf(t, 'ragmem_job_duration_seconds_count', { queue: 'ingest', outcome: 'completed', worker: '0' }) === 1
            ? t
            : undefined;
        },
        30_000,
        100,
      );
      // The API runs no job itself: every job series is the worker's.
      expect(samplesOf(text, 'ragmem_job_duration_seconds_count').every((s) => s.labels.worker === '0')).toBe(true);
      expect(sumOf(text, 'ragmem_jobs_total', { queue: 'ingest', outcome: 'completed', worker: '0' })).toBe(1);
      // Both processes' own figures, apart: the API's without a worker label, the child's with its slot.
      const memory = samplesOf(text, 'process_resident_memory_bytes');
      expect(memory.map((s) => s.labels.worker ?? 'api').sort()).toEqual(['0', 'api']);
      expect(samplesOf(text, 'ragmem_http_request_duration_seconds_count', { route: '/documents' })[0].labels.worker).toBeUndefined();
      // Queue depths come from the API alone.
      expect(samplesOf(text, 'ragmem_queue_depth', { queue: 'ingest', state: 'completed' })).toEqual([
        expect.objectContaining({ labels: { queue: 'ingest', state: 'completed' }, value: 1 }),
      ]);
      // One metric family each (no duplicate HELP/TYPE lines for Prometheus to refuse).
      const types = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
      expect(new Set(types).size).toBe(types.length);
    },
    SLOW_PROCESS_TEST_MS,
  );

  it('then the Grafana dashboard uses only metric names the API and a worker really export', async () => {
    expect(metricNamesIn('histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{status=~"5.."}[$__rate_interval]))) / b')).toEqual([
      'a_bucket',
      'b',
    ]);
    const exported = new Set([
      ...exportedNames((await get(`${base}/metrics`)).text),
      ...exportedNames((await get(`${workerUrl}/metrics`, { authorization: `Bearer ${ADMIN_KEY}` })).text),
    ]);
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/ragmem-dashboard.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets?: Array<{ expr: string }> }) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap(metricNamesIn));
    expect(used.size).toBeGreaterThanOrEqual(15);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
