import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OfflineEmbedder } from '../src/gateway/offline-embedder';
import { Chunker } from '../src/core/chunker';
import { parseSource } from '../src/ingest/parsers';
import { TokenCounter } from '../src/core/tokens/token-counter';
import { LanceDbVectorStore } from '../src/stores/vector/lancedb-store';
import { QdrantVectorStore } from '../src/stores/vector/qdrant-store';
import type { ChunkRecord, SearchMode, VectorStore } from '../src/stores/vector/vector-store';
import { startQdrantDouble } from '../test/support/qdrant-double';
import { benchChunk, generateDocuments, scifactSentences, rng } from './corpus';

export interface StoreRow extends Record<string, string | number> {
  store: string;
  chunks: number;
  'upsert chunks/s': number;
  mode: string;
  queries: number;
  'p50 ms': number;
  'p95 ms': number;
  /** CPU of the whole process per query (LanceDB's own threads included; for Qdrant, the in-process double's too). */
  'CPU ms/query': number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * The vector stores on their own, with the same pre-embedded chunks and queries: upsert throughput in batches of 64,
 * then search latency per mode. Qdrant runs on the in-process strict double (every request validated against the
 * OpenAPI document, brute-force scoring in JavaScript): its figures show what the adapter costs, not Qdrant's speed.
 */
export async function runStoreBench(opts: { totalMB: number; queries: number }): Promise<StoreRow[]> {
  const tokenCounter = new TokenCounter();
  const chunker = new Chunker({ tokenCounter, chunkSize: 512, chunkOverlap: 64 });
  const embedder = new OfflineEmbedder({ dimensions: 384 });
  const docs = generateDocuments(Math.max(1, Math.round(opts.totalMB * 10)), 100_000, 3);
  const records: ChunkRecord[] = [];
  for (let d = 0; d < docs.length; d++) {
    const chunks = chunker.chunk(await parseSource(Buffer.from(docs[d]), 'text'));
    const vectors = await embedder.embed(chunks.map((c) => c.text));
    chunks.forEach((c, i) => records.push({ ...benchChunk(d, c, { shard: d % 4 }), vector: vectors[i] }));
  }
  const sentences = scifactSentences();
  const rand = rng(9);
  const queryTexts = Array.from({ length: opts.queries }, () => sentences[Math.floor(rand() * sentences.length)].slice(0, 160));
  const queryVectors = await embedder.embed(queryTexts);

  const rows: StoreRow[] = [];
  const measure = async (name: string, store: VectorStore) => {
    await store.init();
    const started = performance.now();
    for (let i = 0; i < records.length; i += 64) await store.upsert(records.slice(i, i + 64));
    const upsertRate = records.length / ((performance.now() - started) / 1000);
    for (const mode of ['hybrid', 'dense', 'keyword'] as SearchMode[]) {
      await store.search({ tenant: 'bench', collection: 'default', text: queryTexts[0], vector: queryVectors[0], mode, k: 8 }); // warm-up
      const times: number[] = [];
      const cpuBefore = process.cpuUsage();
      for (let q = 0; q < queryTexts.length; q++) {
        const t0 = performance.now();
        await store.search({ tenant: 'bench', collection: 'default', text: queryTexts[q], vector: queryVectors[q], mode, k: 8 });
        times.push(performance.now() - t0);
      }
      const cpu = process.cpuUsage(cpuBefore);
      rows.push({
        store: name,
        chunks: records.length,
        'upsert chunks/s': upsertRate,
        mode,
        queries: times.length,
        'p50 ms': pct(times, 50),
        'p95 ms': pct(times, 95),
        'CPU ms/query': (cpu.user + cpu.system) / 1000 / times.length,
      });
    }
    await store.close();
  };

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-bench-stores-'));
  try {
    await measure('lancedb (embedded)', new LanceDbVectorStore({ dir, dimensions: 384, embeddingModel: embedder.model }));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  const double = await startQdrantDouble();
  try {
    await measure('qdrant (strict double)', new QdrantVectorStore({ url: double.url, dimensions: 384, embeddingModel: embedder.model }));
    if (double.rejected.length > 0) throw new Error(`the Qdrant double rejected ${double.rejected.length} requests`);
  } finally {
    await double.close();
  }
  return rows;
}
