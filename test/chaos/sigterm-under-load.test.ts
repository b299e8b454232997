import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generatedText } from '../support/fixtures';
import { seededRandom } from '../support/chaos-random';
import { freePort, startRedis, type ThrowawayRedis } from '../support/redis-server';
import { exitOf, spawnEntry } from '../support/spawn-entry';
import { startTestServer, type TestServer } from '../support/test-server';
import { startWorkers } from '../../workers/register-workers';
import { Chunker } from '../../src/core/chunker';
import { parseSource } from '../../src/ingest/parsers';
import { ingestJobId } from '../../src/queues/ingest-queue';

const CLIENTS = 8;
/** Load runs this long before SIGTERM, and on until the process is gone. */
const LOAD_BEFORE_SIGTERM_MS = 3_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const WORKER_CLOSE_TIMEOUT_MS = 3_000;
/** Past its deadlines a stopping process still closes Redis, LanceDB and the parse pool, on a machine shared by others. */
const EXIT_MARGIN_MS = 10_000;
/** No request may hang: it is answered or its connection fails well within this. */
const REQUEST_BOUND_MS = 30_000;

let redis: ThrowawayRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** One service deployment: the processes a scenario starts share these (as replicas and restarts would). */
interface Deployment {
  env: Record<string, string>;
  dataDir: string;
  url: string;
  children: ChildProcess[];
  output: string[];
  /** Lines where a stopping API said it cut requests at its deadline (src/infra/http-drain.ts). */
  cut: string[];
}

async function deployment(extra: Record<string, string>): Promise<Deployment> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-chaos-sigterm-'));
  const port = await freePort();
  const env = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: `c${randomBytes(5).toString('hex')}`,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    WORKER_CLOSE_TIMEOUT_MS: String(WORKER_CLOSE_TIMEOUT_MS),
    JOB_LOCK_MS: '2000',
    JOB_BACKOFF_MS: '200',
    WORKER_CONCURRENCY: '2',
    EMBED_BATCH_SIZE: '4',
    ...extra,
  };
  return { env, dataDir, url: `http://127.0.0.1:${port}`, children: [], output: [], cut: [] };
}

/** Starts an entry point of `d`, keeping the tail of what it logs for a failure message. */
function start(d: Deployment, entry: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawnEntry(entry, { ...d.env, ...env }, ['ignore', 'pipe', 'pipe']);
  const keep = (chunk: Buffer) => {
    if (chunk.includes('requests still running were cut')) d.cut.push(chunk.toString());
    d.output.push(`[${path.basename(entry)} ${child.pid}] ${chunk.toString().trimEnd()}`);
    if (d.output.length > 40) d.output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  d.children.push(child);
  return child;
}

async function waitUntilServing(d: Deployment, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited ${child.exitCode} at startup:\n${d.output.join('\n')}`);
    const ok = await fetch(`${d.url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the API did not start within 120 s:\n${d.output.join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function cleanup(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  for (const c of d.children) c.kill('SIGKILL');
  await Promise.all(d.children.map(exitOf));
  await fs.rm(d.dataDir, { recursive: true, force: true });
}

type Outcome = { kind: 'answered'; status: number; body: any; after: boolean } | { kind: 'connection'; code: string; after: boolean };

interface LoadResult {
  uploads: Array<{ text: string; outcome: Outcome }>;
  asks: Array<{ sessionId: string; question: string; outcome: Outcome }>;
  inFlightAtSigterm: number;
}

/**
 * CLIENTS clients, each with its own session, send uploads and asks one after another (as a chat client would) until
 * `gone` resolves: the process has exited and nothing can answer any more.
 */
async function runLoad(
  d: Deployment,
  label: string,
  gone: Promise<unknown>,
  sigtermSent: () => boolean,
  onStarted: (inFlight: () => number) => void,
): Promise<LoadResult> {
  const rnd = seededRandom(label);
  const result: LoadResult = { uploads: [], asks: [], inFlightAtSigterm: 0 };
  let over = false;
  void gone.then(() => {
    over = true;
  });
  let inFlight = 0;
  onStarted(() => inFlight);
  const send = async (method: string, p: string, body: unknown): Promise<Outcome> => {
    inFlight++;
    try {
      const res = await fetch(d.url + p, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_BOUND_MS),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* keep the text */
      }
      return { kind: 'answered', status: res.status, body: parsed, after: sigtermSent() };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new Error(`${method} ${p} hung past ${REQUEST_BOUND_MS} ms`, { cause: err });
      // undici: "fetch failed" with the socket's error as the cause (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET).
      return { kind: 'connection', code: e.cause?.code ?? e.cause?.message ?? e.message, after: sigtermSent() };
    } finally {
      inFlight--;
    }
  };
  const sessions: string[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const res = await fetch(`${d.url}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(201);
    sessions.push(((await res.json()) as { id: string }).id);
  }
  let n = 0;
  await Promise.all(
    sessions.map(async (sessionId) => {
      while (!over) {
        const i = n++;
        if (rnd.next() < 0.6) {
          const text = generatedText(50_000 + i, rnd.between(1000, 6000));
          result.uploads.push({ text, outcome: await send('POST', '/documents', { text, title: `load ${i}` }) });
        } else {
          const question = `question ${i} about rivers and ledgers?`;
          result.asks.push({ sessionId, question, outcome: await send('POST', `/sessions/${sessionId}/ask`, { question }) });
        }
        // Pacing once the port refuses: a refused connect returns at once, and the client retries as a real one would.
        const last = [...result.uploads, ...result.asks].at(-1)?.outcome;
        if (last?.kind === 'connection') await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  return result;
}

/** The outcomes a client may see from a stopping service: an answer that is 2xx or 503, or a refused/closed connection. */
function checkOutcomes(load: LoadResult): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const { outcome } of [...load.uploads, ...load.asks]) {
    const key = `${outcome.kind === 'answered' ? String(outcome.status) : outcome.code}${outcome.after ? ' after SIGTERM' : ''}`;
    tally[key] = (tally[key] ?? 0) + 1;
    if (outcome.kind === 'answered' && outcome.status !== 503) {
      expect({ status: outcome.status, body: outcome.status >= 300 ? outcome.body : 'ok' }).toEqual({
        status: expect.any(Number),
        body: 'ok',
      });
    }
    if (outcome.kind === 'answered' && outcome.status === 503) expect(outcome.body?.error?.code).toEqual(expect.any(String));
  }
  return tally;
}

/**
 * A restarted API on the same Redis, prefix and data directory: first without workers, to count the jobs the stopped
 * processes left (proof the restart had work to do), then with workers, until every accepted document is done.
 */
async function checkDurable(
  d: Deployment,
  load: LoadResult,
): Promise<{ pending: number; chunks: number; turns: number; orphanTurns: number; msAfterRestart: number }> {
  const server: TestServer = await startTestServer({
    REDIS_URL: redis.url,
    REDIS_PREFIX: d.env.REDIS_PREFIX,
    DATA_DIR: d.dataDir,
    RUN_WORKERS: 'off',
    JOB_LOCK_MS: '2000',
  });
  let workers: ReturnType<typeof startWorkers> | undefined;
  try {
    const restartedAt = Date.now();
    const accepted = load.uploads.filter((u) => u.outcome.kind === 'answered' && u.outcome.status < 300);
    const ids = accepted.map((u) => (u.outcome as { body: { id: string } }).body.id);
    let pending = 0;
    for (const id of ids) {
      const res = await server.request('GET', `/documents/${id}`);
      expect(res.status).toBe(200);
      if (res.body.status !== 'ready') pending++;
    }
    workers = startWorkers(server.services);
    const docs = new Map<string, any>();
    const deadline = Date.now() + 150_000;
    while (docs.size < ids.length) {
      for (const id of ids) {
        if (docs.has(id)) continue;
        const res = await server.request('GET', `/documents/${id}`);
        if (res.body.status === 'ready' || res.body.status === 'failed') docs.set(id, res.body);
      }
      if (docs.size < ids.length && Date.now() > deadline)
        throw new Error(
          `${ids.length - docs.size} accepted documents still unfinished after the restart: ${await describeUnfinished(
            server,
            ids.filter((id) => !docs.has(id)),
          )}`,
        );
      if (docs.size < ids.length) await new Promise((r) => setTimeout(r, 250));
    }
    const msAfterRestart = Date.now() - restartedAt;
    const chunker = new Chunker({ tokenCounter: server.services.tokenCounter, ...server.services.config.chunking });
    let chunks = 0;
    for (const [i, id] of ids.entries()) {
      const doc = docs.get(id);
      expect({ id, status: doc.status, error: doc.error }).toEqual({ id, status: 'ready', error: undefined });
      const expected = chunker.chunk(await parseSource(Buffer.from(accepted[i].text, 'utf8'), 'text')).length;
      expect(doc.chunkCount).toBe(expected);
      expect(await server.services.vectors.count('default', { documentId: id })).toBe(expected);
      chunks += expected;
    }

    // Each answered ask's turn is stored exactly once; a turn whose answer was cut off may be stored too (never twice).
    let turns = 0;
    let orphanTurns = 0;
    for (const sessionId of new Set(load.asks.map((a) => a.sessionId))) {
      const res = await server.request('GET', `/sessions/${sessionId}/messages?limit=500`);
      expect(res.status).toBe(200);
      const messages = res.body.messages as Array<{ id: string; seq: number; role: string; content: string }>;
      expect(messages.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: messages.length }, (_, i) => i + 1));
      for (const ask of load.asks.filter((a) => a.sessionId === sessionId)) {
        const asked = messages.filter((m) => m.role === 'user' && m.content === ask.question);
        expect(asked.length).toBeLessThanOrEqual(1);
        if (ask.outcome.kind === 'answered' && ask.outcome.status === 200) {
          expect({ question: ask.question, stored: asked.length }).toEqual({ question: ask.question, stored: 1 });
          expect(messages.filter((m) => m.id === (ask.outcome as { body: { messageId: string } }).body.messageId)).toHaveLength(1);
          turns++;
        } else if (asked.length === 1) orphanTurns++;
      }
    }
    return { pending, chunks, turns, orphanTurns, msAfterRestart };
  } finally {
    await workers?.close();
    await server.cleanup();
  }
}

/** For a failure message: each unfinished document's state and its ingest job's. */
async function describeUnfinished(server: TestServer, ids: string[]): Promise<string> {
  const lines: string[] = [];
  for (const id of ids.slice(0, 5)) {
    const doc = (await server.request('GET', `/documents/${id}`)).body;
    const job = await server.services.producer.queue.getJob(ingestJobId(id, doc.version));
    lines.push(
      `${id} ${doc.status} v${doc.version}: job ${job ? `${await job.getState()} attempts ${job.attemptsMade} stalls ${job.stalledCounter} ${job.failedReason ?? ''}` : 'missing'}`,
    );
  }
  return lines.join('; ');
}

/** SIGTERMs `child` and answers how long it took to exit, and with what code. */
async function terminate(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const sentAt = Date.now();
  child.kill('SIGTERM');
  const code = await exitOf(child);
  return { code, ms: Date.now() - sentAt };
}

describe('When the API process (with inline workers) gets SIGTERM while 8 clients upload documents and ask', () => {
  let d: Deployment | undefined;
  afterAll(() => cleanup(d));

  it('then it exits 0 within its shutdown timeout, every request answered 2xx is durable (documents end ready, turns stored once), and every other one got a 503 or a closed connection, never a 500', async () => {
    d = await deployment({ RUN_WORKERS: 'inline' });
    const api = start(d, 'src/server.ts');
    await waitUntilServing(d, api);

    let sigterm = false;
    let inFlight = () => 0;
    const exited = exitOf(api);
    const loading = runLoad(
      d,
      'sigterm-inline',
      exited,
      () => sigterm,
      (f) => (inFlight = f),
    );
    await new Promise((r) => setTimeout(r, LOAD_BEFORE_SIGTERM_MS));
    const busy = inFlight();
    sigterm = true;
    const stopped = await terminate(api);
    const load = await loading;

    expect(busy).toBeGreaterThan(0);
    expect({ exit: stopped.code, output: stopped.code === 0 ? '' : d.output.join('\n') }).toEqual({ exit: 0, output: '' });
    expect(stopped.ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS + EXIT_MARGIN_MS);
    // Keep-alive clients are sent away (Connection: close), so the requests in flight finish and none is cut at the deadline.
    expect(d.cut).toEqual([]);
    const tally = checkOutcomes(load);
    const durable = await checkDurable(d, load);
    expect(durable.turns).toBeGreaterThan(0);
    // Jobs were still queued when it stopped: the restart had them to do (and did them).
    expect(durable.pending).toBeGreaterThan(0);
    console.log(
      `sigterm-under-load (inline workers): ${CLIENTS} clients, ${busy} requests in flight at SIGTERM, ${load.uploads.length} uploads + ${load.asks.length} asks answered ${JSON.stringify(tally)}; exit 0 after ${stopped.ms} ms (timeout ${SHUTDOWN_TIMEOUT_MS} ms); restarted: ${durable.pending} accepted documents still to do, all ready ${durable.msAfterRestart} ms later with exact chunk counts (${durable.chunks} chunks), ${durable.turns} answered turns stored once each, ${durable.orphanTurns} cut-off turns stored`,
    );
  }, 300_000);
});

describe('When the API (RUN_WORKERS=off) and a worker process both get SIGTERM while 8 clients upload and ask', () => {
  let d: Deployment | undefined;
  afterAll(() => cleanup(d));

  it('then both exit 0 within their timeouts, and every accepted document and answered turn survives them', async () => {
    d = await deployment({ RUN_WORKERS: 'off' });
    const api = start(d, 'src/server.ts');
    const worker = start(d, 'workers/index.ts');
    await waitUntilServing(d, api);

    let sigterm = false;
    let inFlight = () => 0;
    const exited = exitOf(api);
    const loading = runLoad(
      d,
      'sigterm-workers',
      exited,
      () => sigterm,
      (f) => (inFlight = f),
    );
    await new Promise((r) => setTimeout(r, LOAD_BEFORE_SIGTERM_MS));
    const busy = inFlight();
    sigterm = true;
    const [apiStopped, workerStopped] = await Promise.all([terminate(api), terminate(worker)]);
    const load = await loading;

    expect(busy).toBeGreaterThan(0);
    expect({
      api: apiStopped.code,
      worker: workerStopped.code,
      output: apiStopped.code === 0 && workerStopped.code === 0 ? '' : d.output.join('\n'),
    }).toEqual({
      api: 0,
      worker: 0,
      output: '',
    });
    expect(apiStopped.ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS + EXIT_MARGIN_MS);
    expect(workerStopped.ms).toBeLessThan(WORKER_CLOSE_TIMEOUT_MS + EXIT_MARGIN_MS);
    expect(d.cut).toEqual([]);
    const tally = checkOutcomes(load);
    const durable = await checkDurable(d, load);
    expect(durable.turns).toBeGreaterThan(0);
    expect(durable.pending).toBeGreaterThan(0);
    console.log(
      `sigterm-under-load (worker process): ${CLIENTS} clients, ${busy} requests in flight at SIGTERM, ${load.uploads.length} uploads + ${load.asks.length} asks answered ${JSON.stringify(tally)}; API exit 0 after ${apiStopped.ms} ms, worker exit 0 after ${workerStopped.ms} ms (close timeout ${WORKER_CLOSE_TIMEOUT_MS} ms); restarted: ${durable.pending} accepted documents still to do, all ready ${durable.msAfterRestart} ms later with exact chunk counts (${durable.chunks} chunks), ${durable.turns} answered turns stored once each, ${durable.orphanTurns} cut-off turns stored`,
    );
  }, 300_000);
});
