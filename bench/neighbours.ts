import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { percentile } from '../scripts/eval/retrieval-metrics';
import { freePort, startRedis } from '../test/support/redis-server';
import { startProcess, stopProcess, waitForHttp } from './processes';

/**
 * Noisy neighbour, as users meet it: the service runs as `npm start` does (API and workers in one process), tenant A
 * floods `POST /search` from N connections (32 by default) in a process of its own, and tenant B searches at a steady 20 per second
 * from this process. Each scenario reports B's latency alone and during the flood, and what happened to A's requests.
 */
export interface NeighbourScenario {
  name: string;
  env: Record<string, string>;
}

const FLOOD_CLIENT = `
const [base, key, ms, connections] = process.argv.slice(1);
const counts = {};
const end = Date.now() + Number(ms);
Promise.all(Array.from({ length: Number(connections) }, async () => {
  while (Date.now() < end) {
    const res = await fetch(base + '/search', { method: 'POST', headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' }, body: '{"query":"falcons stoop"}' });
    await res.arrayBuffer();
    counts[res.status] = (counts[res.status] || 0) + 1;
  }
})).then(() => console.log(JSON.stringify(counts)));
`;

function flood(base: string, key: string, ms: number, connections: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', FLOOD_CLIENT, base, key, String(ms), String(connections)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => resolve(JSON.parse(out || '{}')));
  });
}

async function post(base: string, key: string, p: string, body: unknown) {
  const res = await fetch(base + p, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { id: string } };
}

/** B's searches at a steady pace: latencies of those that succeeded, and how many did not. */
async function paced(base: string, n: number, everyMs: number): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await post(base, 'kb', '/search', { query: 'otters mussels' });
    const took = performance.now() - started;
    if (res.status === 200) ms.push(took);
    else failed++;
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - took)));
  }
  return { ms, failed };
}

async function waitReady(base: string, key: string, id: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${base}/documents/${id}`, { headers: { authorization: `Bearer ${key}` } });
    const doc = (await res.json()) as { status: string };
    if (doc.status === 'ready') return;
    if (Date.now() > deadline) throw new Error(`document ${id} never became ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runNeighbourBench(opts: {
  scenarios: NeighbourScenario[];
  floodMs: number;
  connections: number;
}): Promise<Array<Record<string, string | number>>> {
  const rows: Array<Record<string, string | number>> = [];
  for (const scenario of opts.scenarios) {
    const redis = await startRedis();
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-bench-neighbours-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = startProcess('src/server.ts', {
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      API_KEYS: 'ka=alpha,kb=beta',
      ...scenario.env,
    });
    try {
      await waitForHttp(`${base}/healthz`);
      for (const [key, text] of [
        ['ka', 'Falcons stoop on pigeons over the city.'],
        ['kb', 'Otters crack mussels on their bellies.'],
      ]) {
        const doc = await post(base, key, '/documents', { text });
        await waitReady(base, key, doc.body.id);
      }
      const pace = 50;
      const n = Math.floor(opts.floodMs / pace / 2);
      const quiet = await paced(base, n, pace);
      const flooding = flood(base, 'ka', opts.floodMs, opts.connections);
      // Let the flood reach full strength before B measures.
      await new Promise((r) => setTimeout(r, 1000));
      const busy = await paced(base, n, pace);
      const counts = await flooding;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const f = (xs: number[], p: number) => (xs.length ? percentile(xs, p).toFixed(1) : '-');
      rows.push({
        scenario: scenario.name,
        'B alone p50 / p95 ms': `${f(quiet.ms, 50)} / ${f(quiet.ms, 95)}`,
        'B during flood p50 / p95 ms': `${f(busy.ms, 50)} / ${f(busy.ms, 95)}`,
        'B failed': quiet.failed + busy.failed,
        'A requests/s': Math.round(total / (opts.floodMs / 1000)),
        'A served/s': Math.round((counts['200'] ?? 0) / (opts.floodMs / 1000)),
        'A refused (429)': counts['429'] ?? 0,
      });
    } finally {
      await stopProcess(server);
      await redis.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}
