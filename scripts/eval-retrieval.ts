/**
 * Retrieval evaluation on BEIR or SQuAD data: how well does POST /search rank the documents a query needs?
 *
 *   npm run eval:retrieval -- --dataset ../shared/data/scifact [--modes hybrid,dense,keyword] [--limit-queries N]
 *     [--limit-corpus N] [--out reports/eval-retrieval.json] [--url http://host:port] [--concurrency N] [--keep-collection]
 *     [--split test|train] [--fusion-grid] [--store lancedb|qdrant-double]
 *
 * The corpus is ingested through POST /documents/bulk into a fresh collection and waited for until every document is
 * ready; then every query goes through POST /search (k 100) in each mode. Chunks map to their documents (first rank
 * wins), giving a ranked list of corpus ids scored with nDCG@10, Recall@10/100 and MRR@10 as BEIR computes them.
 *
 * Without --url the service runs in-process (offline provider unless MISTRAL_API_KEY is set, LanceDB in a temp dir
 * unless QDRANT_URL is set, a random Redis prefix, workers inline).
 *
 * `--store qdrant-double` runs the in-process service on Qdrant's strict test double (test/support/qdrant-double: every
 * request validated against Qdrant's OpenAPI document, Qdrant's scoring and RRF reimplemented): hybrid search then goes
 * through the Query API's prefetch and fusion, so the two stores' rankings can be compared. Its speed is not Qdrant's.
 *
 * `--fusion-grid` (with the dense and keyword modes) also fuses each query's two rankings over a grid of RRF
 * parameters (scripts/eval/fusion-grid.ts): how the hybrid defaults were chosen, on `--split train`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { callJson as call } from '../bench/http';
import { forEachConcurrently } from '../src/infra/pool';
import { fusionFor } from '../src/search/hybrid-fusion';
import { printTable } from '../bench/table';
import { startInProcessService, type InProcessService } from './eval/in-process-service';
import { runMain } from './eval/run-main';
import { startQdrantDouble, type QdrantDouble } from '../test/support/qdrant-double';
import { loadDataset, sliceDataset, type CorpusDoc, type Dataset } from './eval/datasets';
import { fusionGrid, type GridPoint } from './eval/fusion-grid';
import { mean, mrrAt, ndcgAt, percentile, recallAt } from './eval/retrieval-metrics';
import { arg } from '../bench/args';

// ---------------------------------------------------------------------------------------------------------------
// Arguments

const USAGE =
  'usage: npm run eval:retrieval -- --dataset ../shared/data/scifact [--modes hybrid,dense,keyword] [--limit-queries N] ' +
  '[--limit-corpus N] [--out reports/eval-retrieval.json] [--url http://host:port] [--concurrency N] [--keep-collection] ' +
  '[--split test|train] [--fusion-grid] [--store lancedb|qdrant-double]';

const MODES = ['hybrid', 'dense', 'keyword'] as const;
type Mode = (typeof MODES)[number];

function positiveInt(name: string): number | undefined {
  const raw = arg(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bad --${name} ${raw}\n${USAGE}`);
  return n;
}

/** Published nDCG@10 on the full test split, printed beside ours. */
const REFERENCES: Record<string, { ndcg10: number; what: string }> = {
  scifact: { ndcg10: 0.665, what: 'BM25, BEIR paper' },
};

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/** `fn` over `items`, at most `concurrency` at a time; results keep input order. */
async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  await forEachConcurrently(items, concurrency, async (item, i) => {
    results[i] = await fn(item);
  });
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Ingestion

const BULK_MAX = 1000;
const INGEST_TIMEOUT_MS = 60 * 60_000;

interface Ingested {
  /** document id -> the corpus ids it holds (several when the service found texts identical). */
  corpusIdsByDocument: Map<string, string[]>;
  documents: number;
  duplicates: number;
  seconds: number;
}

// The service's title limit (api schemas); a longer title is cut rather than the document refused.
const toUpload = (d: CorpusDoc) => ({ text: d.text, externalId: d.id, ...(d.title ? { title: d.title.slice(0, 512) } : {}) });

/** Fills `corpusIdsByDocument` as batches are accepted, so that the caller can delete a partial upload. */
async function ingest(
  base: string,
  collection: string,
  corpus: readonly CorpusDoc[],
  corpusIdsByDocument: Map<string, string[]>,
): Promise<Ingested> {
  const started = performance.now();
  let duplicates = 0;
  for (let i = 0; i < corpus.length; i += BULK_MAX) {
    const batch = corpus.slice(i, i + BULK_MAX);
    const r = (await call(base, 'POST', '/documents/bulk', { collection, documents: batch.map(toUpload) })) as {
      documents: Array<{ id: string; status: string; duplicate?: boolean }>;
    };
    r.documents.forEach((doc, j) => {
      if (doc.duplicate) duplicates++;
      corpusIdsByDocument.set(doc.id, [...(corpusIdsByDocument.get(doc.id) ?? []), batch[j].id]);
    });
    console.error(`uploaded ${Math.min(i + BULK_MAX, corpus.length)}/${corpus.length} documents`);
  }
  await waitForReady(base, collection, corpusIdsByDocument.size);
  return { corpusIdsByDocument, documents: corpusIdsByDocument.size, duplicates, seconds: (performance.now() - started) / 1000 };
}

const firstWith = async (base: string, collection: string, status: string) =>
  ((await call(base, 'GET', `/documents?collection=${collection}&status=${status}&limit=1`)) as { documents: any[] }).documents[0];

async function countReady(base: string, collection: string): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const page: { documents: unknown[]; nextCursor: string | null } = await call(
      base,
      'GET',
      `/documents?collection=${collection}&status=ready&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    n += page.documents.length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

/**
 * Waits until nothing is queued or processing, then confirms by counting the ready ones (a retried job can step back
 * from processing to queued between the two cheap checks). Any failed document ends the run: its score would be a lie.
 */
async function waitForReady(base: string, collection: string, expected: number): Promise<void> {
  const started = Date.now();
  let lastLog = started;
  for (;;) {
    const failed = await firstWith(base, collection, 'failed');
    if (failed) throw new Error(`document ${failed.id} (${failed.title ?? 'untitled'}) failed to ingest: ${JSON.stringify(failed.error)}`);
    const pending = (await firstWith(base, collection, 'queued')) ?? (await firstWith(base, collection, 'processing'));
    if (!pending) {
      const ready = await countReady(base, collection);
      if (ready === expected) return;
      if (ready > expected) throw new Error(`collection ${collection} holds ${ready} ready documents, expected ${expected}: is it shared?`);
    }
    if (Date.now() - started > INGEST_TIMEOUT_MS)
      throw new Error(`documents still not ready after ${INGEST_TIMEOUT_MS / 60_000} min; is a worker running?`);
    if (Date.now() - lastLog > 10_000) {
      console.error(`waiting for ingestion: ${Math.round((Date.now() - started) / 1000)} s`);
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Search and measures

interface SearchHit {
  documentId: string;
}

/** Chunks -> corpus ids, best first, each document at its first (best) rank. */
function rankedCorpusIds(hits: readonly SearchHit[], corpusIdsByDocument: ReadonlyMap<string, string[]>): string[] {
  const seen = new Set<string>();
  const ranked: string[] = [];
  for (const h of hits) {
    if (seen.has(h.documentId)) continue;
    seen.add(h.documentId);
    ranked.push(...(corpusIdsByDocument.get(h.documentId) ?? []));
  }
  return ranked;
}

interface QueryResult {
  id: string;
  ndcg10: number;
  recall10: number;
  recall100: number;
  mrr10: number;
  latencyMs: number;
  retrieved: number;
  /** The ranked corpus ids (kept in memory for the fusion grid, left out of the report). */
  ranked: string[];
}

async function evaluateMode(base: string, collection: string, ds: Dataset, ingested: Ingested, mode: Mode, concurrency: number) {
  const started = performance.now();
  const perQuery = await pool(ds.queries, concurrency, async (q): Promise<QueryResult> => {
    const t0 = performance.now();
    const r = (await call(base, 'POST', '/search', { query: q.text, k: 100, collection, mode })) as { results: SearchHit[] };
    const latencyMs = performance.now() - t0;
    const ranked = rankedCorpusIds(r.results, ingested.corpusIdsByDocument);
    return {
      id: q.id,
      ndcg10: ndcgAt(ranked, q.qrels, 10),
      recall10: recallAt(ranked, q.qrels, 10),
      recall100: recallAt(ranked, q.qrels, 100),
      mrr10: mrrAt(ranked, q.qrels, 10),
      latencyMs,
      retrieved: ranked.length,
      ranked,
    };
  });
  const seconds = (performance.now() - started) / 1000;
  const latencies = perQuery.map((r) => r.latencyMs);
  return {
    mode,
    metrics: {
      ndcg10: mean(perQuery.map((r) => r.ndcg10)),
      recall10: mean(perQuery.map((r) => r.recall10)),
      recall100: mean(perQuery.map((r) => r.recall100)),
      mrr10: mean(perQuery.map((r) => r.mrr10)),
    },
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies) },
    queriesPerSecond: perQuery.length / seconds,
    perQuery,
  };
}

function printFusionGrid(ds: Dataset, results: Array<{ mode: Mode; perQuery: QueryResult[] }>): GridPoint[] | undefined {
  const dense = results.find((r) => r.mode === 'dense');
  const keyword = results.find((r) => r.mode === 'keyword');
  if (!dense || !keyword) throw new Error(`--fusion-grid needs the dense and keyword modes\n${USAGE}`);
  const grid = fusionGrid(
    ds.queries.map((q, i) => ({ qrels: q.qrels, dense: dense.perQuery[i].ranked, keyword: keyword.perQuery[i].ranked })),
  );
  printTable(
    `Hybrid fusion grid: RRF (Qdrant's formula) of the dense and keyword rankings, ${ds.queries.length} queries (best 12 of ${grid.length})`,
    grid
      .slice(0, 12)
      .map((g) => ({ k: g.k, 'dense weight': g.denseWeight, 'nDCG@10': g.ndcg10.toFixed(4), 'Recall@100': g.recall100.toFixed(4) })),
  );
  return grid;
}

// ---------------------------------------------------------------------------------------------------------------
// Main

/** What we know of the service under test: everything when it runs in-process, only its address otherwise. */
function describeService(inProcess: InProcessService | undefined, url: string) {
  if (!inProcess) return { url };
  const { services } = inProcess.server;
  return {
    url: 'in-process',
    vectorStore: services.vectors.kind,
    embeddingModel: services.embedder.model,
    embeddingDimensions: services.embedder.dimensions,
    chunking: services.config.chunking,
    fusion: fusionFor(services.embedder, services.config.search.fusion),
  };
}

async function main() {
  const dataset = arg('dataset');
  if (!dataset) throw new Error(USAGE);
  const modes = (arg('modes') ?? MODES.join(',')).split(',').map((m) => m.trim()) as Mode[];
  if (modes.some((m) => !MODES.includes(m))) throw new Error(`bad --modes ${modes.join(',')}\n${USAGE}`);
  const limitQueries = positiveInt('limit-queries');
  const limitCorpus = positiveInt('limit-corpus');
  const concurrency = positiveInt('concurrency') ?? 1;
  const out = arg('out') ?? 'reports/eval-retrieval.json';
  const split = arg('split') ?? 'test';
  const withGrid = process.argv.includes('--fusion-grid');

  const ds = sliceDataset(await loadDataset(dataset, split), limitQueries, limitCorpus);
  const sliced = limitQueries !== undefined || limitCorpus !== undefined;
  console.error(`${ds.name} (${ds.format}): ${ds.corpus.length} documents, ${ds.queries.length} queries${sliced ? ' (a slice)' : ''}`);

  const store = arg('store') ?? 'lancedb';
  if (store !== 'lancedb' && store !== 'qdrant-double') throw new Error(`bad --store ${store}\n${USAGE}`);
  let inProcess: InProcessService | undefined;
  let qdrant: QdrantDouble | undefined;
  let base = arg('url')?.replace(/\/+$/, '');
  if (!base) {
    if (store === 'qdrant-double') qdrant = await startQdrantDouble();
    inProcess = await startInProcessService('eval-retrieval', qdrant ? { QDRANT_URL: qdrant.url } : {});
    base = inProcess.server.url;
  }
  const collection = `eval-${randomBytes(4).toString('hex')}`;
  const uploaded = new Map<string, string[]>();

  try {
    const ingested = await ingest(base, collection, ds.corpus, uploaded);
    console.error(`ingested ${ingested.documents} documents in ${ingested.seconds.toFixed(1)} s`);

    const results = [];
    for (const mode of modes) {
      results.push(await evaluateMode(base, collection, ds, ingested, mode, concurrency));
      console.error(`${mode}: ${ds.queries.length} queries done`);
    }

    const grid = withGrid ? printFusionGrid(ds, results) : undefined;
    // Published figures are for the full test split.
    const reference = sliced || split !== 'test' ? undefined : REFERENCES[ds.name];
    printTable(
      `Retrieval on ${ds.name} (${ds.corpus.length} documents, ${ds.queries.length} queries, k 100, concurrency ${concurrency})`,
      results.map((r) => ({
        mode: r.mode,
        'nDCG@10': r.metrics.ndcg10.toFixed(3),
        'Recall@10': r.metrics.recall10.toFixed(3),
        'Recall@100': r.metrics.recall100.toFixed(3),
        'MRR@10': r.metrics.mrr10.toFixed(3),
        'p50 ms': r.latencyMs.p50,
        'p95 ms': r.latencyMs.p95,
      })),
    );
    if (reference) console.log(`reference nDCG@10: ${reference.ndcg10.toFixed(3)} (${reference.what})`);
    const docsPerSecond = ingested.documents / ingested.seconds;
    console.log(
      `ingestion: ${ingested.documents} documents in ${ingested.seconds.toFixed(1)} s (${docsPerSecond.toFixed(1)} docs/s)` +
        (ingested.duplicates ? `, ${ingested.duplicates} duplicate texts` : ''),
    );

    await fs.mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await fs.writeFile(
      out,
      JSON.stringify(
        {
          createdAt: new Date().toISOString(),
          dataset: {
            path: dataset,
            name: ds.name,
            format: ds.format,
            split,
            limitQueries: limitQueries ?? null,
            limitCorpus: limitCorpus ?? null,
          },
          corpusDocuments: ds.corpus.length,
          queries: ds.queries.length,
          service: describeService(inProcess, base),
          collection,
          concurrency,
          ingestion: { documents: ingested.documents, duplicates: ingested.duplicates, seconds: ingested.seconds, docsPerSecond },
          reference: reference ?? null,
          results: results.map((r) => ({ ...r, perQuery: r.perQuery.map(({ ranked: _ranked, ...rest }) => rest) })),
          ...(grid ? { fusionGrid: grid } : {}),
        },
        null,
        2,
      ),
    );
    console.log(`report: ${out}`);
  } finally {
    // In-process everything goes with the temp dir and the Redis prefix; a running service keeps what we do not delete.
    if (!inProcess && !process.argv.includes('--keep-collection')) {
      const failures = await pool([...uploaded.keys()], 8, (id) =>
        call(base, 'DELETE', `/documents/${id}`).then(
          () => 0,
          () => 1,
        ),
      );
      const n = failures.reduce((x: number, y) => x + y, 0);
      if (n > 0) console.error(`could not delete ${n} of the collection's ${uploaded.size} documents`);
    }
    await inProcess?.stop();
    if (qdrant) {
      await qdrant.close();
      // The double's strictness: a request Qdrant's OpenAPI document rejects would make every figure suspect.
      if (qdrant.rejected.length > 0) {
        // eslint-disable-next-line no-unsafe-finally -- reporting the double's rejections is the point of this finally
        throw new Error(`the Qdrant double rejected ${qdrant.rejected.length} requests: ${JSON.stringify(qdrant.rejected[0])}`);
      }
    }
  }
}

if (require.main === module) runMain(main);
