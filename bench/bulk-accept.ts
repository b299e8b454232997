import fs from 'node:fs';
import path from 'node:path';
import { SHARED_DATA } from './corpus';
import { deployService } from './processes';

export interface BulkAcceptOptions {
  /** Documents per request (the service accepts up to MAX_BULK_DOCUMENTS). */
  perRequest: number;
  /** Times SciFact is sent whole, each time into a fresh collection (new content every request): more samples. */
  rounds: number;
  /** Which process models to measure (see SETUPS). */
  setups: BulkSetup[];
}

export type BulkSetup = keyof typeof SETUPS;

/**
 * The API as `npm run dev` runs it, in a process of its own: alone (RUN_WORKERS=off, so only accepting is measured), and
 * with the workers it forks by default ingesting what it accepts meanwhile (on a 2-core machine they share the CPU).
 */
const SETUPS = {
  alone: { name: 'API alone (RUN_WORKERS=off)', env: { RUN_WORKERS: 'off' } },
  workers: { name: 'npm start defaults (workers ingesting meanwhile)', env: {} },
} as const;

interface Doc {
  title: string;
  text: string;
}

/**
 * How long `POST /documents/bulk` takes to accept SciFact's abstracts (5,183, about 8 MB) in requests of
 * `perRequest`, sent one after the other from this process to the API in its own, on a throwaway Redis and temp
 * DATA_DIR. Bodies are serialised before the clock starts; a request's time ends when its answer is read. One request
 * of other texts first warms the process up (not counted). Also the mean of each stage the API reports in Server-Timing.
 */
export async function runBulkAcceptBench(opts: BulkAcceptOptions): Promise<Array<Record<string, string | number>>> {
  const unknown = opts.setups.filter((s) => !(s in SETUPS));
  if (unknown.length > 0) throw new Error(`unknown bulk setup ${unknown.join(', ')}: use ${Object.keys(SETUPS).join(', ')}`);
  const docs = scifactDocs();
  const rows: Array<Record<string, string | number>> = [];
  for (const key of opts.setups) {
    const setup = SETUPS[key];
    const service = await deployService('bulk', setup.env);
    try {
      await postBulk(
        service.base,
        'warm-up',
        docs.slice(0, opts.perRequest).map((d) => ({ ...d, text: `${d.text} (warm-up)` })),
      );
      const ms: number[] = [];
      const stages = new Map<string, number[]>();
      for (let round = 0; round < opts.rounds; round++) {
        for (let i = 0; i < docs.length; i += opts.perRequest) {
          const answer = await postBulk(service.base, `scifact-${round}`, docs.slice(i, i + opts.perRequest));
          ms.push(answer.ms);
          for (const [stage, dur] of answer.stages) stages.set(stage, [...(stages.get(stage) ?? []), dur]);
        }
      }
      rows.push({
        setup: setup.name,
        requests: ms.length,
        'documents per request': opts.perRequest,
        'p50 ms': percentile(ms, 0.5),
        'p95 ms': percentile(ms, 0.95),
        'max ms': Math.max(...ms),
        'server stages, mean ms': [...stages].map(([stage, durs]) => `${stage} ${mean(durs).toFixed(1)}`).join(', '),
      });
    } finally {
      await service.stop();
    }
  }
  return rows;
}

function scifactDocs(): Doc[] {
  const lines = fs.readFileSync(path.join(SHARED_DATA, 'scifact/corpus.jsonl'), 'utf8').split('\n').filter(Boolean);
  return lines.map((l) => JSON.parse(l) as Doc).map((d) => ({ title: d.title, text: d.text }));
}

/** One bulk request: its time from send to the whole answer read, and the API's Server-Timing stages. */
async function postBulk(base: string, collection: string, documents: Doc[]): Promise<{ ms: number; stages: Map<string, number> }> {
  const body = JSON.stringify({ collection, documents });
  const started = performance.now();
  const res = await fetch(`${base}/documents/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 202) throw new Error(`POST /documents/bulk answered ${res.status}: ${text.slice(0, 500)}`);
  return { ms, stages: parseServerTiming(res.headers.get('server-timing') ?? '') };
}

function parseServerTiming(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.split(',')) {
    const match = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
    if (match) out.set(match[1], Number(match[2]));
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}
