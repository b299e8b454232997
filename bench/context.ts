import { startBenchService } from './bench-service';
import { callJson } from './http';
import { forEachConcurrently } from '../src/infra/pool';
import { rng, scifactSentences } from './corpus';
import { percentile } from '../scripts/eval/retrieval-metrics';

export interface ContextBenchOptions {
  /** Session lengths (turns) to measure, e.g. [100, 1000, 10000]. */
  turns: number[];
  /** Measured sequential requests per session (the 8-client run sends as many). */
  requests: number;
}

export interface ContextRow extends Record<string, string | number> {
  turns: number;
  'p50 ms': number;
  'p95 ms': number;
  'p99 ms': number;
  'rps (1 client)': number;
  'rps (8 clients)': number;
  'p95 vs 100 turns': string;
  /** Where the time goes: Server-Timing stages as p50/p95 each (recall and retrieval run concurrently). */
  'stages p50/p95 ms': string;
}

const IMPORT_BATCH = 5000;
const WARMUP = 20;
const CLIENTS = 8;
/**
 * No LanceDB fold for this long: the store is quiet. A fold follows writes after about a second (DEFAULT_OPTIMIZE_IDLE_MS),
 * and session memory's are paced up to 5 s after the previous one (MAX_FOLD_PAUSE_MS in lancedb-writer.ts).
 */
const QUIET_MS = 7000;

/** `count` turns of real prose (1-3 SciFact sentences each), alternating user and assistant, a minute apart. */
function conversation(count: number, seed: number): Array<{ role: 'user' | 'assistant'; content: string; createdAt: string }> {
  const sentences = scifactSentences();
  const rand = rng(seed);
  const start = Date.UTC(2024, 0, 1);
  return Array.from({ length: count }, (_, i) => {
    const n = 1 + Math.floor(rand() * 3);
    const parts = Array.from({ length: n }, () => sentences[Math.floor(rand() * sentences.length)]);
    return { role: i % 2 === 0 ? 'user' : 'assistant', content: parts.join(' '), createdAt: new Date(start + i * 60_000).toISOString() };
  });
}

/** Varied questions from the corpus's words: a few content words of a random sentence. */
function questions(count: number, seed: number): string[] {
  const sentences = scifactSentences();
  const rand = rng(seed);
  const forms = ['What did we say about', 'Remind me what you found on', 'Earlier we discussed', 'What was the result for'];
  return Array.from({ length: count }, () => {
    const words = sentences[Math.floor(rand() * sentences.length)].split(/\s+/).filter((w) => /^[A-Za-z][A-Za-z-]{3,}$/.test(w));
    const picked = Array.from(
      { length: Math.min(words.length, 3 + Math.floor(rand() * 5)) },
      () => words[Math.floor(rand() * words.length)],
    );
    return `${forms[Math.floor(rand() * forms.length)]} ${picked.join(' ') || 'the study'}?`;
  });
}

/** `recall;dur=5.1, build;dur=3.0` as [stage, ms] pairs. */
const parseServerTiming = (header: string): Array<[string, number]> =>
  header
    .split(',')
    .map((part) => /^\s*([\w-]+);dur=([\d.]+)/.exec(part))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], Number(m[2])]);

const post = (base: string, p: string, body: unknown) => callJson(base, 'POST', p, body);
const get = (base: string, p: string) => callJson(base, 'GET', p);

/**
 * Waits for recall indexing to reach lastSeq, then for the rolling summary to have nothing left to fold (or to stay
 * put for 5 s), so that background jobs do not share the CPU with the measured requests.
 */
async function waitForMemory(
  base: string,
  id: string,
  lastSeq: number,
  policy: { keepRecent: number; trigger: number },
  timeoutMs = 10 * 60_000,
) {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let view: any;
  for (;;) {
    view = await get(base, `/sessions/${id}`);
    if (view.recallIndexedThroughSeq >= lastSeq) break;
    if (Date.now() > deadline)
      throw new Error(`session ${id}: recall indexed through ${view.recallIndexedThroughSeq} of ${lastSeq} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const recallSeconds = (Date.now() - started) / 1000;
  let covers = view.summary?.coversThroughSeq ?? 0;
  let stableSince = Date.now();
  while (lastSeq - policy.keepRecent - covers >= policy.trigger && Date.now() - stableSince < 5000 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    view = await get(base, `/sessions/${id}`);
    const now = view.summary?.coversThroughSeq ?? 0;
    if (now !== covers) {
      covers = now;
      stableSince = Date.now();
    }
  }
  return { recallSeconds, summarySeconds: (Date.now() - started) / 1000 - recallSeconds, summaryCovers: covers };
}

/** LanceDB folds so far (ragmem_lancedb_fold_seconds_count over every index), from /metrics. */
async function foldsSoFar(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return [...text.matchAll(/^ragmem_lancedb_fold_seconds_count\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/**
 * Waits until LanceDB has folded the imported rows and nothing more (no new fold for QUIET_MS): right after a bulk
 * import the folds of the session's table run alongside the first questions and were most of their p95 (10,000
 * turns: recall p95 12-20 ms while folding, 8 ms after). Returns the seconds waited.
 */
async function waitForQuietStore(base: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  let folds = await foldsSoFar(base);
  let since = Date.now();
  while (Date.now() - since < QUIET_MS && Date.now() - started < timeoutMs) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await foldsSoFar(base);
    if (now !== folds) {
      folds = now;
      since = Date.now();
    }
  }
  return (Date.now() - started) / 1000;
}

/**
 * POST /sessions/:id/context latency against session length: the service in-process (offline provider, LanceDB in a
 * temp dir, a throwaway Redis, workers inline), one session per size, default maxContextTokens and k.
 */
export async function runContextBench(opts: ContextBenchOptions): Promise<ContextRow[]> {
  const service = await startBenchService('ctx');
  const { base, config } = service;
  const policy = { keepRecent: config.sessions.summary.keepRecentMessages, trigger: config.sessions.summary.triggerMessages };
  const verbose = (msg: string) => console.error(`context bench: ${msg}`);
  const measured: Array<{ turns: number; p50: number; p95: number; p99: number; rps1: number; rps8: number; stageP50: string }> = [];
  try {
    for (const [i, turns] of opts.turns.entries()) {
      const id = `bench-context-${turns}-${i}`;
      await post(base, '/sessions', { id });
      const msgs = conversation(turns, 1000 + i);
      const t0 = performance.now();
      let lastSeq = 0;
      for (let j = 0; j < msgs.length; j += IMPORT_BATCH) {
        lastSeq = (await post(base, `/sessions/${id}/messages`, { messages: msgs.slice(j, j + IMPORT_BATCH) })).lastSeq;
      }
      const importSeconds = (performance.now() - t0) / 1000;
      const memory = await waitForMemory(base, id, lastSeq, policy);
      const quietSeconds = await waitForQuietStore(base);
      verbose(
        `${turns} turns imported in ${importSeconds.toFixed(2)} s, recall indexed after ${memory.recallSeconds.toFixed(1)} s, ` +
          `summary through seq ${memory.summaryCovers} after ${memory.summarySeconds.toFixed(1)} s more, ` +
          `LanceDB quiet after ${quietSeconds.toFixed(1)} s more`,
      );

      const qs = questions(WARMUP + 2 * opts.requests, 7 + i);
      const stages = new Map<string, number[]>();
      const ask = async (q: string) => {
        const res = await fetch(`${base}/sessions/${id}/context`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ question: q }),
        });
        await res.text();
        if (!res.ok) throw new Error(`context answered ${res.status}`);
        return res.headers.get('server-timing') ?? '';
      };
      for (const q of qs.slice(0, WARMUP)) await ask(q);

      const latencies: number[] = [];
      const seqStart = performance.now();
      for (const q of qs.slice(WARMUP, WARMUP + opts.requests)) {
        const s = performance.now();
        const timing = await ask(q);
        latencies.push(performance.now() - s);
        for (const [stage, ms] of parseServerTiming(timing)) stages.set(stage, [...(stages.get(stage) ?? []), ms]);
      }
      const rps1 = opts.requests / ((performance.now() - seqStart) / 1000);

      const pending = qs.slice(WARMUP + opts.requests);
      const concStart = performance.now();
      await forEachConcurrently(pending, CLIENTS, async (q) => {
        await ask(q);
      });
      const rps8 = opts.requests / ((performance.now() - concStart) / 1000);
      const stageP50 = [...stages]
        .map(([stage, ms]) => `${stage} ${percentile(ms, 50).toFixed(1)}/${percentile(ms, 95).toFixed(1)}`)
        .join(', ');
      measured.push({
        turns,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        rps1,
        rps8,
        stageP50,
      });
    }
  } finally {
    await service.stop();
  }
  const reference = measured.find((m) => m.turns === 100) ?? measured[0];
  return measured.map((m) => ({
    turns: m.turns,
    'p50 ms': m.p50,
    'p95 ms': m.p95,
    'p99 ms': m.p99,
    'rps (1 client)': m.rps1,
    'rps (8 clients)': m.rps8,
    'p95 vs 100 turns': `${(m.p95 / reference.p95).toFixed(2)}x`,
    'stages p50/p95 ms': m.stageP50,
  }));
}
