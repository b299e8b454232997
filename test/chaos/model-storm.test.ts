import { startServiceOnMistral, type ServiceOnMistral } from '../support/mistral-service';
import type { Behaviour } from '../support/mistral-double';
import { seededRandom } from '../support/chaos-random';
import { startRedis, type ThrowawayRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

const ASKS = 30;
const ASK_BOUND_MS = 20_000;
/** What an ask may answer in a storm: its answer, or a clear, retryable code. Never 500. */
const STORM_CODES = ['rate_limited', 'model_unavailable', 'upstream_unavailable', 'upstream_rate_limited', 'upstream_rejected'];

let redis: ThrowawayRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** 429s (Retry-After 1 s), 500s and answers slower than MODEL_TIMEOUT_MS, for chat calls only (embeddings pass). */
const chat = (r: { path: string }) => r.path.endsWith('/chat/completions');
function stormOf(rnd: ReturnType<typeof seededRandom>, length: number): Behaviour[] {
  return Array.from({ length }, () => {
    const kind = rnd.between(0, 3);
    if (kind === 0) return { status: 429, retryAfter: 1, for: chat };
    if (kind === 1) return { status: 500, for: chat };
    return { delayMs: 5_000, for: chat };
  });
}

/** An ask that must answer (anything) within ASK_BOUND_MS. */
function boundedAsk(svc: ServiceOnMistral, sid: string, question: string) {
  return Promise.race([
    svc.server.request('POST', `/sessions/${sid}/ask`, { question }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`ask "${question}" hung past ${ASK_BOUND_MS} ms`)), ASK_BOUND_MS)),
  ]);
}

describe('When the model provider answers a storm of 429s, 500s and timeouts', () => {
  let svc: ServiceOnMistral;
  beforeAll(async () => {
    svc = await startServiceOnMistral({
      REDIS_URL: redis.url,
      MODEL_TIMEOUT_MS: '1500',
      MODEL_RETRY_ATTEMPTS: '2',
      BREAKER_COOLDOWN_MS: '500',
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('then asks fail fast with clear codes or answer, succeed again after the storm, and no turn is lost or stored twice', async () => {
    const rnd = seededRandom('model-storm');
    const storm = stormOf(rnd, 60);
    const { server, upstream } = svc;
    const sid = (await server.request('POST', '/sessions', {})).body.id;
    upstream.script(storm);

    let ok = 0;
    const codes: Record<string, number> = {};
    for (let i = 0; i < ASKS; i++) {
      const res = await Promise.race([
        server.request('POST', `/sessions/${sid}/ask`, { question: `storm question ${i}?` }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`ask ${i} hung past ${ASK_BOUND_MS} ms`)), ASK_BOUND_MS)),
      ]);
      if (res.status === 200) ok++;
      else {
        expect(STORM_CODES).toContain(res.body.error.code);
        codes[res.body.error.code] = (codes[res.body.error.code] ?? 0) + 1;
      }
    }

    // After the storm (asks use up what is left of it), asks answer again once the breaker lets them.
    const deadline = Date.now() + 60_000;
    let after = await server.request('POST', `/sessions/${sid}/ask`, { question: 'after the storm?' });
    while (after.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      after = await server.request('POST', `/sessions/${sid}/ask`, { question: 'after the storm?' });
    }
    expect(after.status).toBe(200);
    ok++;

    // The storm did reach the service (the breaker then skips the provider and asks fall back to the next model).
    const chatCalls = upstream.requests.filter(chat).length;
    expect(chatCalls).toBeGreaterThan(0);
    const messages = (await server.request('GET', `/sessions/${sid}/messages?limit=500`)).body.messages as Array<{
      seq: number;
      role: string;
    }>;
    const seqs = messages.map((m) => m.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(ok);
    console.log(
      `model-storm: seed ${rnd.seed}, ${ASKS} asks in a storm of ${60} scripted 429/500/timeouts: ${ok - 1} answered, failures ${JSON.stringify(codes)}, none 500 or hung (${chatCalls} calls reached the provider; the breaker and the fallback model absorbed the rest); answered again after it, ${messages.length} turns contiguous, ${ok} answers stored once each`,
    );
  }, 300_000);
});

/** Summaries run once 2 messages wait outside the 2 newest; the queue retries a failed one for ~3 minutes (12 attempts from 200 ms). */
const NO_FALLBACK_ENV = {
  MODEL_OFFLINE_FALLBACK: 'off',
  MODEL_CHAT: 'mistral-large-latest',
  MODEL_TIMEOUT_MS: '1500',
  MODEL_RETRY_ATTEMPTS: '2',
  BREAKER_COOLDOWN_MS: '500',
  SUMMARY_TRIGGER_MESSAGES: '2',
  SUMMARY_KEEP_RECENT_MESSAGES: '2',
  JOB_ATTEMPTS: '12',
  JOB_BACKOFF_MS: '200',
};
const STORM_ASKS = 12;

describe('When the model provider storms and no offline model may stand in (MODEL_OFFLINE_FALLBACK=off, chat on mistral-large then mistral-small)', () => {
  let svc: ServiceOnMistral;
  beforeAll(async () => {
    svc = await startServiceOnMistral({ REDIS_URL: redis.url, ...NO_FALLBACK_ENV });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('then every ask in the storm fails fast with a clear code, asks answer on Mistral after it, the summary that failed in it is retried to completion, and no turn is lost', async () => {
    const rnd = seededRandom('model-storm-no-fallback');
    const { server, upstream } = svc;
    const memory = server.services.memoryProducer;
    const sid = (await server.request('POST', '/sessions', {})).body.id as string;
    const session = async () =>
      (await server.request('GET', `/sessions/${sid}`)).body as {
        lastSeq: number;
        summary: { coversThroughSeq: number; text: string } | null;
      };
    const answered: Array<{ question: string; messageId: string; model: string }> = [];
    const ask = async (question: string) => {
      const startedAt = Date.now();
      const res = await boundedAsk(svc, sid, question);
      if (res.status === 200) answered.push({ question, messageId: res.body.messageId, model: res.body.model });
      return { res, ms: Date.now() - startedAt };
    };

    // Before the storm: two turns on the primary, and the summary they trigger.
    for (let i = 0; i < 2; i++) {
      const { res } = await ask(`calm question ${i}?`);
      expect({ status: res.status, model: res.body.model }).toEqual({ status: 200, model: 'mistral-large-latest' });
    }
    const before = await waitFor(
      'the first summary',
      async () => (((await session()).summary?.coversThroughSeq ?? 0) >= 2 ? session() : undefined),
      60_000,
      100,
    );

    // The storm, longer than anything the test can use up: it ends only when cleared.
    upstream.script(stormOf(rnd, 400));
    // Turns imported during the storm (no model call) need a summary, whose model calls meet the storm.
    const imported = await server.request('POST', `/sessions/${sid}/messages`, {
      messages: [
        { role: 'user', content: 'imported during the storm: the harbor ledger' },
        { role: 'assistant', content: 'noted: the harbor ledger' },
        { role: 'user', content: 'imported during the storm: the copper lantern' },
        { role: 'assistant', content: 'noted: the copper lantern' },
      ],
    });
    expect(imported.status).toBe(201);
    const importedLastSeq = imported.body.lastSeq as number;

    const codes: Record<string, number> = {};
    let slowest = 0;
    for (let i = 0; i < STORM_ASKS; i++) {
      const { res, ms } = await ask(`storm question ${i}?`);
      slowest = Math.max(slowest, ms);
      // No offline stand-in: nothing answers during the storm, and each failure says why.
      expect({ status: res.status, known: STORM_CODES.includes(res.body?.error?.code) }).toEqual({
        status: expect.any(Number),
        known: true,
      });
      codes[res.body.error.code] = (codes[res.body.error.code] ?? 0) + 1;
    }
    expect(Object.keys(codes).length).toBeGreaterThan(0);
    // The storm's summary job has failed at least once, and the summary has not moved (no stand-in summariser).
    const retried = await waitFor(
      'a summary job failed by the storm',
      async () => {
        const jobs = await memory.summarizeQueue.getJobs(['delayed', 'waiting', 'active', 'failed']);
        return jobs.find((j) => j.attemptsMade > 0);
      },
      60_000,
      200,
    );
    expect((await session()).summary?.coversThroughSeq).toBe(before.summary!.coversThroughSeq);
    const retriedId = retried.id!;

    // After the storm: with no new turn to enqueue another, the storm's own summary job is retried and completes; the
    // summary now covers the imported turns (all but the 2 newest).
    const left = upstream.clearScript();
    expect(left).toBeGreaterThan(0);
    const after = await waitFor(
      'the summary over the storm turns',
      async () => {
        const s = await session();
        return (s.summary?.coversThroughSeq ?? 0) >= importedLastSeq - 2 ? s : undefined;
      },
      120_000,
      200,
    );
    const job = await waitFor(
      'the retried summary job completed',
      async () => {
        const j = await memory.summarizeQueue.getJob(retriedId);
        return j && (await j.getState()) === 'completed' ? j : undefined;
      },
      60_000,
      200,
    );

    // Asks answer on Mistral again once a breaker lets them through.
    const calmAfter = await waitFor(
      'an ask answered after the storm',
      async () => {
        const { res } = await ask('after the storm?');
        return res.status === 200 ? res.body : undefined;
      },
      60_000,
      500,
    );
    expect(['mistral-large-latest', 'mistral-small-latest']).toContain(calmAfter.model);
    for (const a of answered) expect(a.model).toMatch(/^mistral-/);

    // Made by the Mistral double (it echoes its prompt), not by the offline summariser.
    expect(after.summary!.text).toMatch(/^echo: /);

    // No turn lost or stored twice: seqs contiguous; each answered ask stored once; no failed ask stored.
    const messages = (await server.request('GET', `/sessions/${sid}/messages?limit=500`)).body.messages as Array<{
      id: string;
      seq: number;
      role: string;
      content: string;
    }>;
    expect(messages.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: messages.length }, (_, i) => i + 1));
    for (const a of answered) {
      expect(messages.filter((m) => m.id === a.messageId)).toHaveLength(1);
      expect(messages.filter((m) => m.role === 'user' && m.content === a.question).length).toBeGreaterThanOrEqual(1);
    }
    expect(messages.filter((m) => m.content.startsWith('storm question'))).toEqual([]);
    expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(answered.length + 2);
    console.log(
      `model-storm (no fallback): seed ${rnd.seed}, ${STORM_ASKS} asks in a storm of 429/500/timeouts with no offline model: all failed, ${JSON.stringify(codes)}, slowest ${slowest} ms (bound ${ASK_BOUND_MS} ms); summary job ${retriedId.slice(0, 20)}... failed ${retried.attemptsMade}x in the storm, completed on attempt ${job.attemptsMade}; summary covers seq ${before.summary!.coversThroughSeq} -> ${after.summary!.coversThroughSeq}; after the storm answered on ${calmAfter.model}; ${messages.length} turns contiguous, ${answered.length} answers stored once each`,
    );
  }, 300_000);
});
