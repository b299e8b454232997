import fs from 'node:fs/promises';
import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { sharedPdf } from '../support/fixtures';
import { keysMatching } from '../support/test-redis';
import { ingestJobId } from '../../src/queues/ingest-queue';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ MAX_UPLOAD_BYTES: String(3 * 1024 * 1024) });
});
afterAll(async () => {
  await server?.cleanup();
});

const post = (p: string, body?: unknown) => server.request('POST', p, body);
const search = (query: string, extra: Record<string, unknown> = {}) => post('/search', { query, ...extra });

function form(fields: Record<string, string>, file?: { name: string; type: string; data: Buffer | string }) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  if (file) fd.append('file', new Blob([file.data], { type: file.type }), file.name);
  return fd;
}

async function addText(text: string, extra: Record<string, unknown> = {}) {
  const res = await post('/documents', { text, ...extra });
  expect([200, 202]).toContain(res.status);
  return res.body as { id: string; status: string; duplicate?: boolean };
}

describe('When a text document is posted as JSON', () => {
  let id: string;
  beforeAll(async () => {
    const created = await addText('The aurora borealis over Tromsø is best seen between September and March.', {
      title: 'Aurora guide',
      metadata: { lang: 'en', year: 2024 },
    });
    expect(created.status).toBe('queued');
    id = created.id;
  });

  it('then it becomes ready with its chunks, progress and metadata', async () => {
    const doc = await waitForDocument(server, id);
    expect(doc).toMatchObject({
      id,
      collection: 'default',
      title: 'Aurora guide',
      status: 'ready',
      chunkCount: 1,
      mimeType: 'text/plain',
      metadata: { lang: 'en', year: 2024 },
      progress: { stage: 'done', done: 1, total: 1 },
    });
    expect(doc.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof doc.indexedAt).toBe('string');
    const chunks = await server.request('GET', `/documents/${id}/chunks`);
    expect(chunks.status).toBe(200);
    expect(chunks.body.chunks).toHaveLength(1);
    expect(chunks.body.chunks[0]).toMatchObject({ index: 0, metadata: { lang: 'en', year: 2024 } });
    expect(chunks.body.chunks[0].text).toContain('Tromsø');
    expect(chunks.body.chunks[0].tokenCount).toBeGreaterThan(10);
  });

  it('then search finds it in every mode, and filters narrow it', async () => {
    for (const mode of ['hybrid', 'dense', 'keyword']) {
      const res = await search('when can I see the aurora borealis', { mode });
      expect(res.status).toBe(200);
      expect(res.body.results[0]).toMatchObject({ documentId: id, title: 'Aurora guide', chunkIndex: 0 });
    }
    const miss = await search('aurora borealis', { filter: { metadata: { lang: 'fr' } } });
    expect(miss.body.results.find((r: { documentId: string }) => r.documentId === id)).toBeUndefined();
    const hit = await search('aurora borealis', { filter: { metadata: { lang: ['fr', 'en'] }, documentIds: [id] } });
    expect(hit.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([id]);
  });

  it('then the same content again answers the existing document as a duplicate, adding no chunks', async () => {
    const again = await post('/documents', { text: 'The aurora borealis over Tromsø is best seen between September and March.' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id, duplicate: true });
    expect(await server.services.vectors.count('default', { documentId: id })).toBe(1);
  });

  it('then it is listed', async () => {
    const res = await server.request('GET', '/documents?limit=100');
    expect(res.status).toBe(200);
    expect(res.body.documents.map((d: { id: string }) => d.id)).toContain(id);
  });
});

describe('When a document is sent again with the same externalId and new content', () => {
  it('then the old chunks go and the new ones come', async () => {
    const v1 = await addText('Version one talks about pelicans nesting on the lagoon.', { externalId: 'kb-42' });
    await waitForDocument(server, v1.id);
    const v2res = await post('/documents', { text: 'Version two talks about flamingos wading in salt pans.', externalId: 'kb-42' });
    expect(v2res.status).toBe(202);
    expect(v2res.body.id).toBe(v1.id);
    const doc = await waitForDocument(server, v1.id);
    expect(doc.version).toBe(2);
    const old = await search('pelicans nesting lagoon', { mode: 'keyword' });
    expect(old.body.results.find((r: { documentId: string }) => r.documentId === v1.id)).toBeUndefined();
    const fresh = await search('flamingos wading salt pans', { mode: 'keyword' });
    expect(fresh.body.results[0].documentId).toBe(v1.id);
    expect(await server.services.vectors.count('default', { documentId: v1.id })).toBe(1);
    const same = await post('/documents', { text: 'Version two talks about flamingos wading in salt pans.', externalId: 'kb-42' });
    expect(same.status).toBe(200);
    expect(same.body.duplicate).toBe(true);
  });
});

describe('When a multi-page PDF is uploaded', () => {
  it('then a phrase from page 3 finds a chunk from page 3 first', async () => {
    const pdf = await fs.readFile(sharedPdf('tracemonkey.pdf'));
    const res = await post(
      '/documents',
      form({ title: 'TraceMonkey', collection: 'papers' }, { name: 'tracemonkey.pdf', type: 'application/pdf', data: pdf }),
    );
    expect(res.status).toBe(202);
    const doc = await waitForDocument(server, res.body.id);
    expect(doc.status).toBe('ready');
    expect(doc.mimeType).toBe('application/pdf');
    expect(doc.chunkCount).toBeGreaterThan(10);
    // A phrase from page 3 of the paper (the caption of Figure 4).
    const found = await search(
      'The 17 instructions generated by the compiler compare favorably with the 100+ instructions that the interpreter would execute',
      { collection: 'papers', k: 5 },
    );
    expect(found.status).toBe(200);
    expect(found.body.results[0].metadata.pages).toContain(3);
  });
});

describe('When documents are sent in bulk', () => {
  it('then the answer keeps input order and marks duplicates', async () => {
    const docs = Array.from({ length: 30 }, (_, i) => ({
      text: `Bulk note number ${i} about the ${['otter', 'badger', 'heron'][i % 3]} census.`,
    }));
    docs.push({ text: docs[0].text });
    const res = await post('/documents/bulk', { documents: docs, collection: 'bulk' });
    expect(res.status).toBe(202);
    expect(res.body.documents).toHaveLength(31);
    expect(res.body.documents[30]).toMatchObject({ id: res.body.documents[0].id, duplicate: true });
    for (const d of res.body.documents.slice(0, 30)) await waitForDocument(server, d.id);
    const hit = await search('Bulk note number 17', { collection: 'bulk', mode: 'keyword', k: 1 });
    expect(hit.body.results[0].documentId).toBe(res.body.documents[17].id);
  });

  it('then content already stored is answered as a duplicate without a new source, and two requests racing with the same texts make one document each', async () => {
    const collection = 'bulk-race';
    const existing = await post('/documents', { text: 'Kestrels hover over motorway verges.', collection });
    const texts = Array.from({ length: 40 }, (_, i) => `Race note ${i}: swifts sleep on the wing, record ${i * 7}.`);
    const body = { collection, documents: [{ text: 'Kestrels hover over motorway verges.' }, ...texts.map((text) => ({ text }))] };
    const originals = async () =>
      (await fs.readdir(`${server.dataDir}/sources/default`, { recursive: true, withFileTypes: true })).filter(
        (f) => f.isFile() && f.name.endsWith('.original'),
      ).length;
    const before = await originals();
    const [a, b] = await Promise.all([post('/documents/bulk', body), post('/documents/bulk', body)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    for (const answer of [a, b]) expect(answer.body.documents[0]).toMatchObject({ id: existing.body.id, duplicate: true });
    // Each text has one document, named the same in both answers, created by exactly one of them.
    for (let i = 1; i <= texts.length; i++) {
      expect(a.body.documents[i].id).toBe(b.body.documents[i].id);
      expect(Boolean(a.body.documents[i].duplicate) !== Boolean(b.body.documents[i].duplicate)).toBe(true);
    }
    let listed = 0;
    for (let cursor: string | null = ''; cursor !== null;) {
      const page = await server.request('GET', `/documents?collection=${collection}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      listed += page.body.documents.length;
      cursor = page.body.nextCursor;
    }
    expect(listed).toBe(texts.length + 1);
    for (const d of a.body.documents.slice(1)) expect((await waitForDocument(server, d.id)).status).toBe('ready');
    // One source per new document (written by the workers from the inbox): the losing request's copies were removed.
    expect(await originals()).toBe(before + texts.length);
    expect(await keysMatching(server.services.redis, `${server.services.config.redisPrefix}:*:srcinbox:*`)).toEqual([]);
  });

  it('then a bulk document deleted before any worker read it leaves nothing behind in the inbox', async () => {
    const idle = await startTestServer({ RUN_WORKERS: 'off' });
    try {
      const res = await idle.request('POST', '/documents/bulk', {
        documents: [{ text: 'Wrens nest in old boots.' }, { text: 'Rooks gather at dusk.' }],
      });
      const inbox = () => keysMatching(idle.services.redis, `${idle.services.config.redisPrefix}:*:srcinbox:*`);
      expect(await inbox()).toHaveLength(2);
      expect((await idle.request('DELETE', `/documents/${res.body.documents[0].id}`)).status).toBe(204);
      expect(await inbox()).toHaveLength(1);
      // The other is read as any stored source would be: from the inbox once, from its file after that.
      const bytes = await idle.services.sources.getOriginal('default', res.body.documents[1].id, 1);
      expect(bytes?.toString()).toBe('Rooks gather at dusk.');
      expect(await inbox()).toEqual([]);
      expect((await idle.services.sources.getOriginal('default', res.body.documents[1].id, 1))?.toString()).toBe('Rooks gather at dusk.');
    } finally {
      await idle.cleanup();
    }
  });

  it('then 1,001 documents are refused with a clear limit', async () => {
    const docs = Array.from({ length: 1001 }, (_, i) => ({ text: `n${i}` }));
    const res = await post('/documents/bulk', { documents: docs });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'too_many_documents', details: { max: 1000, got: 1001 } });
  });
});

describe('When the service starts', () => {
  it('then it serves from the store its configuration selects, and readiness checks that store', async () => {
    const expected = process.env.TEST_VECTOR_STORE === 'qdrant' ? 'qdrant' : 'lancedb';
    expect(server.services.vectors.kind).toBe(expected);
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ redis: 'ok', vectorStore: 'ok' });
  });
});

describe('When an upload was recorded but its job was never queued (Redis failed between the two writes)', () => {
  it('then sending it again answers the duplicate and queues its job, once, single and bulk alike', async () => {
    const idle = await startTestServer({ RUN_WORKERS: 'off' });
    try {
      const queue = idle.services.producer.queue;
      const single = { text: 'Stranded upload: the ferry leaves at noon.' };
      const bulk = { documents: [{ text: 'Stranded bulk upload: gulls follow the ferry.' }] };
      const first = await idle.request('POST', '/documents', single);
      const firstBulk = await idle.request('POST', '/documents/bulk', bulk);
      const jobs = [ingestJobId(first.body.id, 1), ingestJobId(firstBulk.body.documents[0].id, 1)];
      // As a failover between the record's write and the job's would leave them: recorded, queued, no job.
      for (const job of jobs) await queue.remove(job);
      for (const job of jobs) expect(await queue.getJob(job)).toBeUndefined();

      expect(await idle.request('POST', '/documents', single)).toMatchObject({
        status: 200,
        body: { id: first.body.id, duplicate: true, status: 'queued' },
      });
      expect(await idle.request('POST', '/documents/bulk', bulk)).toMatchObject({
        status: 202,
        body: { documents: [{ id: firstBulk.body.documents[0].id, duplicate: true }] },
      });
      for (const job of jobs) expect(await queue.getJob(job)).toBeDefined();
      // A duplicate whose job is there adds none.
      const counts = await queue.getJobCounts();
      await idle.request('POST', '/documents', single);
      await idle.request('POST', '/documents/bulk', bulk);
      expect(await queue.getJobCounts()).toEqual(counts);
    } finally {
      await idle.cleanup();
    }
  });
});
