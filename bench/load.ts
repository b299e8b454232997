import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SHARED_DATA } from './corpus';
import { callJson } from './http';
import type { LoadPlan, LoadResult } from './load-client';
import { processSampler, type ProcessFigures } from './load-processes';
import { deployService } from './processes';

/**
 * What users of `npm start` get under load, on loopback, with the offline models and LanceDB: the service started as
 * `npm start` starts it (whatever RUN_WORKERS defaults to) and as a scaled deployment runs it (the API with
 * RUN_WORKERS=off plus one worker process), each on a throwaway Redis and a temp DATA_DIR. Per process model: 300
 * SciFact abstracts as the knowledge to retrieve from, then four phases (a warm-up each, not measured): closed loop
 * (32 clients asking on a session of their own, 8 searching), open loop (asks at a fixed rate, searches at 10/s),
 * then the same two while bulk requests of further abstracts ingest. The phases without ingestion run first, so they
 * search the seed alone and never meet another phase's ingestion backlog (the ingesting phases do not wait for it: it
 * is ingestion too). `--load-scifact` adds SciFact's 5,183 abstracts end to end through `/documents/bulk`.
 */
export interface LoadBenchOptions {
  seconds: number;
  askRate: number;
  /** Extra environment for every service process (`--load-env K=V,K2=V2`). */
  env: Record<string, string>;
  /** Which process models to run: 'default', 'separate' or 'all'. */
  models: string;
  /** Also time SciFact whole through /documents/bulk (after the load phases; about 15 s a process model). */
  scifactEndToEnd?: boolean;
  /** Which phases to run (`--load-phases closed,open,closed-ingest,open-ingest`); all when undefined. */
  phases?: string[];
  /**
   * Write V8 CPU profiles of the API and every worker process here (`--cpu-prof DIR`): each process writes one when
   * it exits, which is where an ask's CPU goes.
   */
  cpuProfDir?: string;
}

type Row = Record<string, string | number>;

interface Doc {
  title: string;
  text: string;
}

interface DocumentView {
  id: string;
  status: string;
  bytes: number;
  createdAt: string;
  indexedAt?: string;
}

const SEED_DOCUMENTS = 300;
const BULK_SIZE = 500;
const ASKERS = 32;
const SEARCHERS = 8;
const OPEN_SEARCH_RATE = 10;
const WARMUP_SECONDS = 2;
/** Sockets the load client may open: one per closed-loop client, and room for the open loop's searches. */
const CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 180_000; // seed and --load-scifact

const MODELS = [
  { key: 'default', name: 'npm start defaults', env: {} as Record<string, string>, separateWorker: false },
  { key: 'separate', name: 'API + 1 separate worker', env: { RUN_WORKERS: 'off' }, separateWorker: true },
];

function scifact(): { docs: Doc[]; queries: string[] } {
  const lines = (file: string) =>
    fs
      .readFileSync(path.join(SHARED_DATA, 'scifact', file), 'utf8')
      .split('\n')
      .filter(Boolean);
  const docs = lines('corpus.jsonl')
    .map((l) => JSON.parse(l) as Doc)
    .map((d) => ({ title: d.title, text: d.text }));
  const queries = lines('queries.jsonl').map((l) => (JSON.parse(l) as { text: string }).text);
  return { docs, queries };
}

const benchStarted = performance.now();
/** Progress on stderr (the tables go to stdout). */
const progress = (what: string) => console.error(`[load ${((performance.now() - benchStarted) / 1000).toFixed(0)} s] ${what}`);
const mbOf = (docs: Doc[]) => docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every document of a collection, through the API's own listing. */
async function listCollection(base: string, collection: string): Promise<DocumentView[]> {
  const docs: DocumentView[] = [];
  let cursor: string | null = null;
  do {
    const page = (await callJson(
      base,
      'GET',
      `/documents?collection=${encodeURIComponent(collection)}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    )) as {
      documents: DocumentView[];
      nextCursor: string | null;
    };
    docs.push(...page.documents);
    cursor = page.nextCursor;
  } while (cursor);
  return docs;
}

/** Waits until no document of these collections is queued or processing; answers them all. */
async function settle(base: string, collections: string[], everyMs = 500): Promise<DocumentView[]> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const docs = (await Promise.all(collections.map((c) => listCollection(base, c)))).flat();
    if (docs.every((d) => d.status !== 'queued' && d.status !== 'processing')) return docs;
    if (Date.now() > deadline)
      throw new Error(`documents of ${collections.join(', ')} still ingesting after ${SETTLE_TIMEOUT_MS / 1000} s`);
    await sleep(everyMs);
  }
}

/** Posts `docs` in bulk requests one after the other: how long each took to be accepted, and the documents' ids. */
async function postBulk(base: string, docs: Doc[], collection: string): Promise<{ acceptMs: number[]; ids: string[] }> {
  const acceptMs: number[] = [];
  const ids: string[] = [];
  for (let i = 0; i < docs.length; i += BULK_SIZE) {
    const t = performance.now();
    const res = (await callJson(base, 'POST', '/documents/bulk', { collection, documents: docs.slice(i, i + BULK_SIZE) })) as {
      documents: Array<{ id: string }>;
    };
    acceptMs.push(performance.now() - t);
    ids.push(...res.documents.map((d) => d.id));
  }
  return { acceptMs, ids };
}

/** Runs the load client in a process of its own; `measuring` and `done` mark the measured window as it passes. */
function runClient(plan: LoadPlan, on: { measuring(): void; done(): void }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'load-client.ts')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    let seen = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const lines = out.split('\n');
      for (; seen < lines.length - 1; seen++) {
        if (lines[seen] === 'measuring') on.measuring();
        else if (lines[seen] === 'done') on.done();
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as LoadResult);
      else reject(new Error(`load client exited ${code}`));
    });
    child.stdin.end(JSON.stringify(plan));
  });
}

/** Each session's turns against two per answered question: missing ones, and extra ones (a failed ask that still stored). */
async function turnCheck(base: string, result: LoadResult, sessions: string[]): Promise<{ lost: number; extra: number }> {
  let lost = 0;
  let extra = 0;
  for (const session of sessions) {
    const view = (await callJson(base, 'GET', `/sessions/${encodeURIComponent(session)}`)) as { messageCount: number };
    const expected = 2 * (result.asksPerSession[session] ?? 0);
    lost += Math.max(0, expected - view.messageCount);
    extra += Math.max(0, view.messageCount - expected);
  }
  return { lost, extra };
}

const cpuMsPerRequest = (cpuPercent: number, perSecond: number) => (perSecond > 0 ? ((cpuPercent / 100) * 1000) / perSecond : 0).toFixed(1);
const ms = (x: number | null | undefined) => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(0) : '-');
const pcts = (r: { p50: number; p95: number; p99: number }) => `${ms(r.p50)} / ${ms(r.p95)} / ${ms(r.p99)}`;
function errorCell(result: LoadResult): string {
  const parts: string[] = [];
  for (const route of ['ask', 'search', 'bulk'] as const) {
    for (const [status, n] of Object.entries(result[route].errors)) parts.push(`${route} ${status}x${n}`);
  }
  return parts.length ? parts.join(', ') : '0';
}

export async function runLoadBench(opts: LoadBenchOptions): Promise<{ load: Row[]; stages: Row[]; ingest: Row[] }> {
  const { docs, queries } = scifact();
  const loadRows: Row[] = [];
  const stageRows: Row[] = [];
  const ingestRows: Row[] = [];
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'ragmem-bench-load-plan-'));
  const ingestFile = path.join(scratch, 'docs.json');
  const queriesFile = path.join(scratch, 'queries.json');
  await fsp.writeFile(ingestFile, JSON.stringify(docs.slice(SEED_DOCUMENTS)));
  await fsp.writeFile(queriesFile, JSON.stringify(queries));
  const allPhases: Array<{ key: string; name: string; mode: 'closed' | 'open'; ingest: boolean }> = [
    { key: 'closed', name: `a. closed: ${ASKERS} askers + ${SEARCHERS} searchers`, mode: 'closed', ingest: false },
    { key: 'open', name: `b. open: ${opts.askRate} asks/s + ${OPEN_SEARCH_RATE} searches/s`, mode: 'open', ingest: false },
    { key: 'closed-ingest', name: 'c. closed, while ingesting', mode: 'closed', ingest: true },
    { key: 'open-ingest', name: 'd. open, while ingesting', mode: 'open', ingest: true },
  ];
  const unknown = (opts.phases ?? []).filter((k) => !allPhases.some((p) => p.key === k));
  if (unknown.length) throw new Error(`unknown load phase ${unknown.join(', ')}: use ${allPhases.map((p) => p.key).join(', ')}`);
  const phases = allPhases.filter((p) => !opts.phases || opts.phases.includes(p.key));
  try {
    for (const model of MODELS.filter((m) => opts.models === 'all' || opts.models === m.key)) {
      const d = await deployService(
        'load',
        { ...model.env, ...opts.env },
        {
          separateWorker: model.separateWorker,
          nodeArgs: opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [],
        },
      );
      const sampler = processSampler(d.api.pid!, d.worker?.pid ? [d.worker.pid] : []);
      const ingestCollections: string[] = [];
      try {
        // The knowledge the asks and searches retrieve from (the default collection, which they use).
        progress(`${model.name}: up; seeding ${SEED_DOCUMENTS} abstracts`);
        const seed = docs.slice(0, SEED_DOCUMENTS);
        await postBulk(d.base, seed, 'default');
        const seeded = await settle(d.base, ['default']);
        const ready = seeded.filter((doc) => doc.status === 'ready').length;
        if (ready !== seed.length) throw new Error(`seed: ${ready} of ${seed.length} documents ready`);

        for (const [i, phase] of phases.entries()) {
          progress(`${model.name}: ${phase.name}`);
          const sessions = Array.from({ length: ASKERS }, (_, j) => `load-${model.key}-p${i}-s${j}`);
          for (const id of sessions) await callJson(d.base, 'POST', '/sessions', { id });
          let figures: ProcessFigures | undefined;
          const result = await runClient(
            {
              base: d.base,
              warmupSeconds: WARMUP_SECONDS,
              seconds: opts.seconds,
              mode: phase.mode,
              sessions,
              searchClients: SEARCHERS,
              askRate: opts.askRate,
              searchRate: OPEN_SEARCH_RATE,
              queriesFile,
              connections: CONNECTIONS,
              timeoutMs: REQUEST_TIMEOUT_MS,
              ingest: phase.ingest ? { file: ingestFile, perRequest: BULK_SIZE, collectionPrefix: `load-${model.key}-p${i}` } : undefined,
            },
            { measuring: () => sampler.start(), done: () => (figures = sampler.end()) },
          );
          figures ??= sampler.end();
          // Ingestion reached in the window: the bytes of documents the service finished indexing within it (in any
          // ingesting phase's collection: the next phase starts without waiting for the last one's backlog).
          let indexedMBps = '-';
          if (phase.ingest) {
            ingestCollections.push(...result.collections);
            const ingested = (await Promise.all(ingestCollections.map((c) => listCollection(d.base, c)))).flat();
            const inWindow = ingested.filter((doc) => {
              const at = doc.indexedAt ? Date.parse(doc.indexedAt) : NaN;
              return at >= result.window.startMs && at < result.window.endMs;
            });
            const seconds = (result.window.endMs - result.window.startMs) / 1000;
            indexedMBps = `${(inWindow.reduce((n, doc) => n + doc.bytes, 0) / 1e6 / seconds).toFixed(2)} (${(result.bulk.mb / seconds).toFixed(2)})`;
            const failed = ingested.filter((doc) => doc.status === 'failed').length;
            if (failed) result.bulk.errors['documents failed (so far)'] = failed;
          }
          const turns = await turnCheck(d.base, result, sessions);
          const { rss, cpu } = figures;
          loadRows.push({
            'process model': model.name,
            phase: phase.name,
            'asks/s': result.ask.perSecond.toFixed(1),
            'ask p50/p95/p99 ms': pcts(result.ask),
            'searches/s': result.search.perSecond.toFixed(1),
            'search p50/p95/p99 ms': pcts(result.search),
            'bulk n: p50/p95/p99 ms': phase.ingest ? `${result.bulk.count}: ${pcts(result.bulk)}` : '-',
            'ingest MB/s indexed (accepted)': indexedMBps,
            errors: errorCell(result),
            'lost turns': turns.extra ? `${turns.lost} (+${turns.extra} extra)` : turns.lost,
            'asks waited for a session': phase.mode === 'open' ? result.askWaitedForSession : '-',
            'RSS MB API peak/end': `${rss.apiPeak} / ${rss.apiEnd}`,
            'RSS MB workers peak/end': `${rss.workersPeak} / ${rss.workersEnd}`,
            'CPU % API/workers/client': `${cpu.api.toFixed(0)} / ${cpu.workers.toFixed(0)} / ${result.clientCpuPercent.toFixed(0)}`,
            // What one request costs the service (both processes, LanceDB's threads included): with the machine's cores
            // full, asks/s cannot pass cores x 1000 / this.
            'CPU ms per ask or search': cpuMsPerRequest(cpu.api + cpu.workers, result.ask.perSecond + result.search.perSecond),
          });
          stageRows.push({
            'process model': model.name,
            phase: phase.name,
            ...Object.fromEntries(Object.entries(result.askStages).map(([stage, mean]) => [`${stage} ms`, mean.toFixed(1)])),
          });
        }

        if (opts.scifactEndToEnd) {
          progress(`${model.name}: SciFact end to end`);
          await settle(d.base, ingestCollections, 1000); // the last phase's backlog first
          // SciFact whole, from the first request to the last document indexed (a collection of its own: no duplicates).
          const started = Date.now();
          const { acceptMs } = await postBulk(d.base, docs, 'scifact-e2e');
          const all = await settle(d.base, ['scifact-e2e'], 2000);
          const last = Math.max(...all.map((doc) => (doc.indexedAt ? Date.parse(doc.indexedAt) : 0)));
          const seconds = (last - started) / 1000;
          const accept = [...acceptMs].sort((a, b) => a - b);
          ingestRows.push({
            'process model': model.name,
            documents: docs.length,
            MB: mbOf(docs).toFixed(2),
            seconds: seconds.toFixed(1),
            'MB/s': (mbOf(docs) / seconds).toFixed(2),
            'accept p50 / max ms (500 docs)': `${ms(accept[Math.floor(accept.length / 2)])} / ${ms(accept.at(-1))}`,
            failed: all.filter((doc) => doc.status === 'failed').length,
          });
        }
      } finally {
        sampler.stop();
        await d.stop();
      }
    }
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
  progress('done');
  return { load: loadRows, stages: stageRows, ingest: ingestRows };
}
