import type { ChildProcess } from 'node:child_process';
import { generatedText } from '../support/fixtures';
import { seededRandom } from '../support/chaos-random';
import { startRedis, type ThrowawayRedis } from '../support/redis-server';
import { apiWithWorkerProcesses, exitOf } from '../support/spawn-entry';
import { Chunker } from '../../src/core/chunker';
import { parseSource } from '../../src/ingest/parsers';

const DOCUMENTS = 200;
const KILLS = 4;

let redis: ThrowawayRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
// Two worker processes at a time; a killed one's jobs are taken over once its 2 s lock expires.
const api = apiWithWorkerProcesses({ WORKER_CONCURRENCY: '2', EMBED_BATCH_SIZE: '4', JOB_BACKOFF_MS: '200' }, '2000', () => ({
  REDIS_URL: redis.url,
}));

describe('When worker processes are SIGKILLed at random points of a 200-document batch, several times', () => {
  it('then every document ends ready (or failed with a reason), each ready one with exactly its chunks and none duplicated', async () => {
    const rnd = seededRandom('worker-kills');
    const texts = Array.from({ length: DOCUMENTS }, (_, i) => generatedText(1000 + i, rnd.between(300, 2500)));
    const ids: string[] = [];
    for (let i = 0; i < DOCUMENTS; i += 20) {
      const batch = await Promise.all(
        texts.slice(i, i + 20).map((text, j) => api.server.request('POST', '/documents', { text, title: `doc ${i + j}` })),
      );
      for (const res of batch) {
        expect(res.status).toBe(202);
        ids.push(res.body.id);
      }
    }

    const live: ChildProcess[] = [api.startWorker(), api.startWorker()];
    const startedAt = Date.now();
    let kills = 0;
    for (; kills < KILLS; kills++) {
      await new Promise((r) => setTimeout(r, rnd.between(500, 4000)));
      const victim = live.splice(rnd.between(0, live.length), 1)[0];
      victim.kill('SIGKILL');
      await exitOf(victim);
      live.push(api.startWorker());
    }

    const deadline = Date.now() + 200_000;
    const docs = new Map<string, any>();
    while (docs.size < ids.length) {
      for (const id of ids) {
        if (docs.has(id)) continue;
        const res = await api.server.request('GET', `/documents/${id}`);
        if (res.body.status === 'ready' || res.body.status === 'failed') docs.set(id, res.body);
      }
      if (docs.size < ids.length && Date.now() > deadline) throw new Error(`${ids.length - docs.size} documents still unfinished`);
      if (docs.size < ids.length) await new Promise((r) => setTimeout(r, 250));
    }

    const { services } = api.server;
    const chunker = new Chunker({ tokenCounter: services.tokenCounter, ...services.config.chunking });
    let ready = 0;
    let chunks = 0;
    for (const [i, id] of ids.entries()) {
      const doc = docs.get(id);
      if (doc.status === 'failed') {
        expect(doc.error.code).toEqual(expect.any(String));
        continue;
      }
      ready++;
      const expected = chunker.chunk(await parseSource(Buffer.from(texts[i], 'utf8'), 'text')).length;
      expect(doc.chunkCount).toBe(expected);
      expect(await services.vectors.count('default', { documentId: id })).toBe(expected);
      const listed = await services.vectors.listChunks('default', id, doc.version, 0, expected + 10);
      expect(new Set(listed.map((c) => c.id)).size).toBe(expected);
      expect(new Set(listed.map((c) => c.chunkIndex)).size).toBe(expected);
      chunks += expected;
    }
    console.log(
      `worker-kills: seed ${rnd.seed}, ${DOCUMENTS} documents, ${kills} SIGKILLs, ${ready} ready / ${DOCUMENTS - ready} failed, ${chunks} chunks checked, no duplicates, all done ${Date.now() - startedAt} ms after the first worker started`,
    );
    // Killed workers' jobs are retried: none of them needs to fail (each job stalls at most a few times).
    expect(ready).toBe(DOCUMENTS);
  }, 300_000);
});
