import { startTestServer, waitForDocument, type TestServer } from '../support/test-server';
import { VOCABULARY } from '../support/fixtures';

/**
 * Small chunks, so that one short document yields several chunks and consecutive chunks overlap word by word
 * (a text without newlines is split on spaces, and the last words of a chunk start the next).
 */
const CHUNK_SIZE = 48;
const CHUNK_OVERLAP = 12;

let server: TestServer;
const post = (p: string, body?: unknown) => server.request('POST', p, body);

interface Result {
  chunkId: string;
  chunkIds?: string[];
  documentId: string;
  text: string;
  chunkIndex: number;
}

async function addDocument(title: string, text: string): Promise<string> {
  const res = await post('/documents', { title, text });
  expect(res.status).toBe(202);
  const doc = await waitForDocument(server, res.body.id, {}, 10_000);
  expect(doc.status).toBe('ready');
  return res.body.id;
}

/** Unrelated words, different per seed, on one line (fixtures' generatedText repeats one word for small seeds). */
function filler(seed: number, words: number): string {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(VOCABULARY[(x >>> 16) % VOCABULARY.length]);
  }
  return out.join(' ');
}

/** The same refund rule, worded a little differently each time: near-duplicate chunks, far apart in the document. */
const refundRule = (variant: string) =>
  `Refund rule ${variant}: a cancelled order is refunded in full, and the refund for the cancelled order reaches the original card within fourteen days of the cancellation.`;
const REFUND_QUESTION = 'how is a cancelled order refunded';

let refunds: string;
let shipping: string;
let airships: string;
let airshipText: string;

beforeAll(async () => {
  server = await startTestServer({ CHUNK_SIZE_TOKENS: String(CHUNK_SIZE), CHUNK_OVERLAP_TOKENS: String(CHUNK_OVERLAP) });
  refunds = await addDocument(
    'Refund handbook',
    [refundRule('one'), filler(1, 30), refundRule('two'), filler(2, 30), refundRule('three')].join('\n\n'),
  );
  shipping = await addDocument(
    'Shipping terms',
    'A cancelled order that already shipped is refunded once the parcel is back; return shipping is paid by the customer.',
  );
  const airshipPassage =
    'The zeppelin hangar at the mooring mast held two airships. Each airship left the zeppelin hangar at dawn, ' +
    'climbed over the mooring mast and came back to the hangar at dusk, when the zeppelin crews logged the flight.';
  airshipText = `${filler(3, 60)} ${airshipPassage} ${filler(4, 60)}`;
  airships = await addDocument('Airfield history', airshipText);
  // Unrelated documents: the candidates MMR normalises over hold irrelevant chunks too, as in a real collection.
  for (let i = 5; i < 9; i++) await addDocument(`Notes ${i}`, filler(i, 40));
}, 60_000);

afterAll(async () => {
  await server?.cleanup();
});

const search = async (body: Record<string, unknown>) => {
  const res = await post('/search', body);
  expect(res.status).toBe(200);
  return res.body.results as Result[];
};
const isRefundRule = (r: Result) => r.documentId === refunds && r.text.startsWith('Refund rule');

describe('When a document’s near-duplicate chunks lead the ranking', () => {
  it('then without diversity they fill the top k, and the response has no new fields', async () => {
    const results = await search({ query: REFUND_QUESTION, k: 3 });
    expect(results).toHaveLength(3);
    expect(results.every(isRefundRule)).toBe(true);
    for (const r of results)
      expect(Object.keys(r).sort()).toEqual(['chunkId', 'chunkIndex', 'documentId', 'metadata', 'score', 'text', 'title']);
  });

  it('then with diversity the distinct relevant chunk enters the top k in place of the duplicates', async () => {
    const results = await search({ query: REFUND_QUESTION, k: 3, diversity: {} });
    expect(results).toHaveLength(3);
    expect(results[0].documentId).toBe(refunds);
    expect(results.map((r) => r.documentId)).toContain(shipping);
    expect(results.filter(isRefundRule)).toHaveLength(1);
  });

  it('then diversity with lambda 1 ranks by relevance alone, as without it', async () => {
    const plain = await search({ query: REFUND_QUESTION, k: 3 });
    const lambdaOne = await search({ query: REFUND_QUESTION, k: 3, diversity: { lambda: 1 } });
    expect(lambdaOne.map((r) => r.chunkId)).toEqual(plain.map((r) => r.chunkId));
  });
});

describe('When consecutive chunks of a long document both match', () => {
  const query = 'zeppelin hangar mooring mast';

  it('then without mergeAdjacent they come back as separate results', async () => {
    const results = await search({ query, k: 4 });
    expect(results.filter((r) => r.documentId === airships).length).toBeGreaterThanOrEqual(2);
  });

  it('then with mergeAdjacent they come back as one passage holding each chunk’s text once, with every chunk id', async () => {
    const results = await search({ query, k: 4, mergeAdjacent: true });
    const passage = results.find((r) => r.documentId === airships)!;
    expect(results.filter((r) => r.documentId === airships)).toHaveLength(1);
    expect(passage.chunkIds!.length).toBeGreaterThanOrEqual(2);
    expect(passage.chunkId).toBe(passage.chunkIds![0]);

    const listed = await server.request('GET', `/documents/${airships}/chunks?limit=100`);
    const chunks = listed.body.chunks as { id: string; index: number; text: string }[];
    const first = chunks.findIndex((c) => c.id === passage.chunkId);
    const run = chunks.slice(first, first + passage.chunkIds!.length);
    expect(run.map((c) => c.id)).toEqual(passage.chunkIds);
    expect(passage.chunkIndex).toBe(run[0].index);
    for (const c of run) expect(passage.text).toContain(c.text.trim());
    // The chunks overlap, yet the passage is a plain span of the document: the shared words appear once.
    expect(run.reduce((n, c) => n + c.text.length, 0)).toBeGreaterThan(passage.text.length);
    expect(airshipText).toContain(passage.text);
    for (const r of results) expect(r.chunkIds).toEqual(expect.arrayContaining([r.chunkId]));
  });
});

describe('When the retrieval options are malformed', () => {
  it.each([
    ['a lambda above 1', { diversity: { lambda: 1.5 } }],
    ['a negative lambda', { diversity: { lambda: -0.1 } }],
    ['diversity as a bare number', { diversity: 0.5 }],
    ['an unknown diversity field', { diversity: { lambda: 0.5, candidates: 40 } }],
    ['mergeAdjacent that is not a boolean', { mergeAdjacent: 'yes' }],
  ])('then search with %s answers 400 invalid_request', async (_name, extra) => {
    const res = await post('/search', { query: REFUND_QUESTION, ...extra });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });

  it('then the context with a lambda above 1 answers 400 invalid_request', async () => {
    const res = await post('/sessions/options-bad/context', { question: REFUND_QUESTION, diversity: { lambda: 1.5 } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });
});

describe('When a session’s context is built with diversity', () => {
  it('then the context builder cites the distinct source that the duplicates kept out', async () => {
    const cited = async (extra: Record<string, unknown>) => {
      const res = await post('/sessions/options-context/context', { question: REFUND_QUESTION, k: 3, ...extra });
      expect(res.status).toBe(200);
      return (res.body.citations as { documentId: string }[]).map((c) => c.documentId);
    };
    expect(await cited({})).toEqual([refunds, refunds, refunds]);
    const diverse = await cited({ diversity: { lambda: 0.7 } });
    expect(diverse).toContain(shipping);
    expect(diverse.filter((d) => d === refunds).length).toBeLessThan(3);
  });
});
