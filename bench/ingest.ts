import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { OfflineEmbedder } from '../src/gateway/offline-embedder';
import { Chunker } from '../src/core/chunker';
import { parseSource } from '../src/ingest/parsers';
import { TokenCounter } from '../src/core/tokens/token-counter';
import { QueueNames, queuePrefix } from '../src/queues/queue-names';
import { LanceDbVectorStore } from '../src/stores/vector/lancedb-store';
import { partitionedLanceDbStore } from '../src/stores/vector/lancedb-partitions';
import { DEFAULT_INDEX_NAME } from '../src/indexes/index-spec';
import { DEFAULT_TENANT } from '../src/tenancy/authenticator';
import type { ChunkRecord } from '../src/stores/vector/vector-store';
import { freePort, startRedis } from '../test/support/redis-server';
import { benchChunk, generateDocuments } from './corpus';
import { startProcess, stopProcess, waitForHttp } from './processes';

export interface IngestBenchOptions {
  totalMB: number;
  workers: number;
  workerConcurrency: number;
  /** 'large', 'small' or 'all'. */
  shapes: string;
}

interface Shape {
  name: string;
  docs: string[];
  /** How the pipeline receives them. */
  via: 'single' | 'bulk';
}

export interface IngestRow extends Record<string, string | number> {
  corpus: string;
  path: string;
  documents: number;
  MB: number;
  chunks: number;
  seconds: number;
  'MB/s': number;
  'chunks/s': number;
  'vs ceiling': string;
}

const mb = (docs: string[]) => docs.reduce((n, d) => n + Buffer.byteLength(d), 0) / 1e6;

/** The same work as the pipeline, called directly in one process: chunker, embedder and store. */
async function ceiling(shape: Shape): Promise<{ seconds: number; chunks: number }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-bench-ceiling-'));
  const tokenCounter = new TokenCounter();
  const chunker = new Chunker({ tokenCounter, chunkSize: 512, chunkOverlap: 64 });
  const embedder = new OfflineEmbedder({ dimensions: 384 });
  const store = new LanceDbVectorStore({ dir, dimensions: embedder.dimensions, embeddingModel: embedder.model });
  await store.init();
  const started = performance.now();
  let pending: Omit<ChunkRecord, 'vector'>[] = [];
  let chunks = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const vectors = await embedder.embed(pending.map((p) => p.text));
    await store.upsert(pending.map((p, i) => ({ ...p, vector: vectors[i] })));
    chunks += pending.length;
    pending = [];
  };
  for (let d = 0; d < shape.docs.length; d++) {
    const parsed = await parseSource(Buffer.from(shape.docs[d], 'utf8'), 'text');
    for (const c of chunker.chunk(parsed)) {
      pending.push(benchChunk(d, c));
      if (pending.length >= 64) await flush();
    }
  }
  await flush();
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
  return { seconds, chunks };
}

/** API (workers off) and worker processes, as deployed; the clock runs from the first request to the last job done. */
async function pipeline(shape: Shape, opts: IngestBenchOptions): Promise<{ seconds: number; chunks: number }> {
  const redis = await startRedis();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-bench-pipeline-'));
  const port = await freePort();
  const env = { REDIS_URL: redis.url, DATA_DIR: dataDir, REDIS_PREFIX: 'bench', WORKER_CONCURRENCY: String(opts.workerConcurrency) };
  const api = startProcess('src/server.ts', { ...env, RUN_WORKERS: 'off', PORT: String(port), HOST: '127.0.0.1' }, profileArgs());
  const workers = Array.from({ length: opts.workers }, () => startProcess('workers/index.ts', env, profileArgs()));
  const base = `http://127.0.0.1:${port}`;
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QueueNames.ingest, { connection: conn, prefix: queuePrefix('bench') });
  try {
    await waitForHttp(`${base}/readyz`);
    await new Promise((r) => setTimeout(r, 1500)); // let workers finish loading the tokenizer
    const post = async (p: string, body: unknown) => {
      const res = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 202) throw new Error(`${p} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    };
    const started = performance.now();
    if (shape.via === 'single') {
      await Promise.all(shape.docs.map((text, i) => post('/documents', { text, title: `Document ${i}` })));
    } else {
      for (let i = 0; i < shape.docs.length; i += 1000) {
        await post('/documents/bulk', {
          documents: shape.docs.slice(i, i + 1000).map((text, j) => ({ text, title: `Document ${i + j}` })),
        });
      }
    }
    const postedAt = performance.now();
    if (process.env.BENCH_VERBOSE) console.error(`${shape.name}: posted in ${((postedAt - started) / 1000).toFixed(2)} s`);
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized');
      if (counts.failed > 0) throw new Error(`${counts.failed} ingestion jobs failed`);
      if (counts.completed === shape.docs.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    // Count what landed, through the store itself.
    // The service keeps one table per tenant (see lancedb-partitions.ts): read the default index as it does.
    const store = partitionedLanceDbStore({
      dir: path.join(dataDir, 'lancedb'),
      tableName: DEFAULT_INDEX_NAME,
      dimensions: 384,
      embeddingModel: 'offline-hash-v1',
    });
    await store.init();
    const chunks = await store.count(DEFAULT_TENANT);
    await store.close();
    return { seconds, chunks };
  } finally {
    await queue.close();
    conn.disconnect();
    await Promise.all([api, ...workers].map(stopProcess));
    await redis.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

/** BENCH_PROFILE_DIR=dir writes a V8 CPU profile per process (open it in Chrome DevTools). */
const profileArgs = () => (process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []);

export async function runIngestBench(opts: IngestBenchOptions): Promise<IngestRow[]> {
  const bytes = opts.totalMB * 1e6;
  const shapes: Shape[] = [
    { name: 'large docs', docs: generateDocuments(8, bytes / 8, 1), via: 'single' },
    { name: 'small docs', docs: generateDocuments(Math.round(bytes / 2000), 2000, 2), via: 'bulk' },
  ];
  const rows: IngestRow[] = [];
  for (const shape of shapes.filter((s) => opts.shapes === 'all' || s.name.startsWith(opts.shapes))) {
    const size = mb(shape.docs);
    const top = await ceiling(shape);
    const real = await pipeline(shape, opts);
    if (real.chunks !== top.chunks) throw new Error(`pipeline stored ${real.chunks} chunks, direct path ${top.chunks}`);
    const row = (p: string, r: { seconds: number; chunks: number }, ratio: string): IngestRow => ({
      corpus: shape.name,
      path: p,
      documents: shape.docs.length,
      MB: size,
      chunks: r.chunks,
      seconds: r.seconds,
      'MB/s': size / r.seconds,
      'chunks/s': r.chunks / r.seconds,
      'vs ceiling': ratio,
    });
    rows.push(row('direct (ceiling)', top, '100%'));
    rows.push(row(`API+queue+${opts.workers} worker(s)`, real, `${Math.round((100 * top.seconds) / real.seconds)}%`));
  }
  return rows;
}
