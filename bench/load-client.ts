/**
 * The load generator of `npm run bench -- --only load`, run as a process of its own so that its work is not the
 * measured service's (on a 2-core machine it still shares the cores: its own CPU time is reported beside the figures).
 * Reads its plan as JSON from argv, prints one JSON result line.
 *
 * Closed loop: `askClients` clients each ask on a session of their own, one question after the other, and
 * `searchClients` clients search; open loop: asks arrive at `askRate` per second and searches at `searchRate`, on a
 * schedule that does not wait for answers, and latency counts from the scheduled time (so a slow service cannot hide
 * its queue by slowing the client down). With `ingest`, bulk requests of SciFact abstracts are posted one after the
 * other for the whole phase.
 */
import fs from 'node:fs';
import { percentile } from '../scripts/eval/retrieval-metrics';

export interface LoadPlan {
  base: string;
  seconds: number;
  sessionPrefix: string;
  mode: 'closed' | 'open';
  askClients: number;
  searchClients: number;
  askRate: number;
  searchRate: number;
  queries: string[];
  /** Bulk request bodies to post one after the other during the phase (cycled), or none. */
  ingest?: { file: string; perRequest: number; collection: string };
}

export interface RouteResult {
  count: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  errors: Record<string, number>;
}

export interface LoadResult {
  ask: RouteResult;
  search: RouteResult;
  bulk: RouteResult & { documents: number; mb: number };
  /** Successful asks per session, to check that every answered question left its two turns. */
  asksPerSession: Record<string, number>;
  /** Mean per ask stage from the Server-Timing header, in ms. */
  askStages: Record<string, number>;
  clientCpuPercent: number;
}

const summary = (ms: number[], errors: Record<string, number>, seconds: number): RouteResult => ({
  count: ms.length,
  perSecond: ms.length / seconds,
  p50: ms.length ? percentile(ms, 50) : NaN,
  p95: ms.length ? percentile(ms, 95) : NaN,
  p99: ms.length ? percentile(ms, 99) : NaN,
  errors,
});

async function run(plan: LoadPlan): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = Date.now() + plan.seconds * 1000;
  const lat = { ask: [] as number[], search: [] as number[], bulk: [] as number[] };
  const errors = { ask: {} as Record<string, number>, search: {} as Record<string, number>, bulk: {} as Record<string, number> };
  const asksPerSession: Record<string, number> = {};
  const stageSums: Record<string, number> = {};
  let ingested = { documents: 0, bytes: 0 };
  let q = 0;
  const nextQuery = () => plan.queries[q++ % plan.queries.length];

  const call = async (route: 'ask' | 'search' | 'bulk', path: string, body: string, since = performance.now()) => {
    try {
      const res = await fetch(plan.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (res.ok) {
        lat[route].push(performance.now() - since);
        if (route === 'ask') {
          for (const part of (res.headers.get('server-timing') ?? '').split(', ')) {
            const [stage, dur] = part.split(';dur=');
            if (dur !== undefined) stageSums[stage] = (stageSums[stage] ?? 0) + Number(dur);
          }
        }
      } else errors[route][res.status] = (errors[route][res.status] ?? 0) + 1;
      return res.ok;
    } catch (err) {
      const key = (err as Error).name;
      errors[route][key] = (errors[route][key] ?? 0) + 1;
      return false;
    }
  };
  const ask = async (session: string, since?: number) => {
    if (await call('ask', `/sessions/${session}/ask`, JSON.stringify({ question: nextQuery() }), since)) asksPerSession[session] = (asksPerSession[session] ?? 0) + 1;
  };
  const search = (since?: number) => call('search', '/search', JSON.stringify({ query: nextQuery() }), since);
  const sessions = Array.from({ length: plan.askClients }, (_, i) => `${plan.sessionPrefix}-${i}`);

  const work: Promise<unknown>[] = [];
  if (plan.mode === 'closed') {
    for (const session of sessions) work.push((async () => { while (Date.now() < end) await ask(session); })());
    for (let i = 0; i < plan.searchClients; i++) work.push((async () => { while (Date.now() < end) await search(); })());
  } else {
    // Each request is sent at its scheduled time whatever the earlier ones are doing.
    const schedule = (rate: number, send: (i: number, at: number) => Promise<unknown>) =>
      (async () => {
        const t0 = performance.now();
        const inflight: Promise<unknown>[] = [];
        for (let i = 0; ; i++) {
          const at = t0 + (i * 1000) / rate;
          if (Date.now() + (at - performance.now()) >= end) break;
          const wait = at - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          inflight.push(send(i, at));
        }
        await Promise.all(inflight);
      })();
    if (plan.askRate > 0) work.push(schedule(plan.askRate, (i, at) => ask(sessions[i % sessions.length], at)));
    if (plan.searchRate > 0) work.push(schedule(plan.searchRate, (_, at) => search(at)));
  }
  if (plan.ingest) {
    const docs = JSON.parse(fs.readFileSync(plan.ingest.file, 'utf8')) as Array<{ title: string; text: string }>;
    const perRequest = plan.ingest.perRequest;
    work.push(
      (async () => {
        for (let i = 0; Date.now() < end && i < docs.length; i += perRequest) {
          const batch = docs.slice(i, i + perRequest);
          if (await call('bulk', '/documents/bulk', JSON.stringify({ collection: plan.ingest!.collection, documents: batch }))) {
            ingested = { documents: ingested.documents + batch.length, bytes: ingested.bytes + batch.reduce((n, d) => n + Buffer.byteLength(d.text), 0) };
          }
        }
      })(),
    );
  }
  await Promise.all(work);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const asks = lat.ask.length || 1;
  return {
    ask: summary(lat.ask, errors.ask, seconds),
    search: summary(lat.search, errors.search, seconds),
    bulk: { ...summary(lat.bulk, errors.bulk, seconds), documents: ingested.documents, mb: ingested.bytes / 1e6 },
    asksPerSession,
    askStages: Object.fromEntries(Object.entries(stageSums).map(([stage, ms]) => [stage, ms / asks])),
    clientCpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / seconds,
  };
}

if (require.main === module) {
  run(JSON.parse(process.argv[2]) as LoadPlan).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err) => {
      process.stderr.write(`load client: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
