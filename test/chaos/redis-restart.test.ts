import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generatedText } from '../support/fixtures';
import { startRedis, type ThrowawayRedis } from '../support/redis-server';
import { startTestServer, type TestServer } from '../support/test-server';
import { Chunker } from '../../src/core/chunker';
import { parseSource } from '../../src/ingest/parsers';

const DOCUMENTS = 100;
/** No request may hang while Redis is down: each answers (503) well within this. */
const REQUEST_BOUND_MS = 15_000;

let redis: ThrowawayRedis;
let server: TestServer;
let redisDir: string;
beforeAll(async () => {
  redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-chaos-redis-'));
  // Durable as an operator runs it: every write is in the append-only file before Redis answers, so a restart loses nothing.
  redis = await startRedis(undefined, ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir]);
  server = await startTestServer({ REDIS_URL: redis.url, WORKER_CONCURRENCY: '2', EMBED_BATCH_SIZE: '4' });
});
afterAll(async () => {
  await redis?.restart().catch(() => undefined);
  await server?.cleanup();
  await redis?.stop();
  await fs.rm(redisDir, { recursive: true, force: true });
});

const bounded = (method: string, p: string, body?: unknown) =>
  Promise.race([
    server.request(method, p, body),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${method} ${p} hung past ${REQUEST_BOUND_MS} ms`)), REQUEST_BOUND_MS),
    ),
  ]);

describe('When Redis restarts while 100 documents are being ingested and a session is in use', () => {
  it('then requests answer 503 dependency_unavailable while it is down, and afterwards every document is ready with its chunks and the session keeps its turns', async () => {
    const session = await server.request('POST', '/sessions', {});
    expect(session.status).toBe(201);
    const sid = session.body.id;
    for (let i = 0; i < 3; i++)
      expect((await server.request('POST', `/sessions/${sid}/ask`, { question: `question ${i} about rivers?` })).status).toBe(200);

    const texts = Array.from({ length: DOCUMENTS }, (_, i) => generatedText(5000 + i, 400 + ((i * 97) % 1500)));
    const ids: string[] = [];
    for (let i = 0; i < DOCUMENTS; i += 20) {
      const batch = await Promise.all(texts.slice(i, i + 20).map((text) => server.request('POST', '/documents', { text })));
      for (const res of batch) {
        expect(res.status).toBe(202);
        ids.push(res.body.id);
      }
    }

    await redis.stop();
    const downAt = Date.now();
    const probes = [
      ['GET', `/documents/${ids[0]}`, undefined],
      ['POST', '/documents', { text: 'written while Redis is down' }],
      ['POST', '/search', { query: 'river' }],
      ['POST', `/sessions/${sid}/ask`, { question: 'asked while Redis is down?' }],
      ['GET', `/sessions/${sid}/messages`, undefined],
    ] as const;
    let unavailable = 0;
    for (let round = 0; round < 3; round++) {
      for (const [method, p, body] of probes) {
        const res = await bounded(method, p, body);
        expect({ route: `${method} ${p}`, status: res.status, code: res.body?.error?.code }).toEqual({
          route: `${method} ${p}`,
          status: 503,
          code: 'dependency_unavailable',
        });
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        unavailable++;
      }
    }
    expect((await server.request('GET', '/healthz')).status).toBe(200);

    await redis.restart();
    const backAt = Date.now();
    const deadline = Date.now() + 180_000;
    const docs = new Map<string, any>();
    while (docs.size < ids.length) {
      for (const id of ids) {
        if (docs.has(id)) continue;
        const res = await server.request('GET', `/documents/${id}`);
        if (res.body?.status === 'ready' || res.body?.status === 'failed') docs.set(id, res.body);
      }
      if (docs.size < ids.length && Date.now() > deadline)
        throw new Error(`${ids.length - docs.size} documents unfinished after the restart`);
      if (docs.size < ids.length) await new Promise((r) => setTimeout(r, 250));
    }
    const recoveredMs = Date.now() - backAt;

    const chunker = new Chunker({ tokenCounter: server.services.tokenCounter, ...server.services.config.chunking });
    for (const [i, id] of ids.entries()) {
      const doc = docs.get(id);
      expect({ id, status: doc.status, error: doc.error }).toEqual({ id, status: 'ready', error: undefined });
      const expected = chunker.chunk(await parseSource(Buffer.from(texts[i], 'utf8'), 'text')).length;
      expect(doc.chunkCount).toBe(expected);
      expect(await server.services.vectors.count('default', { documentId: id })).toBe(expected);
    }

    const messages = (await server.request('GET', `/sessions/${sid}/messages?limit=500`)).body.messages as Array<{
      seq: number;
      role: string;
    }>;
    const seqs = messages.map((m) => m.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 6 }, (_, i) => i + 1));
    expect((await server.request('POST', `/sessions/${sid}/ask`, { question: 'and after the restart?' })).status).toBe(200);
    console.log(
      `redis-restart: ${DOCUMENTS} documents in flight, Redis down ${backAt - downAt} ms, ${unavailable} requests while down all 503 dependency_unavailable, all ${DOCUMENTS} ready with exact chunk counts ${recoveredMs} ms after it came back, session kept its 6 turns`,
    );
  }, 300_000);
});
