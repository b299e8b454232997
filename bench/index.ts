import { runIngestBench } from './ingest';
import { printTable } from './table';

/**
 * `npm run bench [-- --only ingest] [--mb 20] [--workers 1] [--concurrency 128] [--shapes all|large|small]`: prints a table per benchmark.
 * Targets are read from the table, never asserted.
 */
function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

async function main() {
  const only = arg('only', 'all');
  if (only === 'all' || only === 'ingest') {
    const rows = await runIngestBench({
      totalMB: Number(arg('mb', '20')),
      workers: Number(arg('workers', '1')),
      workerConcurrency: Number(arg('concurrency', '128')),
      shapes: arg('shapes', 'all'),
    });
    printTable('Ingestion, end to end (offline embedder, LanceDB, 512/64-token chunks)', rows);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
