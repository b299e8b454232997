import { RagmemClient, RagmemError, type AskEvent } from '../../src/client';
import { startTestServer, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

let server: TestServer;
let alpha: RagmemClient;
beforeAll(async () => {
  server = await startTestServer({ API_KEYS: 'ka=alpha,kb=beta' });
  alpha = new RagmemClient({ baseUrl: `${server.url}/`, apiKey: 'ka' });
});
afterAll(async () => {
  await server?.cleanup();
});

const ready = (client: RagmemClient, id: string) =>
  waitFor(`document ${id} settled`, async () => {
    const doc = await client.documents.get(id);
    return doc.status === 'ready' || doc.status === 'failed' ? doc : undefined;
  });

describe('The typed client, against a running service', () => {
  it('adds text and files, lists them page by page, reads chunks and searches', async () => {
    const text = await alpha.documents.create({ text: 'Cloudberries ripen in August on the northern bogs.', collection: 'client' });
    const file = await alpha.documents.upload(new Blob(['# Saunas\n\nA smoke sauna is heated for hours before bathing.']), 'saunas.md', {
      collection: 'client',
      title: 'Saunas',
      metadata: { lang: 'en' },
    });
    expect(file.title).toBe('Saunas');
    expect((await ready(alpha, text.id)).status).toBe('ready');
    expect((await ready(alpha, file.id)).status).toBe('ready');

    const listed: string[] = [];
    for await (const doc of alpha.documents.all({ collection: 'client', limit: 1 })) listed.push(doc.id);
    expect(listed.sort()).toEqual([text.id, file.id].sort());
    expect((await alpha.documents.chunks(file.id)).chunks[0].text).toContain('smoke sauna');

    const hits = await alpha.search({ query: 'smoke sauna heated', collection: 'client', k: 2, mode: 'keyword' });
    expect(hits.results[0].documentId).toBe(file.id);
    // Another tenant's client sees none of it.
    const beta = new RagmemClient({ baseUrl: server.url, apiKey: 'kb' });
    expect((await beta.search({ query: 'smoke sauna heated', collection: 'client', k: 2 })).results).toEqual([]);

    await alpha.documents.delete(text.id);
    await expect(alpha.documents.get(text.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('asks as JSON and as a stream: context first, the deltas add up to the answer, done last', async () => {
    await alpha.documents.create({ text: 'The ferry to the island leaves at seven every morning.', collection: 'ferry' });
    const session = await alpha.sessions.create({ collection: 'ferry' });
    const doc = await alpha.documents.list({ collection: 'ferry' });
    await ready(alpha, doc.documents[0].id);

    const answer = await alpha.sessions.ask(session.id, { question: 'When does the ferry leave?' });
    expect(answer.answer.length).toBeGreaterThan(0);
    expect(answer.citations[0].documentId).toBe(doc.documents[0].id);

    const events: AskEvent[] = [];
    for await (const e of alpha.sessions.askStream(session.id, { question: 'And the ferry to the island?' })) events.push(e);
    expect(events[0].type).toBe('context');
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    const deltas = events.filter((e): e is Extract<AskEvent, { type: 'delta' }> => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.map((d) => d.text).join('')).toBe((done as Extract<AskEvent, { type: 'done' }>).answer.answer);

    const history = await alpha.sessions.messages(session.id);
    const oldestFirst = [...history.messages].sort((a, b) => a.seq - b.seq);
    expect(oldestFirst.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(oldestFirst[3].content).toBe((done as Extract<AskEvent, { type: 'done' }>).answer.answer);
    const preview = await alpha.sessions.context(session.id, { question: 'What about Sundays?' });
    expect(preview.context.used).toBeLessThanOrEqual(preview.context.budget);
  });

  it('turns error answers into RagmemError with the service’s code, status and details', async () => {
    const err: RagmemError = await alpha.search({ query: 'x', k: 1000 }).then(
      () => {
        throw new Error('expected a refusal');
      },
      (e: RagmemError) => e,
    );
    expect(err).toBeInstanceOf(RagmemError);
    expect([err.status, err.code]).toEqual([400, 'invalid_request']);
    const anonymous = new RagmemClient({ baseUrl: server.url });
    await expect(anonymous.usage()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('starts a reindex and follows it to the end, and reads usage', async () => {
    const job = await alpha.reindex.start({ collection: 'client', chunking: { chunkSize: 120, chunkOverlap: 10 } });
    const finished = await waitFor(`reindex ${job.jobId}`, async () => {
      const j = await alpha.reindex.get(job.jobId);
      return ['completed', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
    });
    expect(finished.status).toBe('completed');
    expect((await alpha.reindex.list()).jobs.map((j) => j.jobId)).toContain(job.jobId);
    expect((await alpha.usage()).totals.calls).toBeGreaterThan(0);
  });
});
