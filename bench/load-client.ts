/**
 * The load generator of `npm run bench -- --only load`, run as a process of its own so that its work is not the
 * measured service's (on a 2-core machine it still shares the cores: its own CPU time is reported beside the figures).
 * Reads its plan as JSON on stdin; prints `measuring` when the warm-up ends, `done` when the measured window ends,
 * then one JSON result line.
 *
 * Closed loop: one client per session asks, one question after the other, and `searchClients` clients search. Open
 * loop: asks arrive at `askRate` per second and searches at `searchRate`, on a schedule that does not wait for
 * answers; an arriving ask goes to an idle session (never two in flight on one session: a chat user waits for the
 * answer), or waits in the client for one, and its latency counts from the scheduled time (so a slow service cannot
 * hide its queue by slowing the client down). With `ingest`, bulk requests of abstracts go in one after the other
 * for the whole phase, at most two requests' documents unfinished at a time, so the workers always have work but the
 * backlog stays bounded. Only requests started (closed) or scheduled (open) within the measured window count.
 *
 * HTTP with node:http and one keep-alive agent bounded to `connections` sockets: cheaper per request than fetch.
 */
import fs from 'node:fs';
import http from 'node:http';
import { percentile } from '../scripts/eval/retrieval-metrics';

export interface LoadPlan {
  base: string;
  warmupSeconds: number;
  seconds: number;
  mode: 'closed' | 'open';
  /** One asking client per session (closed loop); the sessions the open loop spreads asks over. */
  sessions: string[];
  searchClients: number;
  askRate: number;
  searchRate: number;
  /** A JSON file holding the questions (an array of strings), asked and searched in turn. */
  queriesFile: string;
  connections: number;
  /** A request still unanswered after this long is abandoned and counted as a `timeout` error. */
  timeoutMs: number;
  /** Documents to post in bulk during the phase (a JSON array of {title, text}), cycled into fresh collections. */
  ingest?: { file: string; perRequest: number; collectionPrefix: string };
}

export interface RouteResult {
  count: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  /** Non-2xx answers by status, network failures by code, over the measured window. */
  errors: Record<string, number>;
}

export interface LoadResult {
  ask: RouteResult;
  search: RouteResult;
  bulk: RouteResult & { documents: number; mb: number };
  /** Successful asks per session, warm-up included, to check that every answered question left its two turns. */
  asksPerSession: Record<string, number>;
  /** Sessions asked on whose ask failed or timed out (their turn count may legitimately differ). */
  uncertainSessions: string[];
  /** Mean per ask stage from the Server-Timing header, in ms, over the measured window's successful asks. */
  askStages: Record<string, number>;
  /** Open loop: asks that found every session busy and waited in the client. */
  askWaitedForSession: number;
  /** Collections the bulk requests went to. */
  collections: string[];
  /** The measured window in the wall clock (for the server's indexedAt). */
  window: { startMs: number; endMs: number };
  clientCpuPercent: number;
}

interface Answer {
  status: number;
  serverTiming?: string;
  body?: string;
}

const summary = (ms: number[], errors: Record<string, number>, seconds: number): RouteResult => ({
  count: ms.length,
  perSecond: ms.length / seconds,
  p50: percentile(ms, 50),
  p95: percentile(ms, 95),
  p99: percentile(ms, 99),
  errors,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(plan: LoadPlan): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: plan.connections });
  const request = (method: string, path: string, body?: string, wantBody = false): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      const req = http.request(plan.base + path, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        if (wantBody) res.on('data', (c: Buffer) => chunks.push(c));
        else res.resume();
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            serverTiming: res.headers['server-timing'] as string | undefined,
            body: wantBody ? Buffer.concat(chunks).toString() : undefined,
          }),
        );
      });
      req.on('error', reject);
      req.setTimeout(plan.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.end(body);
    });

  const queries = JSON.parse(fs.readFileSync(plan.queriesFile, 'utf8')) as string[];
  let q = 0;
  const nextQuery = () => queries[q++ % queries.length];

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const measureFrom = t0 + plan.warmupSeconds * 1000;
  const end = measureFrom + plan.seconds * 1000;
  const window = { startMs: Date.now() + plan.warmupSeconds * 1000, endMs: 0 };
  const measured = (since: number) => since >= measureFrom && since < end;
  setTimeout(() => process.stdout.write('measuring\n'), Math.max(0, measureFrom - performance.now()));
  const endTimer = setTimeout(() => {
    window.endMs = Date.now();
    process.stdout.write('done\n');
  }, end - performance.now());

  const lat = { ask: [] as number[], search: [] as number[], bulk: [] as number[] };
  const errors = { ask: {} as Record<string, number>, search: {} as Record<string, number>, bulk: {} as Record<string, number> };
  const countError = (route: keyof typeof errors, key: string) => (errors[route][key] = (errors[route][key] ?? 0) + 1);
  const asksPerSession: Record<string, number> = {};
  const uncertain = new Set<string>();
  const stageSums: Record<string, number> = {};
  let stageAsks = 0;

  /** One POST; latency from `since` (the scheduled time in the open loop). */
  const call = async (
    route: keyof typeof lat,
    path: string,
    body: string,
    since: number,
    wantBody = false,
  ): Promise<Answer | undefined> => {
    try {
      const res = await request('POST', path, body, wantBody);
      const ok = res.status >= 200 && res.status < 300;
      if (measured(since)) {
        if (ok) lat[route].push(performance.now() - since);
        else countError(route, String(res.status));
      }
      return ok ? res : undefined;
    } catch (err) {
      if (measured(since)) countError(route, String((err as NodeJS.ErrnoException).code ?? (err as Error).message));
      return undefined;
    }
  };
  const ask = async (session: string, since = performance.now()) => {
    const res = await call('ask', `/sessions/${encodeURIComponent(session)}/ask`, JSON.stringify({ question: nextQuery() }), since);
    if (!res) {
      uncertain.add(session);
      return;
    }
    asksPerSession[session] = (asksPerSession[session] ?? 0) + 1;
    if (measured(since) && res.serverTiming) {
      stageAsks++;
      for (const part of res.serverTiming.split(',')) {
        const [stage, dur] = part.trim().split(';dur=');
        if (dur !== undefined) stageSums[stage] = (stageSums[stage] ?? 0) + Number(dur);
      }
    }
  };
  const search = (since = performance.now()) => call('search', '/search', JSON.stringify({ query: nextQuery() }), since);

  const work: Promise<unknown>[] = [];
  let askWaitedForSession = 0;
  if (plan.mode === 'closed') {
    for (const session of plan.sessions)
      work.push(
        (async () => {
          while (performance.now() < end) await ask(session);
        })(),
      );
    for (let i = 0; i < plan.searchClients; i++)
      work.push(
        (async () => {
          while (performance.now() < end) await search();
        })(),
      );
  } else {
    /** Calls `arrive(at)` at each scheduled time until the end, catching up at once if the timer was late. */
    const schedule = async (rate: number, arrive: (at: number) => void) => {
      for (let i = 0; ; i++) {
        const at = t0 + (i * 1000) / rate;
        if (at >= end) return;
        const wait = at - performance.now();
        if (wait > 0) await sleep(wait);
        arrive(at);
      }
    };
    const idle = [...plan.sessions];
    const waiting: number[] = []; // scheduled times of asks waiting for a free session
    const inflight = new Set<Promise<void>>();
    const send = (session: string, at: number) => {
      const p = ask(session, at).then(() => {
        inflight.delete(p);
        const next = waiting.shift();
        if (next !== undefined) send(session, next);
        else idle.push(session);
      });
      inflight.add(p);
    };
    work.push(
      (async () => {
        await schedule(plan.askRate, (at) => {
          const session = idle.shift();
          if (session !== undefined) return send(session, at);
          if (measured(at)) askWaitedForSession++;
          waiting.push(at);
        });
        // Past the end, asks still waiting for a session get a few seconds; those never sent count as errors.
        const giveUp = performance.now() + 5_000;
        while (waiting.length && performance.now() < giveUp) await sleep(50);
        for (const at of waiting.splice(0)) if (measured(at)) countError('ask', 'unsent');
        while (inflight.size) await Promise.all([...inflight]);
      })(),
    );
    if (plan.searchRate > 0) {
      const searches: Promise<unknown>[] = [];
      work.push(schedule(plan.searchRate, (at) => searches.push(search(at))).then(() => Promise.all(searches)));
    }
  }

  const collections: string[] = [];
  let ingested = { documents: 0, bytes: 0 };
  if (plan.ingest) {
    const ingest = plan.ingest;
    const docs = JSON.parse(fs.readFileSync(ingest.file, 'utf8')) as Array<{ title: string; text: string }>;
    /** Waits until the document is ready or failed (or the phase ends). */
    const settled = async (id: string) => {
      while (performance.now() < end) {
        try {
          const res = await request('GET', `/documents/${id}`, undefined, true);
          const status = res.status === 200 ? (JSON.parse(res.body!) as { status: string }).status : 'gone';
          if (status !== 'queued' && status !== 'processing') return;
        } catch {
          /* the service is struggling: look again */
        }
        await sleep(250);
      }
    };
    work.push(
      (async () => {
        const lastIds: string[] = [];
        let i = 0;
        let cycle = 0;
        while (performance.now() < end) {
          // The same abstracts again would be duplicates in a collection that has them: each pass gets its own.
          if (i >= docs.length) {
            i = 0;
            cycle++;
          }
          const collection = `${ingest.collectionPrefix}-${cycle}`;
          if (!collections.includes(collection)) collections.push(collection);
          if (lastIds.length >= 2) await settled(lastIds[lastIds.length - 2]);
          if (performance.now() >= end) break;
          const batch = docs.slice(i, i + ingest.perRequest);
          const since = performance.now();
          const res = await call('bulk', '/documents/bulk', JSON.stringify({ collection, documents: batch }), since, true);
          if (!res) {
            await sleep(500); // refused or failed: the same batch again
            continue;
          }
          i += ingest.perRequest;
          const ids = (JSON.parse(res.body!) as { documents: Array<{ id: string }> }).documents.map((d) => d.id);
          lastIds.push(ids[ids.length - 1]);
          if (measured(since))
            ingested = {
              documents: ingested.documents + batch.length,
              bytes: ingested.bytes + batch.reduce((n, d) => n + Buffer.byteLength(d.text), 0),
            };
        }
      })(),
    );
  }
  await Promise.all(work);
  clearTimeout(endTimer);
  if (!window.endMs) window.endMs = Date.now();
  agent.destroy();
  const cpu = process.cpuUsage(cpu0);
  const totalSeconds = (performance.now() - t0) / 1000;
  return {
    ask: summary(lat.ask, errors.ask, plan.seconds),
    search: summary(lat.search, errors.search, plan.seconds),
    bulk: { ...summary(lat.bulk, errors.bulk, plan.seconds), documents: ingested.documents, mb: ingested.bytes / 1e6 },
    asksPerSession,
    uncertainSessions: [...uncertain],
    askStages: Object.fromEntries(Object.entries(stageSums).map(([stage, ms]) => [stage, ms / (stageAsks || 1)])),
    askWaitedForSession,
    collections,
    window,
    clientCpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / totalSeconds,
  };
}

if (require.main === module) {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => (input += d));
  process.stdin.on('end', () => {
    run(JSON.parse(input) as LoadPlan).then(
      (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
      (err) => {
        process.stderr.write(`load client: ${(err as Error).stack}\n`);
        process.exit(1);
      },
    );
  });
}
