import { randomUUID } from 'node:crypto';
import { waitFor } from '../support/wait-for';
import { AppError } from '../../src/errors';
import type { ModelGateway } from '../../src/gateway/model-gateway';
import { recallJobId, summarizeJobId } from '../../src/queues/session-memory-queue';
import { indexRecall } from '../../src/sessions/index-recall';
import { SESSION_COLLECTION, SessionRecallIndex } from '../../src/sessions/session-recall-index';
import { CONDENSE_INSTRUCTIONS, summarizeSession, type SummarizeSessionDeps } from '../../src/sessions/summarize-session';
import type { NewMessage, SessionRecord, SessionSummary, StoredMessage } from '../../src/stores/session/session-types';
import { startTestServer, type TestServer } from '../support/test-server';

/**
 * Session memory with the real things: Redis sessions, BullMQ queues and inline workers, LanceDB and the offline
 * models. Messages are appended through the session store and announced through the memory producer, as the HTTP
 * routes do.
 */
const KEEP_RECENT = 4;
const TRIGGER = 8;
const MAX_TOKENS = 96;
const DEFAULTS = { collection: 'default' };

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    SUMMARY_KEEP_RECENT_MESSAGES: String(KEEP_RECENT),
    SUMMARY_TRIGGER_MESSAGES: String(TRIGGER),
    SUMMARY_MAX_TOKENS: String(MAX_TOKENS),
  });
});
afterAll(async () => {
  await server?.cleanup();
});

const newTenant = () => `tenant-${randomUUID()}`;

const TOPICS = ['gardening', 'the weather', 'coffee', 'hiking', 'old films', 'board games', 'bread', 'trains'];
const EARLY_FACT = 'My name is Zorblatt Quenby and we decided the budget is 4711 euros for March.';
const SEQ_20_FACT = 'The secret launch code for project Quasimodo is 7319 Zebra.';

/** Message `seq` of the scripted conversation: user on odd seqs, assistant on even ones. */
function scripted(seq: number): { role: 'user' | 'assistant'; content: string } {
  const role = seq % 2 === 1 ? 'user' : 'assistant';
  if (seq === 1) return { role, content: EARLY_FACT };
  if (seq === 20) return { role, content: SEQ_20_FACT };
  return { role, content: `Note ${seq}: we chatted about ${TOPICS[seq % TOPICS.length]} for a while.` };
}

function message(role: 'user' | 'assistant', content: string): NewMessage {
  return { role, content, tokenCount: server.services.tokenCounter.count(content) };
}

/** Appends seqs from..to of the script, `perAppend` at a time; announces each append when `announce`. */
async function appendScript(
  tenant: string,
  id: string,
  from: number,
  to: number,
  opts: { perAppend?: number; announce?: boolean } = {},
): Promise<SessionRecord> {
  const per = opts.perAppend ?? 2;
  let session: SessionRecord | undefined;
  for (let seq = from; seq <= to; seq += per) {
    const batch: NewMessage[] = [];
    for (let s = seq; s <= Math.min(to, seq + per - 1); s++) {
      const m = scripted(s);
      batch.push(message(m.role, m.content));
    }
    const appended = await server.services.sessions.append(tenant, id, batch, DEFAULTS);
    if (!appended) throw new Error('append refused');
    session = appended.session;
    if (opts.announce) await server.services.memoryProducer.afterAppend(tenant, session);
  }
  return session!;
}

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000) => waitFor(what, probe, timeoutMs, 50);

const getSession = async (tenant: string, id: string) => {
  const s = await server.services.sessions.get(tenant, id);
  if (!s) throw new Error(`session ${id} is gone`);
  return s;
};

const summaryDeps = (overrides: Partial<SummarizeSessionDeps> = {}): SummarizeSessionDeps => ({
  sessions: server.services.sessions,
  gateway: server.services.gateway,
  tokenCounter: server.services.tokenCounter,
  summary: server.services.config.sessions.summary,
  ...overrides,
});

describe('When 300 messages are appended and announced', () => {
  const tenant = newTenant();
  const id = 'long-chat';
  let last: SessionRecord;

  beforeAll(async () => {
    last = await appendScript(tenant, id, 1, 300, { announce: true });
  });

  it('then the recall index catches up to seq 300 and a distinctive fact of message 20 is recalled in the top 5', async () => {
    const session = await until('recall index to reach 300', async () => {
      const s = await getSession(tenant, id);
      return s.recallIndexedThroughSeq >= 300 ? s : undefined;
    });
    expect(session.recallIndexedThroughSeq).toBe(300);
    expect(await server.services.sessionVectors.count(tenant, { collection: SESSION_COLLECTION })).toBe(300);

    const hits = await server.services.recallIndex.search(tenant, session, 'launch code of project Quasimodo', 5);
    expect(hits.map((h) => h.seq)).toContain(20);
    for (const mode of ['dense', 'keyword'] as const) {
      const byMode = await server.services.recallIndex.search(tenant, session, 'launch code of project Quasimodo', 5, { mode });
      expect(byMode.map((h) => h.seq)).toContain(20);
    }
  });

  it('then the summary advances, leaves the recent messages out and keeps the name and number of the first turn', async () => {
    const session = await until('summary to catch up', async () => {
      const s = await getSession(tenant, id);
      const covers = s.summary?.coversThroughSeq ?? 0;
      return s.lastSeq - KEEP_RECENT - covers < TRIGGER ? s : undefined;
    });
    const summary = session.summary!;
    expect(summary.coversThroughSeq).toBeGreaterThan(0);
    expect(summary.coversThroughSeq).toBeLessThanOrEqual(session.lastSeq - KEEP_RECENT);
    expect(summary.text).toMatch(/Zorblatt|4711/);
    expect(summary.tokenCount).toBeLessThanOrEqual(MAX_TOKENS);
    expect(summary.tokenCount).toBe(server.services.tokenCounter.count(summary.text));
  });

  it('then the jobs carry deterministic ids without ‘:’, one per session and lastSeq', async () => {
    const job = { tenant, sessionId: id, generation: last.generation };
    const recall = await server.services.memoryProducer.recallQueue.getJob(recallJobId(job, 300));
    expect(recall?.data).toEqual(job);
    expect(recall!.id).not.toContain(':');
    expect(summarizeJobId(job, 300)).toMatch(/^summarize-[0-9a-f]+-300$/);
    // Announcing the same append again finds the job already there.
    const again = await server.services.memoryProducer.afterAppend(tenant, last);
    expect(again.recallJobId).toBe(recall!.id);
    expect(await server.services.memoryProducer.recallQueue.getJob(again.recallJobId!)).toBeDefined();
  });
});

describe('When another tenant searches the recall index', () => {
  it('then it never recalls the first tenant’s messages, even naming the same session and generation', async () => {
    const owner = newTenant();
    const other = newTenant();
    const session = await appendScript(owner, 'shared-id', 1, 24);
    await indexRecall(
      { sessions: server.services.sessions, recallIndex: server.services.recallIndex },
      { tenant: owner, sessionId: 'shared-id', generation: session.generation },
    );
    expect(await server.services.recallIndex.search(owner, session, 'Quasimodo launch code', 5)).not.toHaveLength(0);

    // A forged record (another tenant, same id and generation) still finds nothing: every query is filtered by tenant.
    expect(await server.services.recallIndex.search(other, { ...session, tenant: other }, 'Quasimodo launch code', 5)).toEqual([]);
    // The other tenant's own session with the same id, once indexed, answers only its own messages.
    const own = (await server.services.sessions.append(other, 'shared-id', [message('user', 'I only ever talk about tulips.')], DEFAULTS))!
      .session;
    await indexRecall(
      { sessions: server.services.sessions, recallIndex: server.services.recallIndex },
      { tenant: other, sessionId: 'shared-id', generation: own.generation },
    );
    expect((await server.services.recallIndex.search(other, own, 'tulips', 5)).map((h) => h.seq)).toEqual([1]);
    // Its dense side too: the one vector it can reach is its own.
    const dense = await server.services.recallIndex.search(other, own, 'Quasimodo launch code', 5, { mode: 'dense' });
    expect(dense.map((h) => h.seq)).toEqual([1]);
    expect(await server.services.recallIndex.search(other, own, 'Quasimodo launch code', 5, { mode: 'keyword' })).toEqual([]);
  });
});

describe('When a session’s vectors are deleted', () => {
  it('then recall search for it answers nothing', async () => {
    const tenant = newTenant();
    const session = await appendScript(tenant, 'to-forget', 1, 24);
    await indexRecall(
      { sessions: server.services.sessions, recallIndex: server.services.recallIndex },
      { tenant, sessionId: 'to-forget', generation: session.generation },
    );
    expect(await server.services.recallIndex.search(tenant, session, 'Quasimodo launch code', 5)).not.toHaveLength(0);

    await server.services.recallIndex.deleteSession(tenant, 'to-forget', session.generation);
    for (const mode of ['hybrid', 'dense', 'keyword'] as const) {
      expect(await server.services.recallIndex.search(tenant, session, 'Quasimodo launch code', 5, { mode })).toEqual([]);
    }
    expect(await server.services.sessionVectors.count(tenant, { collection: SESSION_COLLECTION })).toBe(0);
  });
});

describe("When a session was indexed before session memory had tables of its own (in the documents' store)", () => {
  it('then recall still finds its messages there, and deleting the session removes them there too', async () => {
    const tenant = newTenant();
    const session = await appendScript(tenant, 'indexed-earlier', 1, 24);
    // As earlier versions did: the messages' vectors in the documents' store, none in the session-memory store.
    const earlier = new SessionRecallIndex(server.services.vectors, server.services.embedder);
    await earlier.indexMessages(tenant, session, await server.services.sessions.range(tenant, 'indexed-earlier', 1, 24));
    expect(await server.services.sessionVectors.count(tenant, { collection: SESSION_COLLECTION })).toBe(0);

    const recall = new SessionRecallIndex(server.services.sessionVectors, server.services.embedder, { legacy: server.services.vectors });
    const hits = await recall.search(tenant, session, 'Quasimodo launch code', 5);
    expect(hits[0]?.seq).toBe(20);

    await recall.deleteSession(tenant, 'indexed-earlier', session.generation);
    expect(await server.services.vectors.count(tenant, { collection: SESSION_COLLECTION })).toBe(0);
    expect(await recall.search(tenant, session, 'Quasimodo launch code', 5)).toEqual([]);
  });
});

describe('When the summary grows past its share of maxTokens', () => {
  it('then it is condensed and no stored summary ever exceeds maxTokens', async () => {
    const tenant = newTenant();
    await appendScript(tenant, 'condense', 1, 120, { perAppend: 20 });
    const written: SessionSummary[] = [];
    const condenseCalls: number[] = [];
    const gateway: Pick<ModelGateway, 'chat'> = {
      chat: async (req) => {
        if (req.messages[0].content === CONDENSE_INSTRUCTIONS) condenseCalls.push(req.maxTokens ?? -1);
        return server.services.gateway.chat(req);
      },
    };
    const sessions: SummarizeSessionDeps['sessions'] = {
      get: (...a) => server.services.sessions.get(...a),
      range: (...a) => server.services.sessions.range(...a),
      tryLock: (...a) => server.services.sessions.tryLock(...a),
      unlock: (...a) => server.services.sessions.unlock(...a),
      setSummary: async (...a) => {
        written.push(a[3]);
        return server.services.sessions.setSummary(...a);
      },
    };
    // Small batches: many folds, each adding facts.
    const session = await getSession(tenant, 'condense');
    const result = await summarizeSession(summaryDeps({ gateway, sessions, batchTokens: 60 }), {
      tenant,
      sessionId: 'condense',
      generation: session.generation,
    });

    expect(result.folds).toBeGreaterThan(3);
    expect(result.condensed).toBeGreaterThan(0);
    expect(condenseCalls.every((max) => max === MAX_TOKENS / 2)).toBe(true);
    expect(written.length).toBe(result.folds);
    for (const s of written) expect(s.tokenCount).toBeLessThanOrEqual(MAX_TOKENS);
    // Each write moved the summary forward.
    written.forEach((s, i) => i > 0 && expect(s.coversThroughSeq).toBeGreaterThan(written[i - 1].coversThroughSeq));
    const after = await getSession(tenant, 'condense');
    expect(after.summary).toEqual(written[written.length - 1]);
    expect(after.summary!.coversThroughSeq).toBeGreaterThan(120 - KEEP_RECENT - TRIGGER);
    expect(after.summary!.coversThroughSeq).toBeLessThanOrEqual(120 - KEEP_RECENT);
  });
});

describe('When the summariser model fails', () => {
  it('then the summary is left unchanged, the error is rethrown and a later run succeeds', async () => {
    const tenant = newTenant();
    const id = 'flaky-model';
    await appendScript(tenant, id, 1, 20);
    const first = await getSession(tenant, id);
    await summarizeSession(summaryDeps(), { tenant, sessionId: id, generation: first.generation });
    const before = (await getSession(tenant, id)).summary;
    expect(before?.coversThroughSeq).toBe(20 - KEEP_RECENT);

    await appendScript(tenant, id, 21, 40);
    const failing: Pick<ModelGateway, 'chat'> = {
      chat: async () => {
        throw new AppError('model_unavailable', 'No summarize model is available right now');
      },
    };
    await expect(
      summarizeSession(summaryDeps({ gateway: failing }), { tenant, sessionId: id, generation: first.generation }),
    ).rejects.toMatchObject({
      code: 'model_unavailable',
    });
    expect((await getSession(tenant, id)).summary).toEqual(before);

    // The lock was released: the retry (here: a healthy model) folds the turns the failure left.
    const retried = await summarizeSession(summaryDeps(), { tenant, sessionId: id, generation: first.generation });
    expect(retried.skipped).toBe(false);
    expect((await getSession(tenant, id)).summary!.coversThroughSeq).toBe(40 - KEEP_RECENT);
  });
});

describe('When several recall-index runs race on one session', () => {
  it('then each message is indexed exactly once and the index ends at lastSeq', async () => {
    const tenant = newTenant();
    const id = 'racy';
    const first = await appendScript(tenant, id, 1, 100, { perAppend: 25 });
    const seen = new Map<number, number>();
    const recallIndex: Pick<SessionRecallIndex, 'indexMessages'> = {
      indexMessages: async (t: string, s: SessionRecord, messages: StoredMessage[], signal?: AbortSignal) => {
        for (const m of messages) seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 5)); // hold the lock a moment, so other runs meet it
        return server.services.recallIndex.indexMessages(t, s, messages, signal);
      },
    };
    const deps = { sessions: server.services.sessions, recallIndex, pageSize: 16 };
    const input = { tenant, sessionId: id, generation: first.generation };
    const runs = [indexRecall(deps, input), indexRecall(deps, input), indexRecall(deps, input)];
    // Messages land while the runs work; late runs find the lock taken and rely on the holder's re-check.
    await appendScript(tenant, id, 101, 150, { perAppend: 10 });
    runs.push(indexRecall(deps, input), indexRecall(deps, input));
    const results = await Promise.all(runs);

    expect(results.some((r) => r.skipped)).toBe(true);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect((await getSession(tenant, id)).recallIndexedThroughSeq).toBe(150);
    expect(await server.services.sessionVectors.count(tenant, { collection: SESSION_COLLECTION })).toBe(150);
  });
});

describe('When a session is deleted and recreated while a job is queued', () => {
  it('then the late job of the old generation does nothing to the new session', async () => {
    const tenant = newTenant();
    const old = await appendScript(tenant, 'reborn', 1, 20);
    await server.services.sessions.delete(tenant, 'reborn');
    const reborn = (await server.services.sessions.append(tenant, 'reborn', [message('user', 'A fresh start.')], DEFAULTS))!.session;
    expect(reborn.generation).not.toBe(old.generation);

    const input = { tenant, sessionId: 'reborn', generation: old.generation };
    expect(await indexRecall({ sessions: server.services.sessions, recallIndex: server.services.recallIndex }, input)).toMatchObject({
      indexed: 0,
    });
    expect(await summarizeSession(summaryDeps(), input)).toMatchObject({ folds: 0 });
    const now = await getSession(tenant, 'reborn');
    expect(now.recallIndexedThroughSeq).toBe(0);
    expect(now.summary).toBeNull();
  });
});
