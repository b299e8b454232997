import fs from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';
import { TokenCounter } from '../../src/core/tokens/token-counter';

/**
 * Collection reindexing through the real HTTP API, queue and workers, on LanceDB (and on the Qdrant double in the
 * `qdrant` project): the switch-over under concurrent writes and searches, a model and chunking change, a failed and a
 * cancelled reindex leaving the old index serving.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    API_KEYS: 'key-a=tenant-a,key-b=tenant-b',
    REINDEX_DROP_GRACE_MS: '300',
    // One document at a time, so a rebuild of a few dozen documents lasts long enough to write and search during it.
    REINDEX_CONCURRENCY: '1',
    JOB_ATTEMPTS: '2',
  });
});
afterAll(async () => {
  await server?.cleanup();
});

const A = { authorization: 'Bearer key-a' };
const B = { authorization: 'Bearer key-b' };
const req = (method: string, p: string, body?: unknown, headers: Record<string, string> = A) => server.request(method, p, body, headers);

const WORDS = ['amber', 'basalt', 'cobalt', 'dune', 'ember', 'fjord', 'garnet', 'harbor', 'indigo', 'jasper', 'kelp', 'lagoon'];
/** A text findable by its unique code word (`tag`), long enough for several chunks at a small chunk size. */
function documentText(tag: string, sentences = 6): string {
  const body = Array.from(
    { length: sentences },
    (_, i) => `The ${WORDS[i % WORDS.length]} survey number ${i} recorded ${tag} near the ${WORDS[(i + 5) % WORDS.length]} station.`,
  );
  return body.join(' ');
}

async function upload(collection: string, tag: string): Promise<string> {
  const res = await req('POST', '/documents', { text: documentText(tag), title: `Survey ${tag}`, collection });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

async function uploadAll(collection: string, tags: string[]): Promise<string[]> {
  const res = await req('POST', '/documents/bulk', {
    collection,
    documents: tags.map((tag) => ({ text: documentText(tag), title: `Survey ${tag}` })),
  });
  expect(res.status).toBe(202);
  const ids = res.body.documents.map((d: { id: string }) => d.id) as string[];
  for (const id of ids) expect((await waitForDocument(server, id, A)).status).toBe('ready');
  return ids;
}

async function waitForReindex(jobId: string, headers = A, timeoutMs = 90_000) {
  return waitFor(
    `reindex ${jobId} to end`,
    async () => {
      const res = await req('GET', `/reindex/${jobId}`, undefined, headers);
      expect(res.status).toBe(200);
      return ['completed', 'failed', 'cancelled'].includes(res.body.status) ? res.body : undefined;
    },
    timeoutMs,
    50,
  );
}

/** The job once the index its collection left is gone (REINDEX_DROP_GRACE_MS after it completed). */
async function waitForOldIndexDropped(jobId: string, headers = A) {
  return waitFor(
    `the old index of reindex ${jobId} to be dropped`,
    async () => {
      const res = await req('GET', `/reindex/${jobId}`, undefined, headers);
      return res.body.oldIndex?.droppedAt ? res.body : undefined;
    },
    30_000,
    50,
  );
}

async function searchIds(collection: string, query: string, mode = 'hybrid', headers = A): Promise<string[]> {
  const res = await req('POST', '/search', { query, collection, mode, k: 10 }, headers);
  expect(res.status).toBe(200);
  return res.body.results.map((r: { documentId: string }) => r.documentId);
}

/** The physical indexes that exist: LanceDB tables, or Qdrant collections on the double. */
async function physicalIndexes(): Promise<string[]> {
  const vector = server.services.config.vector;
  if (vector.backend === 'qdrant') {
    const res = await fetch(`${vector.url}/collections`);
    const body = (await res.json()) as { result: { collections: Array<{ name: string }> } };
    return body.result.collections.map((c) => c.name);
  }
  const connection = await lancedb.connect(vector.dir);
  try {
    return await connection.tableNames();
  } finally {
    connection.close();
  }
}

const tokenCounter = new TokenCounter();
/** At most chunkSize tokens, and the count stored is the chunk's own exact count. */
function expectChunksWithin(chunks: Array<{ text: string; tokenCount: number }>, chunkSize: number): void {
  for (const chunk of chunks) {
    expect(chunk.tokenCount).toBeLessThanOrEqual(chunkSize);
    expect(tokenCounter.count(chunk.text)).toBe(chunk.tokenCount);
  }
}

const indexNamed = (names: string[], jobId: string) => names.some((name) => name.includes(`chunks_r${jobId}`));

describe('When a collection is reindexed with another embedding model and chunking', () => {
  it('then search switches to the new index, chunks follow the new chunking, and the old chunks are gone', async () => {
    const ids = await uploadAll('models', ['zircon1', 'zircon2', 'zircon3']);
    const before = await req('GET', `/documents/${ids[0]}/chunks`);
    expect(before.body.chunks).toHaveLength(1); // default chunking: one chunk per short document

    const started = await req('POST', '/reindex', {
      collection: 'models',
      embeddingModel: 'offline-hash-v1-256',
      chunking: { chunkSize: 32, chunkOverlap: 4 },
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      jobId: expect.stringMatching(/^[0-9a-f]{16}$/),
      status: 'queued',
      embeddingModel: 'offline-hash-v1-256',
      dimensions: 256,
    });
    const done = await waitForReindex(started.body.jobId);
    expect(done).toMatchObject({ status: 'completed', progress: { done: 3, total: 3 }, collection: 'models' });
    expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    // Completed at the switch; the index it left goes REINDEX_DROP_GRACE_MS (300 ms here) later, reported apart.
    expect(Date.parse(done.oldIndex.dropAfter) - Date.parse(done.finishedAt)).toBe(300);
    const dropped = await waitForOldIndexDropped(started.body.jobId);
    expect(Date.parse(dropped.oldIndex.droppedAt) - Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(250);
    expect(dropped.finishedAt).toBe(done.finishedAt);

    const after = await req('GET', `/documents/${ids[0]}/chunks`);
    expect(after.body.chunks.length).toBeGreaterThan(2);
    expectChunksWithin(after.body.chunks, 32);
    for (const mode of ['hybrid', 'dense', 'keyword']) expect((await searchIds('models', 'zircon2 survey', mode))[0]).toBe(ids[1]);
    // The new index holds 256-dimension vectors only; the default index no longer holds this collection.
    expect(await server.services.vectors.count('tenant-a', { collection: 'models' })).toBe(0);
    const route = await server.services.indexes.catalog.route('tenant-a', 'models');
    expect(route).toMatchObject({ embeddingModel: 'offline-hash-v1-256', dimensions: 256, chunking: { chunkSize: 32, chunkOverlap: 4 } });

    // The new index records its model: opening it as the old model's index is refused, so vectors never mix.
    const misread = server.services.indexes.options.openStore({ ...route, embeddingModel: 'offline-hash-v1', dimensions: 384 });
    await expect(misread.init()).rejects.toMatchObject({ code: 'embedding_mismatch' });
    await misread.close();

    // A document reindexed on its own follows its collection's chunking.
    const single = await req('POST', `/documents/${ids[2]}/reindex`);
    expect(single.status).toBe(202);
    expect((await waitForDocument(server, ids[2], A)).status).toBe('ready');
    const rechunked = await req('GET', `/documents/${ids[2]}/chunks`);
    expect(rechunked.body.chunks.length).toBeGreaterThan(2);
    expectChunksWithin(rechunked.body.chunks, 32);
    expect((await searchIds('models', 'zircon3 survey'))[0]).toBe(ids[2]);

    // Uploads after the switch land in the new index with its chunking; a second reindex drops the first one's index.
    const late = await upload('models', 'zircon4');
    await waitForDocument(server, late, A);
    expect((await searchIds('models', 'zircon4 survey'))[0]).toBe(late);
    const again = await req('POST', '/reindex', { collection: 'models' });
    expect((await waitForReindex(again.body.jobId)).status).toBe('completed');
    await waitForOldIndexDropped(again.body.jobId);
    expect(indexNamed(await physicalIndexes(), started.body.jobId)).toBe(false);
    expect((await searchIds('models', 'zircon4 survey'))[0]).toBe(late);
    // Other collections and tenants are untouched.
    expect(await searchIds('models', 'zircon2 survey', 'hybrid', B)).toEqual([]);
  });
});

describe('When the default collection is reindexed', () => {
  it('then session memory, which shares the default index, is left alone', async () => {
    const ids = await uploadAll('default', ['garnet1', 'garnet2']);
    const imported = await req('POST', '/sessions/memory-keeper/messages', {
      messages: [
        { role: 'user', content: 'The spare keys to the boathouse hang behind the blue door.' },
        { role: 'assistant', content: 'Noted: behind the blue door.' },
      ],
    });
    expect(imported.status).toBe(201);
    await waitFor(
      'recall indexing',
      async () => ((await req('GET', '/sessions/memory-keeper')).body.recallIndexedThroughSeq >= imported.body.lastSeq ? true : undefined),
      30_000,
      50,
    );
    const memory = await server.services.sessionVectors.count('tenant-a', { collection: '_sessions' });
    expect(memory).toBeGreaterThan(0);

    const started = await req('POST', '/reindex', {});
    expect(started.body.collection).toBe('default');
    expect((await waitForReindex(started.body.jobId)).status).toBe('completed');
    await waitForOldIndexDropped(started.body.jobId);
    expect(await server.services.sessionVectors.count('tenant-a', { collection: '_sessions' })).toBe(memory);
    expect(await server.services.vectors.count('tenant-a', { collection: 'default' })).toBe(0);
    expect((await searchIds('default', 'garnet2 survey'))[0]).toBe(ids[1]);
    const context = await req('POST', '/sessions/memory-keeper/context', { question: 'Where are the boathouse keys?', k: 0 });
    expect(JSON.stringify(context.body.messages)).toContain('blue door');
  });
});

describe('When documents are uploaded and deleted while a reindex runs', () => {
  it('then every search during the rebuild and the switch finds existing content, and the new index ends exactly right', async () => {
    const tags = Array.from({ length: 60 }, (_, i) => `quartz${i}`);
    const ids = await uploadAll('live', tags);
    const started = await req('POST', '/reindex', { collection: 'live', chunking: { chunkSize: 48, chunkOverlap: 8 } });
    expect(started.status).toBe(202);
    const jobId = started.body.jobId as string;

    // Searches for a document that stays, in a loop until the reindex ends: never an error, never empty.
    let finished = false;
    let searches = 0;
    const searching = (async () => {
      while (!finished) {
        for (const mode of ['hybrid', 'keyword', 'dense']) {
          const found = await searchIds('live', 'quartz7 survey', mode);
          expect(found[0]).toBe(ids[7]);
          searches++;
        }
      }
    })();

    // Meanwhile: new documents, deletions, and a replacement by re-upload under the same externalId.
    const added: string[] = [];
    for (let i = 0; i < 5; i++) added.push(await upload('live', `onyx${i}`));
    const deleted = [ids[0], ids[1], ids[2]];
    for (const id of deleted) expect((await req('DELETE', `/documents/${id}`)).status).toBe(204);
    // The writes really overlapped the rebuild (otherwise this test would prove nothing).
    const midway = await req('GET', `/reindex/${jobId}`);
    for (const id of added) expect((await waitForDocument(server, id, A)).status).toBe('ready');
    const done = await waitForReindex(jobId);
    finished = true;
    await searching;
    expect(done.status).toBe('completed');
    expect(searches).toBeGreaterThan(0);
    expect(['queued', 'running', 'switching']).toContain(midway.body.status);

    for (const [i, id] of added.entries()) expect((await searchIds('live', `onyx${i} survey`))[0]).toBe(id);
    for (const [i, id] of ids.entries()) {
      const found = await searchIds('live', `quartz${i} survey`, 'keyword');
      if (deleted.includes(id)) expect(found).not.toContain(id);
      else expect(found[0]).toBe(id);
    }
    // Nothing of the deleted documents is left in the new index, and every surviving document has its chunks.
    const { store } = await server.services.indexes.live('tenant-a', 'live');
    for (const id of deleted) expect(await store.count('tenant-a', { documentId: id })).toBe(0);
    for (const id of [...ids.slice(3), ...added]) expect(await store.count('tenant-a', { documentId: id })).toBeGreaterThan(0);
  });
});

describe('When a reindex fails', () => {
  it('then the old index keeps serving, the half-built index is dropped, and the job reports why', async () => {
    const ids = await uploadAll('fragile', ['opal1', 'opal2', 'opal3']);
    // The stored source of one document disappears (a lost volume): the rebuild cannot reproduce it and must not switch.
    const sources = path.join(server.dataDir, 'sources', 'tenant-a');
    const files = await fs.readdir(path.join(sources, encodeURIComponent(ids[1].slice(-2))));
    const original = files.find((f) => f.startsWith(`${ids[1]}.v1.original`));
    await fs.rm(path.join(sources, encodeURIComponent(ids[1].slice(-2)), original!));

    const started = await req('POST', '/reindex', { collection: 'fragile', embeddingModel: 'offline-hash-v1-128' });
    const done = await waitForReindex(started.body.jobId);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'source_missing' } });
    expect(await server.services.indexes.catalog.route('tenant-a', 'fragile')).toEqual(server.services.indexes.catalog.default);
    expect(await server.services.indexes.catalog.build('tenant-a', 'fragile')).toBeUndefined();
    expect(indexNamed(await physicalIndexes(), started.body.jobId)).toBe(false);
    for (const [i, id] of ids.entries()) expect((await searchIds('fragile', `opal${i + 1} survey`))[0]).toBe(id);
    // Writes go on as before.
    const more = await upload('fragile', 'opal4');
    expect((await waitForDocument(server, more, A)).status).toBe('ready');
    expect((await searchIds('fragile', 'opal4 survey'))[0]).toBe(more);
  });
});

describe('When a reindex is cancelled', () => {
  it('then it stops, the old index keeps serving, and a new reindex may start', async () => {
    const ids = await uploadAll(
      'cancel',
      Array.from({ length: 30 }, (_, i) => `topaz${i}`),
    );
    const started = await req('POST', '/reindex', { collection: 'cancel', embeddingModel: 'offline-hash-v1-64' });
    const jobId = started.body.jobId as string;
    const second = await req('POST', '/reindex', { collection: 'cancel' });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'reindex_in_progress', details: { jobId } });

    const cancelled = await req('DELETE', `/reindex/${jobId}`);
    expect(cancelled.status).toBe(200);
    expect(['cancelled', 'completed']).toContain(cancelled.body.status);
    if (cancelled.body.status === 'cancelled') {
      expect((await waitForReindex(jobId)).status).toBe('cancelled');
      expect(await server.services.indexes.catalog.route('tenant-a', 'cancel')).toEqual(server.services.indexes.catalog.default);
      // The worker notices (at once if the job had not started, else before its next document), drops the half-built
      // index and ends the job; no half-built index is left once it has.
      await waitFor('the worker to end the cancelled job', async () => {
        const job = await server.services.reindexProducer.queue.getJob(jobId);
        return job && (await job.getState()) === 'completed' ? true : undefined;
      });
      expect(indexNamed(await physicalIndexes(), jobId)).toBe(false);
    }
    expect((await searchIds('cancel', 'topaz3 survey'))[0]).toBe(ids[3]);
    const again = await req('DELETE', `/reindex/${jobId}`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'reindex_finished', details: { jobId, status: cancelled.body.status } });
    const next = await req('POST', '/reindex', { collection: 'cancel' });
    expect(next.status).toBe(202);
    expect((await waitForReindex(next.body.jobId)).status).toBe('completed');
  });
});

describe('When a reindex request is bad', () => {
  it('then it answers a clear 4xx and starts nothing', async () => {
    const unknownModel = await req('POST', '/reindex', { collection: 'bad', embeddingModel: 'no-such-model' });
    expect(unknownModel.status).toBe(400);
    expect(unknownModel.body.error.code).toBe('unknown_embedding_model');
    const badChunking = await req('POST', '/reindex', { collection: 'bad', chunking: { chunkSize: 64, chunkOverlap: 64 } });
    expect(badChunking.status).toBe(400);
    expect(badChunking.body.error.code).toBe('invalid_request');
    expect((await req('POST', '/reindex', { collection: '_sessions' })).status).toBe(400);
    expect((await req('POST', '/reindex', { collection: 'bad', extra: 1 })).status).toBe(400);
    expect((await req('GET', '/reindex/0123456789abcdef')).status).toBe(404);
    expect((await req('GET', '/reindex/not-an-id')).status).toBe(400);
    expect(await server.services.indexes.catalog.build('tenant-a', 'bad')).toBeUndefined();
  });

  it('then another tenant’s job is as unknown as a made-up one', async () => {
    const started = await req('POST', '/reindex', { collection: 'private' });
    expect((await req('GET', `/reindex/${started.body.jobId}`, undefined, B)).status).toBe(404);
    expect((await req('DELETE', `/reindex/${started.body.jobId}`, undefined, B)).status).toBe(404);
    expect((await waitForReindex(started.body.jobId)).status).toBe('completed');
  });
});

describe('When a tenant lists its reindex jobs', () => {
  it('then they come newest first, by collection if asked, a page at a time, and no other tenant’s appear', async () => {
    const started: string[] = [];
    for (const collection of ['list-one', 'list-two', 'list-one']) {
      const res = await req('POST', '/reindex', { collection }, B);
      expect(res.status).toBe(202);
      started.push(res.body.jobId);
      expect((await waitForReindex(res.body.jobId, B)).status).toBe('completed');
    }
    const all = await req('GET', '/reindex', undefined, B);
    expect(all.status).toBe(200);
    expect(all.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([...started].reverse());
    expect(all.body.jobs[0]).toMatchObject({ status: 'completed', collection: 'list-one', progress: { done: 0, total: 0 } });
    expect(all.body.nextCursor).toBeNull();

    const one = await req('GET', '/reindex?collection=list-one', undefined, B);
    expect(one.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([started[2], started[0]]);

    const first = await req('GET', '/reindex?limit=2', undefined, B);
    expect(first.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([started[2], started[1]]);
    const second = await req('GET', `/reindex?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`, undefined, B);
    expect(second.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([started[0]]);
    expect(second.body.nextCursor).toBeNull();

    const mine = (await req('GET', '/reindex?limit=100')).body.jobs.map((j: { jobId: string }) => j.jobId);
    for (const id of started) expect(mine).not.toContain(id);
    expect((await req('GET', '/reindex?cursor=nope', undefined, B)).status).toBe(400);
    expect((await req('GET', '/reindex?limit=0', undefined, B)).status).toBe(400);
  });
});
