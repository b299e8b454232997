import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { ReindexJob } from '../../client';
import { clientOf, positiveInt } from '../client-of';
import { err, out, printJson } from '../output';

const FINAL = new Set(['completed', 'failed', 'cancelled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ReindexOptions {
  collection?: string;
  embeddingModel?: string;
  chunkSize?: number;
  chunkOverlap?: number;
  wait: boolean;
  json?: boolean;
  pollMs: number;
}

async function reindex(this: Command, opts: ReindexOptions): Promise<void> {
  if ((opts.chunkSize === undefined) !== (opts.chunkOverlap === undefined)) {
    throw new Error('--chunk-size and --chunk-overlap go together');
  }
  const client = clientOf(this);
  let job: ReindexJob = await client.reindex.start({
    ...(opts.collection ? { collection: opts.collection } : {}),
    ...(opts.embeddingModel ? { embeddingModel: opts.embeddingModel } : {}),
    ...(opts.chunkSize !== undefined ? { chunking: { chunkSize: opts.chunkSize, chunkOverlap: opts.chunkOverlap! } } : {}),
  });
  if (!opts.json) out(`Reindex ${job.jobId} of collection ${job.collection} started.`);
  if (opts.wait) {
    // On a terminal a bar (stderr); elsewhere cli-progress draws nothing and the outcome line below says it all.
    const bar = new SingleBar({ stream: process.stderr, format: ' {bar} {value}/{total} documents | {status}' }, Presets.shades_classic);
    bar.start(Math.max(job.progress.total, 1), job.progress.done, { status: job.status });
    try {
      while (!FINAL.has(job.status)) {
        await sleep(opts.pollMs);
        job = await client.reindex.get(job.jobId);
        bar.setTotal(Math.max(job.progress.total, 1));
        bar.update(job.progress.done, { status: job.status });
      }
    } finally {
      bar.stop();
    }
  }
  if (opts.json) return printJson(job);
  out(`Reindex ${job.jobId}: ${job.status}, ${job.progress.done} of ${job.progress.total} documents.`);
  if (job.status === 'failed' || job.status === 'cancelled') {
    if (job.error) err(`ragmem: ${job.error.code}: ${job.error.message}`);
    process.exitCode = 1;
  }
}

export function reindexCommand(): Command {
  return new Command('reindex')
    .description('rebuild a collection’s index (new chunking or embedding model) without downtime, and follow it')
    .option('-c, --collection <name>', 'the collection (the default one otherwise)')
    .option('--embedding-model <name>', 'embed with this model')
    .option('--chunk-size <tokens>', 'chunk size in tokens', positiveInt('--chunk-size'))
    .option('--chunk-overlap <tokens>', 'chunk overlap in tokens', (v: string) => Number(v))
    .option('--no-wait', 'return once the job is started')
    .option('--json', 'print the job as JSON')
    .option('--poll-ms <ms>', 'how often to read the job', positiveInt('--poll-ms'), 250)
    .action(reindex);
}
