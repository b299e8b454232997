import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueNames, queuePrefix } from '../src/queues/queue-names';
import { freePort, startRedis, type ThrowawayRedis } from '../test/support/redis-server';
import { childrenOf } from '../test/support/spawn-entry';
import { SHARED_DATA } from './corpus';
import type { LoadPlan, LoadResult } from './load-client';
import { startProcess, stopProcess, waitForHttp } from './processes';
import { residentMemory } from './resident-memory';

/**
 * What users of one machine get under load (issue: fast by default): the service started as `npm start` starts it
 * (the API forks its worker processes) and as a scaled deployment runs it (the API with workers off, plus a worker
 * process), on loopback, with the offline models and LanceDB. Per process model: SciFact through `/documents/bulk`
 * end to end, then asks and searches in closed and open loop, each with and without documents ingesting beside them.
 */
export interface LoadBenchOptions {
  seconds: number;
  askRate: number;
  /** Extra environment for every service process (`--load-env K=V,K2=V2`). */
  env: Record<string, string>;
  /** Which process models to run: 'default', 'separate' or 'all'. */
  models: string;
}

interface Deployment {
  base: string;
  redis: ThrowawayRedis;
  dataDir: string;
  api: ChildProcess;
  worker?: ChildProcess;
  /** The worker processes now: the API's children (forked) or the separate one. */
  workerPids(): number[];
}

interface Doc {
  title: string;
  text: string;
}

const SEED_DOCUMENTS = 300;
const BULK_SIZE = 500;
const CLOSED_ASKERS = 32;
const CLOSED_SEARCHERS = 8;
const OPEN_SEARCH_RATE = 10;
const WARMUP_SECONDS = 3;

const MODELS = [
  { key: 'default', name: 'npm start (API forks its workers)', env: {} as Record<string, string>, separateWorker: false },
  { key: 'separate', name: 'API (RUN_WORKERS=off) + 1 worker process', env: { RUN_WORKERS: 'off' }, separateWorker: true },
];

function scifact(): { docs: Doc[]; queries: string[] } {
  const lines = (file: string) => fs.readFileSync(path.join(SHARED_DATA, 'scifact', file), 'utf8').split('\n').filter(Boolean);
  const docs = lines('corpus.jsonl').map((l) => JSON.parse(l) as { title: string; text: string }).map((d) => ({ title: d.title, text: d.text }));
  const queries = lines('queries.jsonl').map((l) => (JSON.parse(l) as { text: string }).text);
  return { docs, queries };
}

const mbOf = (docs: Doc[]) => docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0) / 1e6;

async function deploy(model: (typeof MODELS)[number], extraEnv: Record<string, string>): Promise<Deployment> {
  const redis = await startRedis();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ragmem-bench-load-'));
  const port = await freePort();
  const env = { REDIS_URL: redis.url, DATA_DIR: dataDir, REDIS_PREFIX: 'bench', ...model.env, ...extraEnv };
  const api = startProcess('src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1' });
  const worker = model.separateWorker ? startProcess('workers/index.ts', env) : undefined;
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/readyz`, 60_000);
  const workerPids = () => (worker?.pid ? [worker.pid] : childrenOf(api.pid!));
  return { base, redis, dataDir, api, worker, workerPids };
}

async function undeploy(d: Deployment): Promise<void> {
  await Promise.all([d.api, ...(d.worker ? [d.worker] : [])].map(stopProcess));
  await d.redis.stop();
  await fsp.rm(d.dataDir, { recursive: true, force: true });
}

/** Posts `docs` in bulk requests one after the other and waits until every ingest job has completed. */
async function ingestAll(d: Deployment, docs: Doc[], collection: string): Promise<{ seconds: number; acceptMs: number[] }> {
  return withIngestQueue(d, async (queue) => {
    const before = (await queue.getJobCounts('completed')).completed;
    const started = performance.now();
    const acceptMs: number[] = [];
    for (let i = 0; i < docs.length; i += BULK_SIZE) {
      const t = performance.now();
      const res = await fetch(`${d.base}/documents/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ collection, documents: docs.slice(i, i + BULK_SIZE) }) });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`bulk answered ${res.status}`);
      acceptMs.push(performance.now() - t);
    }
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if (counts.failed > 0) throw new Error(`${counts.failed} ingestion jobs failed`);
      if (counts.completed - before >= docs.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return { seconds: (performance.now() - started) / 1000, acceptMs };
  });
}

/** The deployment's ingest queue, read from here (job counts), closed afterwards. */
async function withIngestQueue<T>(d: Deployment, use: (queue: Queue) => Promise<T>): Promise<T> {
  const conn = new Redis(d.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QueueNames.ingest, { connection: conn, prefix: queuePrefix('bench') });
  try {
    return await use(queue);
  } finally {
    await queue.close();
    conn.disconnect();
  }
}

/** Waits until no ingest job is waiting or running: an ingesting phase's backlog must not run into the next phase. */
async function drainIngestion(d: Deployment): Promise<void> {
  await withIngestQueue(d, async (queue) => {
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

function runClient(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'load-client.ts'), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load client exited ${code}`))));
  });
}

/** Turns missing (or extra) against two per answered question, over every session of the phase. */
async function lostTurns(base: string, asksPerSession: Record<string, number>): Promise<number> {
  let lost = 0;
  for (const [session, asks] of Object.entries(asksPerSession)) {
    const res = await fetch(`${base}/sessions/${session}`);
    const view = (await res.json()) as { messageCount?: number };
    lost += Math.abs(2 * asks - (view.messageCount ?? 0));
  }
  return lost;
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const errorsOf = (...routes: Array<Record<string, number>>) => routes.reduce((n, r) => n + Object.values(r).reduce((a, b) => a + b, 0), 0);

export async function runLoadBench(opts: LoadBenchOptions): Promise<{ ingest: Array<Record<string, string | number>>; load: Array<Record<string, string | number>>; stages: Array<Record<string, string | number>> }> {
  const { docs, queries } = scifact();
  const ingestRows: Array<Record<string, string | number>> = [];
  const loadRows: Array<Record<string, string | number>> = [];
  const stageRows: Array<Record<string, string | number>> = [];
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'ragmem-bench-load-docs-'));
  const ingestFile = path.join(scratch, 'docs.json');
  await fsp.writeFile(ingestFile, JSON.stringify(docs.slice(SEED_DOCUMENTS)));
  try {
    for (const model of MODELS.filter((m) => opts.models === 'all' || opts.models === m.key)) {
      const d = await deploy(model, opts.env);
      const memory = residentMemory(() => d.api.pid!, d.workerPids);
      try {
        // SciFact end to end, from the first request to the last job completed.
        const whole = await ingestAll(d, docs, 'scifact');
        const accept = [...whole.acceptMs].sort((a, b) => a - b);
        ingestRows.push({
          'process model': model.name,
          documents: docs.length,
          MB: mbOf(docs).toFixed(2),
          seconds: whole.seconds.toFixed(1),
          'MB/s': (mbOf(docs) / whole.seconds).toFixed(2),
          'accept p50 ms (500 docs)': ms(accept[Math.floor(accept.length / 2)]),
          'accept max ms': ms(accept.at(-1)!),
        });
        // Knowledge for the asks: the seed collection, asked about by default.
        await ingestAll(d, docs.slice(0, SEED_DOCUMENTS), 'default');
        await runClient({ base: d.base, seconds: WARMUP_SECONDS, sessionPrefix: 'warmup', mode: 'closed', askClients: CLOSED_ASKERS, searchClients: CLOSED_SEARCHERS, askRate: 0, searchRate: 0, queries });

        const phases: Array<{ name: string; plan: Partial<LoadPlan> }> = [
          { name: `closed loop: ${CLOSED_ASKERS} askers + ${CLOSED_SEARCHERS} searchers`, plan: { mode: 'closed' } },
          { name: 'closed loop, while ingesting', plan: { mode: 'closed', ingest: { file: ingestFile, perRequest: BULK_SIZE, collection: 'during-closed' } } },
          { name: `open loop: ${opts.askRate} asks/s + ${OPEN_SEARCH_RATE} searches/s`, plan: { mode: 'open' } },
          { name: 'open loop, while ingesting', plan: { mode: 'open', ingest: { file: ingestFile, perRequest: BULK_SIZE, collection: 'during-open' } } },
        ];
        for (const [i, phase] of phases.entries()) {
          memory.reset();
          const result = await runClient({
            base: d.base,
            seconds: opts.seconds,
            sessionPrefix: `p${i}`,
            askClients: CLOSED_ASKERS,
            searchClients: CLOSED_SEARCHERS,
            askRate: opts.askRate,
            searchRate: OPEN_SEARCH_RATE,
            queries,
            mode: 'closed',
            // Each ingesting phase writes a collection of its own: the same abstracts again are new documents there.
            ...phase.plan,
          } as LoadPlan);
          const rss = memory.peaks();
          if (phase.plan.ingest) await drainIngestion(d);
          loadRows.push({
            'process model': model.name,
            phase: phase.name,
            'asks/s': result.ask.perSecond.toFixed(1),
            'ask p50/p95/p99 ms': `${ms(result.ask.p50)} / ${ms(result.ask.p95)} / ${ms(result.ask.p99)}`,
            'searches/s': result.search.perSecond.toFixed(1),
            'search p50/p95/p99 ms': `${ms(result.search.p50)} / ${ms(result.search.p95)} / ${ms(result.search.p99)}`,
            'ingest MB/s accepted': phase.plan.ingest ? (result.bulk.mb / opts.seconds).toFixed(2) : '-',
            errors: errorsOf(result.ask.errors, result.search.errors, result.bulk.errors),
            'lost turns': await lostTurns(d.base, result.asksPerSession),
            'RSS MB API / workers (peak)': `${rss.api} / ${rss.workers}`,
            'client CPU %': result.clientCpuPercent.toFixed(0),
          });
          stageRows.push({
            'process model': model.name,
            phase: phase.name,
            ...Object.fromEntries(Object.entries(result.askStages).map(([stage, mean]) => [`${stage} ms`, mean.toFixed(1)])),
          });
        }
      } finally {
        memory.stop();
        await undeploy(d);
      }
    }
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
  return { ingest: ingestRows, load: loadRows, stages: stageRows };
}
