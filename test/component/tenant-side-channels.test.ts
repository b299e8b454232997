import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { waitFor } from '../support/wait-for';

/**
 * No side channel through keyword statistics, over HTTP: what tenant B's keyword search and session recall answer must
 * not depend on what tenant A stores. B's documents are built so that shared statistics WOULD reorder them: "orchid"
 * and "humidity" are each in one of B's documents, so for B alone the chunk repeating "orchid" ranks first; once A
 * stores many "orchid" chunks, an IDF computed over everyone's chunks would sink it below the "humidity" chunk.
 */
let server: TestServer;
const A = { authorization: 'Bearer ka' };
const B = { authorization: 'Bearer kb' };

beforeAll(async () => {
  server = await startTestServer({ API_KEYS: 'ka=alpha,kb=beta', RECALL_K: '1' });
});
afterAll(async () => {
  await server?.cleanup();
});

async function upload(text: string, headers: Record<string, string>): Promise<string> {
  const created = await server.request('POST', '/documents', { text, title: 'note' }, headers);
  expect(created.status).toBe(202);
  expect((await waitForDocument(server, created.body.id, headers)).status).toBe('ready');
  return created.body.id as string;
}

async function recallIndexed(id: string, seq: number, headers: Record<string, string>): Promise<void> {
  await waitFor(
    `recall of ${id} through ${seq}`,
    async () =>
      (await server.request('GET', `/sessions/${id}`, undefined, headers)).body.recallIndexedThroughSeq >= seq ? true : undefined,
    60_000,
    100,
  );
}

const filler = (i: number) =>
  i % 2 === 0 ? `We talked about the train timetable for day ${i}.` : `Noted, the timetable for day ${i} is saved.`;

describe('When tenant A stores and deletes many chunks and turns holding tenant B query terms', () => {
  it('then B keyword search (ids, order, scores) and B session recall answer exactly as before, and after the deletes', async () => {
    const mine = [await upload('orchid orchid orchid notes', B), await upload('humidity notes', B), await upload('pruning roses notes', B)];
    const bSession = 'b-greenhouse';
    const turns = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: filler(i) }));
    turns[2] = { role: 'user', content: 'My orchid orchid orchid collection sits by the window.' };
    turns[6] = { role: 'user', content: 'The humidity gauge broke last week.' };
    expect((await server.request('POST', `/sessions/${bSession}/messages`, { messages: turns }, B)).status).toBe(201);
    await recallIndexed(bSession, 40, B);

    const keyword = async () => {
      const res = await server.request('POST', '/search', { query: 'orchid humidity', mode: 'keyword', k: 10 }, B);
      expect(res.status).toBe(200);
      return res.body.results.map((r: { documentId: string; score: number }) => ({ documentId: r.documentId, score: r.score }));
    };
    const recall = async () => {
      const res = await server.request(
        'POST',
        `/sessions/${bSession}/context`,
        { question: 'orchid humidity', k: 0, maxContextTokens: 1500 },
        B,
      );
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 200, error: undefined });
      return res.body.recalledSeqs as number[];
    };
    const before = { keyword: await keyword(), recall: await recall() };
    expect(before.keyword.map((r: { documentId: string }) => r.documentId)).toEqual([mine[0], mine[1]]);
    expect(before.recall).toContain(3);

    const noisy: string[] = [];
    for (let i = 0; i < 12; i++) noisy.push(await upload(`orchid report ${i} orchid`, A));
    const aTurns = Array.from({ length: 30 }, (_, i) => ({
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: `orchid orchid update ${i}`,
    }));
    expect((await server.request('POST', '/sessions/a-noise/messages', { messages: aTurns }, A)).status).toBe(201);
    await recallIndexed('a-noise', 30, A);
    expect({ keyword: await keyword(), recall: await recall() }).toEqual(before);

    for (const id of noisy) expect((await server.request('DELETE', `/documents/${id}`, undefined, A)).status).toBe(204);
    expect((await server.request('DELETE', '/sessions/a-noise', undefined, A)).status).toBe(204);
    await waitFor(
      "tenant A's chunks and turns deleted",
      async () => ((await server.services.vectors.count('alpha')) === 0 ? true : undefined),
      60_000,
      100,
    );
    expect({ keyword: await keyword(), recall: await recall() }).toEqual(before);
  });
});
