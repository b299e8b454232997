import { startBenchService } from './bench-service';
import { generateDocuments, rng, scifactSentences } from './corpus';
import { callJson as call } from './http';
import { percentile } from '../scripts/eval/retrieval-metrics';

export interface ReindexBenchOptions {
  /** Documents in the collection (about 2 KB each). */
  documents: number;
  /** Searches measured before the reindex (the idle baseline). */
  queries: number;
}

export interface ReindexRow extends Record<string, string | number> {
  phase: string;
  searches: number;
  errors: number;
  'empty results': number;
  'p50 ms': number;
  'p95 ms': number;
  'p99 ms': number;
}

const BULK = 1000;
const COLLECTION = 'bench';

async function waitForIngestion(base: string): Promise<void> {
  for (;;) {
    const pending = await Promise.all(
      ['queued', 'processing', 'failed'].map((status) => call(base, 'GET', `/documents?collection=${COLLECTION}&status=${status}&limit=1`)),
    );
    if (pending[2].documents.length > 0) throw new Error(`a document failed: ${JSON.stringify(pending[2].documents[0].error)}`);
    if (pending[0].documents.length === 0 && pending[1].documents.length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Search while a collection is rebuilt: the service in-process (offline provider, LanceDB, a throwaway Redis, workers
 * inline), `documents` documents, then hybrid searches one after another (k 8) before and during
 * `POST /reindex` with a new chunking (every chunk re-cut, re-embedded and written into a new index). Zero downtime
 * means no error and no empty answer during the rebuild and its switch; the latency shows what the rebuild costs
 * searches sharing the machine.
 */
export async function runReindexBench(opts: ReindexBenchOptions): Promise<ReindexRow[]> {
  const service = await startBenchService('reindex', { REINDEX_DROP_GRACE_MS: '1000' });
  const { base } = service;
  const log = (msg: string) => console.error(`reindex bench: ${msg}`);
  try {
    const docs = generateDocuments(opts.documents, 2000, 11);
    const t0 = performance.now();
    for (let i = 0; i < docs.length; i += BULK) {
      await call(base, 'POST', '/documents/bulk', { collection: COLLECTION, documents: docs.slice(i, i + BULK).map((text) => ({ text })) });
    }
    await waitForIngestion(base);
    log(`${docs.length} documents ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const sentences = scifactSentences();
    const rand = rng(5);
    const query = () => sentences[Math.floor(rand() * sentences.length)].slice(0, 120);
    const measure = async (phase: string, keepGoing: (done: number) => Promise<boolean>) => {
      const latencies: number[] = [];
      let errors = 0;
      let empty = 0;
      while (await keepGoing(latencies.length + errors)) {
        const started = performance.now();
        try {
          const res = await call(base, 'POST', '/search', { query: query(), collection: COLLECTION, k: 8 });
          latencies.push(performance.now() - started);
          if (res.results.length === 0) empty++;
        } catch {
          errors++;
        }
      }
      return {
        phase,
        searches: latencies.length + errors,
        errors,
        'empty results': empty,
        'p50 ms': percentile(latencies, 50),
        'p95 ms': percentile(latencies, 95),
        'p99 ms': percentile(latencies, 99),
      };
    };

    const idle = await measure('before the reindex', async (n) => n < opts.queries);
    const started = performance.now();
    const { jobId } = await call(base, 'POST', '/reindex', { collection: COLLECTION, chunking: { chunkSize: 256, chunkOverlap: 32 } });
    let final: any;
    const during = await measure('during the rebuild and switch', async () => {
      final = await call(base, 'GET', `/reindex/${jobId}`);
      return !['completed', 'failed', 'cancelled'].includes(final.status);
    });
    const seconds = (performance.now() - started) / 1000;
    if (final.status !== 'completed') throw new Error(`reindex ended ${final.status}: ${JSON.stringify(final.error)}`);
    log(
      `reindex of ${final.progress.total} documents completed in ${seconds.toFixed(1)} s (${(final.progress.total / seconds).toFixed(0)} documents/s)`,
    );
    const after = await measure('after the switch', async (n) => n < opts.queries);
    return [idle, during, after];
  } finally {
    await service.stop();
  }
}
