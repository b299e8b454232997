import { runIngestBench } from './ingest';
import { runStoreBench } from './stores';
import { runGatewayBench } from './gateway';
import { runContextBench } from './context';
import { runReindexBench } from './reindex';
import { runTokenBench } from './tokens';
import { runNeighbourBench } from './neighbours';
import { printTable } from './table';
import { arg as cliArg } from './args';
import { runLoadBench } from './load';
import { runBulkAcceptBench, type BulkSetup } from './bulk-accept';
import { runParseBench } from './parse';
import { runFormatEndToEndBench } from './formats';

/**
 * `npm run bench [-- --only ingest|parse|formats|stores|gateway|context|reindex|tokens|neighbours|load|bulk] [--load-seconds 20] [--ask-rate 30] [--load-models all|default|separate] [--load-env K=V,K2=V2] [--load-scifact] [--load-phases closed,open,closed-ingest,open-ingest] [--cpu-prof DIR] [--bulk-rounds 3] [--bulk-setups alone,workers] [--flood-ms 10000] [--flood-connections 32] [--reindex-documents 5000] [--calls 500] [--store-mb 2] [--queries 200] [--mb 20] [--workers 1] [--concurrency 128] [--shapes all|large|small] [--context-turns 100,1000,10000] [--context-requests 200]`: prints a table per benchmark.
 * Targets are read from the table, never asserted.
 */
const arg = (name: string, def: string): string => cliArg(name) ?? def;

async function main() {
  // LanceDB's native promises do not hold Node's event loop open: while a step awaits only LanceDB, the process would
  // exit early (silently, code 0). A ref'd timer keeps it alive until main settles.
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    await runAll();
  } finally {
    clearInterval(keepAlive);
  }
}

async function runAll() {
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
  if (only === 'all' || only === 'gateway') {
    const rows = await runGatewayBench({ calls: Number(arg('calls', '500')) });
    printTable('Model gateway overhead per chat call (local Mistral double, real Redis)', rows);
  }
  if (only === 'all' || only === 'parse') {
    printTable('Parsing alone, per format (in this process, one file after another)', await runParseBench());
  }
  if (only === 'all' || only === 'formats') {
    printTable(
      'Each format end to end on npm start (all files of a set uploaded at once, until all are ready)',
      await runFormatEndToEndBench(),
    );
  }
  if (only === 'all' || only === 'stores') {
    const rows = await runStoreBench({ totalMB: Number(arg('store-mb', '2')), queries: Number(arg('queries', '200')) });
    printTable(
      "Vector stores alone: upsert (batches of 64) and search (k=8); the Qdrant double is not Qdrant: it shows the adapter's cost",
      rows,
    );
  }
  if (only === 'all' || only === 'context') {
    const rows = await runContextBench({
      turns: arg('context-turns', '100,1000,10000').split(',').map(Number),
      requests: Number(arg('context-requests', '200')),
    });
    printTable(
      'Session context building: POST /sessions/:id/context against session length (in-process, offline provider, LanceDB, default budget; target: 10,000-turn p95 < 25 ms. A session whose history fits the window skips recall, so 100 turns cost least)',
      rows,
    );
  }
  if (only === 'all' || only === 'tokens') {
    printTable(
      'Tokenising: tekken counts (exact, warm memo) against the pre-tokenizer pattern run alone, and keyword (BM25) terms',
      runTokenBench(),
    );
  }
  if (only === 'all' || only === 'neighbours') {
    const rows = await runNeighbourBench({
      floodMs: Number(arg('flood-ms', '10000')),
      connections: Number(arg('flood-connections', '32')),
      scenarios: [
        { name: 'no turns (FAIR_MAX_INFLIGHT=0)', env: { FAIR_MAX_INFLIGHT: '0' } },
        { name: 'defaults (npm start; FAIR_MAX_INFLIGHT=4)', env: {} },
        { name: 'FAIR_MAX_INFLIGHT=2', env: { FAIR_MAX_INFLIGHT: '2' } },
        { name: 'FAIR_MAX_INFLIGHT=8', env: { FAIR_MAX_INFLIGHT: '8' } },
        { name: 'KEY_RATE_LIMIT_RPS=100, burst 100', env: { KEY_RATE_LIMIT_RPS: '100', KEY_RATE_LIMIT_BURST: '100' } },
      ],
    });
    printTable(
      `Noisy neighbour: tenant A floods POST /search from ${arg('flood-connections', '32')} connections (its own process); tenant B searches 20 times a second (npm start: API and workers in one process, offline provider, LanceDB)`,
      rows,
    );
  }
  if (only === 'all' || only === 'load') {
    const env = Object.fromEntries(
      arg('load-env', '')
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const seconds = Number(arg('load-seconds', '20'));
    const result = await runLoadBench({
      seconds,
      askRate: Number(arg('ask-rate', '30')),
      env,
      models: arg('load-models', 'all'),
      scifactEndToEnd: process.argv.includes('--load-scifact'),
      phases: process.argv.includes('--load-phases')
        ? arg('load-phases', '')
            .split(',')
            .filter((p) => p !== '' && p !== 'none')
        : undefined,
      cpuProfDir: process.argv.includes('--cpu-prof') ? arg('cpu-prof', '') : undefined,
    });
    const envNote = Object.keys(env).length ? ` with ${arg('load-env', '')}` : '';
    printTable(
      `Under load${envNote} (loopback, offline provider, LanceDB, 300 SciFact abstracts to retrieve from; ${seconds} s a phase after a 2 s warm-up; latency from the scheduled send in the open loop; ingesting: bulk requests of 500 further abstracts, at most two unfinished)`,
      result.load,
    );
    printTable("Where an ask's time goes (mean per stage from Server-Timing, waiting included; stages may overlap)", result.stages);
    printTable(`SciFact (5,183 abstracts) through /documents/bulk in requests of 500, end to end${envNote}`, result.ingest);
  }
  if (only === 'all' || only === 'bulk') {
    const rows = await runBulkAcceptBench({
      perRequest: 500,
      rounds: Number(arg('bulk-rounds', '3')),
      setups: arg('bulk-setups', 'alone,workers').split(',') as BulkSetup[],
    });
    printTable(
      'Accepting SciFact through POST /documents/bulk in requests of 500, one after the other (API in its own process, offline provider; target: p50 < 100 ms)',
      rows,
    );
  }
  if (only === 'all' || only === 'reindex') {
    const rows = await runReindexBench({ documents: Number(arg('reindex-documents', '5000')), queries: Number(arg('queries', '200')) });
    printTable(
      'Search during a collection reindex (in-process, offline provider, LanceDB; hybrid, k=8, one client; rebuild with a new chunking)',
      rows,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
