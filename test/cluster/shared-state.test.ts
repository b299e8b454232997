import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Chunker } from '../../src/core/chunker';
import { TokenCounter } from '../../src/core/tokens/token-counter';
import { parseSource } from '../../src/ingest/parsers';
import { generatedText } from '../support/fixtures';
import { DOUBLE_API_KEY, startMistralDouble, type MistralDouble } from '../support/mistral-double';
import { freePort } from '../support/redis-server';
import { exitOf, spawnEntry, SLOW_PROCESS_TEST_MS } from '../support/spawn-entry';
import { waitFor } from '../support/wait-for';

/**
 * Many processes, one state, as a scaled deployment runs: two API processes (RUN_WORKERS=off) and two worker
 * processes (`npm run worker`), all real processes on one Redis (a single server, then the Redis Cluster) and one
 * DATA_DIR (the LanceDB tables and stored sources). Embeddings and answers come from a local Mistral double that
 * answers each embedding batch after 50 ms, so a large document takes seconds and a kill lands in its middle.
 */
let upstream: MistralDouble;
beforeAll(async () => {
  upstream = await startMistralDouble({ dimensions: 1024, embedDelayMs: 50 });
});
afterAll(async () => {
  await upstream?.close();
});

interface Api {
  base: string;
  request(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
}

const AUTH = { authorization: 'Bearer ks' };

function apiAt(base: string): Api {
  return {
    base,
    request: async (method, p, body) => {
      const res = await fetch(base + p, {
        method,
        headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

/** Two APIs and two workers on `redisEnv`, sharing a fresh prefix and data directory; `stop` kills them all. */
async function startDeployment(redisEnv: Record<string, string>) {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ragmem-shared-'));
  const shared = {
    ...redisEnv,
    REDIS_PREFIX: `t${randomBytes(5).toString('hex')}`,
    DATA_DIR: dataDir,
    API_KEYS: 'ks=shared',
    MISTRAL_API_KEY: DOUBLE_API_KEY,
    MISTRAL_SERVER_URL: upstream.url,
    LOG_LEVEL: 'warn',
    // A killed worker's job is taken over once its lock expires.
    JOB_LOCK_MS: '2000',
    JOB_BACKOFF_MS: '200',
    EMBED_BATCH_SIZE: '4',
  };
  const children: ChildProcess[] = [];
  const apis: Api[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    children.push(spawnEntry('src/server.ts', { ...shared, RUN_WORKERS: 'off', PORT: String(port), HOST: '127.0.0.1' }));
    apis.push(apiAt(`http://127.0.0.1:${port}`));
  }
  // One job at a time each: two large documents keep both busy, one each.
  const startWorker = () => {
    const child = spawnEntry('workers/index.ts', { ...shared, WORKER_CONCURRENCY: '1' });
    children.push(child);
    return child;
  };
  const workers = [startWorker(), startWorker()];
  const stop = async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exitOf));
    await fsp.rm(dataDir, { recursive: true, force: true });
  };
  try {
    for (const api of apis) {
      await waitFor(
        `the API at ${api.base} to be ready`,
        () =>
          fetch(`${api.base}/readyz`).then(
            (r) => (r.ok ? true : undefined),
            () => undefined,
          ),
        90_000,
        100,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { apis, workers, stop };
}

const expectedChunks = async (text: string) =>
  new Chunker({ tokenCounter: new TokenCounter(), chunkSize: 512, chunkOverlap: 64 }).chunk(
    await parseSource(Buffer.from(text, 'utf8'), 'text'),
  ).length;

const document = (api: Api, id: string) =>
  waitFor(
    `document ${id}`,
    async () => {
      const res = await api.request('GET', `/documents/${id}`);
      return res.status === 200 ? res.body : undefined;
    },
    10_000,
  );

async function waitReady(api: Api, id: string) {
  return waitFor(
    `document ${id} to be ready`,
    async () => {
      const doc = await document(api, id);
      if (doc.status === 'failed') throw new Error(`document ${id} failed: ${JSON.stringify(doc.error)}`);
      return doc.status === 'ready' ? doc : undefined;
    },
    150_000,
    100,
  );
}

const variants: Array<[string, () => Record<string, string>]> = [
  ['one Redis server', () => ({ REDIS_URL: process.env.REDIS_URL! })],
  ['a Redis Cluster', () => ({ REDIS_CLUSTER_NODES: process.env.RAGMEM_TEST_CLUSTER_NODES! })],
];

describe.each(variants)('When two API processes and two worker processes share %s and one data directory', (_label, redisEnv) => {
  let deployment: Awaited<ReturnType<typeof startDeployment>>;
  beforeAll(async () => {
    deployment = await startDeployment(redisEnv());
  }, 120_000);
  afterAll(async () => {
    await deployment?.stop();
  });

  it(
    'then a worker killed mid-batch loses nothing, and what is uploaded through one API is found through the other',
    async () => {
      const [a, b] = deployment.apis;
      const texts = [generatedText(31, 40_000), generatedText(32, 40_000)];
      const ids: string[] = [];
      for (const [i, text] of texts.entries()) {
        const res = await a.request('POST', '/documents', { text, title: `large ${i}`, collection: 'large' });
        expect(res.status).toBe(202);
        ids.push(res.body.id);
      }
      // Both workers are embedding (one document each) when the first is killed.
      await waitFor(
        'both documents to be under way',
        async () => {
          const docs = await Promise.all(ids.map((id) => document(b, id)));
          if (docs.some((d) => d.status === 'ready')) throw new Error('a document finished before the kill, despite the embed delay');
          return docs.every((d) => d.status === 'processing' && d.progress.done >= 8) ? true : undefined;
        },
        90_000,
        50,
      );
      const [victim] = deployment.workers;
      victim.kill('SIGKILL');
      await exitOf(victim);

      // The other worker finishes its own document, then takes over the killed one's (BullMQ's stalled-job check).
      for (const [i, id] of ids.entries()) {
        const doc = await waitReady(b, id);
        expect(doc.chunkCount).toBe(await expectedChunks(texts[i]));
        // Every chunk once: the chunk listing pages through exactly chunkCount distinct indexes.
        const seen = new Set<number>();
        for (let cursor: string | null = '0'; cursor !== null;) {
          const page = await b.request('GET', `/documents/${id}/chunks?limit=200&cursor=${cursor}`);
          expect(page.status).toBe(200);
          for (const c of page.body.chunks) seen.add(c.index);
          cursor = page.body.nextCursor;
        }
        expect(seen.size).toBe(doc.chunkCount);
      }

      // A small document uploaded through B is found through A, and the large ones through either.
      const small = await b.request('POST', '/documents', { text: 'The lighthouse keeper logs every passing heron at dawn.' });
      expect(small.status).toBe(202);
      await waitReady(a, small.body.id);
      const found = await a.request('POST', '/search', { query: 'lighthouse keeper heron', k: 3, mode: 'keyword' });
      expect(found.status).toBe(200);
      expect(found.body.results[0].documentId).toBe(small.body.id);
      const listed = await b.request('GET', '/documents?limit=10');
      expect(listed.body.documents.map((d: { id: string }) => d.id).sort()).toEqual([...ids, small.body.id].sort());
    },
    SLOW_PROCESS_TEST_MS,
  );

  it(
    'then a session asked through both APIs keeps its turns in order, even when both ask at once',
    async () => {
      const [a, b] = deployment.apis;
      const id = `shared-${randomBytes(4).toString('hex')}`;
      expect((await a.request('POST', '/sessions', { id })).status).toBe(201);
      const questions: string[] = [];
      for (let n = 0; n < 6; n++) {
        const question = `Question ${n}: where does the keeper see herons?`;
        const res = await (n % 2 === 0 ? a : b).request('POST', `/sessions/${id}/ask`, { question });
        expect(res.status).toBe(200);
        questions.push(question);
      }
      // Two at once, one through each: both land, each question right before its own answer.
      const both = await Promise.all([
        a.request('POST', `/sessions/${id}/ask`, { question: 'Concurrent question A?' }),
        b.request('POST', `/sessions/${id}/ask`, { question: 'Concurrent question B?' }),
      ]);
      expect(both.map((r) => r.status)).toEqual([200, 200]);
      const res = await b.request('GET', `/sessions/${id}/messages?limit=500`);
      const messages = (res.body.messages as Array<{ seq: number; role: string; content: string }>).sort((x, y) => x.seq - y.seq);
      expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      expect(messages.map((m) => m.role)).toEqual(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 'user' : 'assistant')));
      expect(
        messages
          .slice(0, 12)
          .filter((m) => m.role === 'user')
          .map((m) => m.content),
      ).toEqual(questions);
      expect(
        messages
          .slice(12)
          .filter((m) => m.role === 'user')
          .map((m) => m.content)
          .sort(),
      ).toEqual(['Concurrent question A?', 'Concurrent question B?']);
      // The double echoes the question: each answer follows its own question.
      for (let i = 0; i < 16; i += 2) expect(messages[i + 1].content).toContain(messages[i].content);
    },
    SLOW_PROCESS_TEST_MS,
  );

  it(
    'then a reindex started on one API is seen, and followed to its end, on the other',
    async () => {
      const [a, b] = deployment.apis;
      const notes = await a.request('POST', '/documents', { text: generatedText(33, 2_000), title: 'notes', collection: 'notes' });
      expect(notes.status).toBe(202);
      await waitReady(b, notes.body.id);
      // A chunk as served now (512-token chunks), to tell the new index's (256) from it.
      const chunkOf = async (api: Api) => {
        const res = await api.request('POST', '/search', { query: 'river meadow', k: 1, mode: 'keyword', collection: 'notes' });
        expect(res.status).toBe(200);
        return res.body.results[0].text as string;
      };
      const before = await chunkOf(b);
      const started = await a.request('POST', '/reindex', { collection: 'notes', chunking: { chunkSize: 256, chunkOverlap: 32 } });
      expect(started.status).toBe(202);
      const { jobId } = started.body;
      const seen = await b.request('GET', `/reindex/${jobId}`);
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ jobId, collection: 'notes' });
      expect((await b.request('GET', '/reindex')).body.jobs.map((j: { jobId: string }) => j.jobId)).toContain(jobId);
      const done = await waitFor(
        `reindex ${jobId} to end`,
        async () => {
          const res = await b.request('GET', `/reindex/${jobId}`);
          return ['completed', 'failed', 'cancelled'].includes(res.body.status) ? res.body : undefined;
        },
        150_000,
        200,
      );
      expect(done.status).toBe('completed');
      expect((await a.request('GET', `/reindex/${jobId}`)).body.status).toBe('completed');
      // Both APIs search the new index: chunks cut at 256 tokens.
      for (const api of [a, b]) expect((await chunkOf(api)).length).toBeLessThan(before.length * 0.75);
    },
    SLOW_PROCESS_TEST_MS,
  );
});
