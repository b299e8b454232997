import { randomUUID } from 'node:crypto';
import type {
  HybridFusion,
  ChunkRecord,
  MetadataValue,
  SearchFilter,
  SearchMode,
  StoredChunk,
  VectorStore,
} from '../../src/stores/vector/vector-store';

/**
 * The behaviour every VectorStore must show, written against the interface only so that LanceDB and Qdrant run the
 * same tests. Vectors are tiny (8 dimensions) and built by hand so every expected ranking can be checked on paper.
 */

export const CONTRACT_DIMENSIONS = 8;

export interface ContractFixture {
  store: VectorStore;
  /** A new store over the same data (after `store` was closed); omit when the backend cannot persist. */
  reopen?: () => Promise<VectorStore>;
  /**
   * Set only by a store whose keyword statistics are still shared by every tenant of the index (a single LanceDB table,
   * kept for indexes created before partitioning): skips the case that one tenant's writes never move another's scores.
   */
  sharedKeywordStatistics?: true;
  cleanup: () => Promise<void>;
}

const MODES: SearchMode[] = ['dense', 'keyword', 'hybrid'];

/** A vector with the given leading components and zeros after them: e(0) = [1, 0, ...], v(1, 0.5) = [1, 0.5, 0, ...]. */
export function v(...components: number[]): Float32Array {
  const vector = new Float32Array(CONTRACT_DIMENSIONS);
  vector.set(components);
  return vector;
}

/** The unit vector along axis `i`. */
export function e(i: number): Float32Array {
  const vector = new Float32Array(CONTRACT_DIMENSIONS);
  vector[i] = 1;
  return vector;
}

/** Tenant names unique per test, so a shared server (Qdrant) never mixes tests; the quote exercises escaping. */
export function uniqueTenant(label: string): string {
  return `t-${label}-O'Hare-${randomUUID().slice(0, 8)}`;
}

export function makeChunk(fields: Partial<ChunkRecord> & Pick<ChunkRecord, 'id' | 'tenant'>): ChunkRecord {
  return {
    collection: 'docs',
    documentId: 'doc-1',
    documentVersion: 1,
    chunkIndex: 0,
    title: '',
    text: 'plain filler text',
    tokenCount: 3,
    pages: [],
    headingPath: [],
    metadata: {},
    vector: e(7),
    ...fields,
  };
}

export function vectorStoreContract(name: string, factory: () => Promise<ContractFixture>): void {
  describe(`${name} (vector store contract)`, () => {
    let fixture: ContractFixture;
    let store: VectorStore;
    /** Stores opened by a test (reopen) that afterEach must close too. */
    let extraStores: VectorStore[];

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      extraStores = [];
      await store.init();
    });

    afterEach(async () => {
      for (const s of [store, ...extraStores]) await s.close();
      await fixture.cleanup();
    });

    const ids = (hits: { chunk: StoredChunk }[]) => hits.map((hit) => hit.chunk.id);
    const sorted = (values: string[]) => [...values].sort();

    async function searchIds(
      tenant: string,
      mode: SearchMode,
      opts: { text?: string; vector?: Float32Array; k?: number; collection?: string; filter?: SearchFilter; fusion?: HybridFusion } = {},
    ) {
      const hits = await store.search({
        fusion: opts.fusion,
        tenant,
        collection: opts.collection ?? 'docs',
        text: opts.text ?? '',
        vector: opts.vector ?? e(0),
        mode,
        k: opts.k ?? 10,
        filter: opts.filter,
      });
      return ids(hits);
    }

    describe('upsert then search', () => {
      let tenant: string;
      const lighthouse = 'The lighthouse keeper polishes the brass lantern every evening';
      const revenue = 'Quarterly revenue grew in the northern sales region';
      const bread = 'Bread dough rises faster in a warm kitchen';

      beforeEach(async () => {
        tenant = uniqueTenant('search');
        await store.upsert([
          makeChunk({ id: 'lighthouse', tenant, chunkIndex: 0, text: lighthouse, vector: e(0) }),
          makeChunk({ id: 'revenue', tenant, chunkIndex: 1, text: revenue, vector: e(1) }),
          makeChunk({ id: 'bread', tenant, chunkIndex: 2, text: bread, vector: e(2) }),
        ]);
      });

      test('When searching dense with a vector nearest one chunk, then that chunk comes first with its cosine similarity', async () => {
        const hits = await store.search({ tenant, collection: 'docs', text: '', vector: v(0.1, 1), mode: 'dense', k: 3 });
        expect(ids(hits)).toEqual(['revenue', 'lighthouse', 'bread']);
        // cos([0.1, 1], e1) = 1 / sqrt(1.01); cos([0.1, 1], e0) = 0.1 / sqrt(1.01); orthogonal = 0.
        expect(hits[0].score).toBeCloseTo(1 / Math.sqrt(1.01), 4);
        expect(hits[1].score).toBeCloseTo(0.1 / Math.sqrt(1.01), 4);
        expect(hits[2].score).toBeCloseTo(0, 4);
      });

      test('When a dense query vector is not unit length, then similarity is still cosine', async () => {
        const hits = await store.search({ tenant, collection: 'docs', text: '', vector: v(0, 0, 5), mode: 'dense', k: 1 });
        expect(ids(hits)).toEqual(['bread']);
        expect(hits[0].score).toBeCloseTo(1, 4);
      });

      test('When searching by keyword, then the chunk holding the word comes first, whatever the vector', async () => {
        const hits = await store.search({ tenant, collection: 'docs', text: 'brass lanterns', vector: e(2), mode: 'keyword', k: 3 });
        expect(ids(hits)).toEqual(['lighthouse']);
        expect(hits[0].score).toBeGreaterThan(0);
      });

      test('When a keyword query uses another form and case of the word, then it still matches (shared tokenizer)', async () => {
        expect(await searchIds(tenant, 'keyword', { text: 'KITCHENS rising' })).toEqual(['bread']);
      });

      test('When the keyword query is only stop words, then keyword search returns nothing', async () => {
        expect(await searchIds(tenant, 'keyword', { text: 'The, and of it!' })).toEqual([]);
      });

      test('When the store is optimized after writes, then every mode still finds what was written', async () => {
        await store.upsert([
          makeChunk({ id: 'late', tenant, chunkIndex: 4, text: 'Walrus colonies haul out on the ice floes', vector: e(4) }),
        ]);
        await store.optimize();
        await store.optimize(); // idempotent
        expect(await searchIds(tenant, 'keyword', { text: 'walrus colonies' })).toEqual(['late']);
        expect((await searchIds(tenant, 'dense', { vector: e(4) }))[0]).toBe('late');
        expect((await searchIds(tenant, 'hybrid', { text: 'walrus', vector: e(4) }))[0]).toBe('late');
      });

      test('When a keyword matches the title only, then the chunk is found', async () => {
        await store.upsert([
          makeChunk({ id: 'titled', tenant, chunkIndex: 3, title: 'Zeppelin maintenance', text: 'Check the gas cells.', vector: e(3) }),
        ]);
        expect(await searchIds(tenant, 'keyword', { text: 'zeppelin' })).toEqual(['titled']);
      });

      test('When searching hybrid, then a chunk found by both sides outranks chunks found by one side only', async () => {
        // Dense alone ranks lighthouse (cos 0.89) over revenue (0.45) over bread (0); keyword alone finds only revenue.
        const query = { text: 'revenue', vector: v(1, 0.5) };
        expect(await searchIds(tenant, 'dense', query)).toEqual(['lighthouse', 'revenue', 'bread']);
        expect(await searchIds(tenant, 'keyword', query)).toEqual(['revenue']);
        expect(await searchIds(tenant, 'hybrid', query)).toEqual(['revenue', 'lighthouse', 'bread']);
      });

      test('When the fusion weighs one side far above the other, then hybrid follows that side’s ranking', async () => {
        // Dense alone: lighthouse, revenue, bread. Keyword alone: revenue. Default fusion: revenue (both sides) first.
        const query = { text: 'revenue', vector: v(1, 0.5) };
        expect(await searchIds(tenant, 'hybrid', { ...query, fusion: { k: 1, denseWeight: 100 } })).toEqual([
          'lighthouse',
          'revenue',
          'bread',
        ]);
        expect(await searchIds(tenant, 'hybrid', { ...query, fusion: { k: 1, denseWeight: 0.01 } })).toEqual([
          'revenue',
          'lighthouse',
          'bread',
        ]);
      });

      test('When hybrid scores come back, then they are Qdrant’s weighted RRF scores on both stores', async () => {
        const hits = await store.search({
          tenant,
          collection: 'docs',
          text: 'revenue',
          vector: v(1, 0.5),
          mode: 'hybrid',
          k: 3,
          fusion: { k: 2, denseWeight: 0.5 },
        });
        // revenue: dense rank 2, keyword rank 1; lighthouse: dense rank 1; bread: dense rank 3.
        const rrf = (rank: number, weight: number) => 1 / (rank / weight + 2 - 1);
        expect(hits.map((h) => h.chunk.id)).toEqual(['revenue', 'lighthouse', 'bread']);
        expect(hits[0].score).toBeCloseTo(rrf(2, 0.5) + rrf(1, 1), 5);
        expect(hits[1].score).toBeCloseTo(rrf(1, 0.5), 5);
        expect(hits[2].score).toBeCloseTo(rrf(3, 0.5), 5);
      });

      test('When hybrid keyword side finds nothing, then the dense ranking is returned', async () => {
        expect(await searchIds(tenant, 'hybrid', { text: 'zzzunknownword', vector: v(0.2, 0.1, 1) })).toEqual([
          'bread',
          'lighthouse',
          'revenue',
        ]);
      });

      test('When a search returns chunks, then they carry every stored field', async () => {
        const document = makeChunk({
          id: 'full',
          tenant,
          collection: 'docs',
          documentId: 'doc-full',
          documentVersion: 3,
          chunkIndex: 7,
          title: 'Annual report',
          text: 'Harbour dredging schedule',
          tokenCount: 42,
          pages: [2, 3],
          headingPath: ['Operations', 'Harbour'],
          metadata: { lang: 'en', year: 2024, draft: false },
          vector: e(4),
        });
        await store.upsert([document]);
        const [hit] = await store.search({ tenant, collection: 'docs', text: 'dredging', vector: e(4), mode: 'keyword', k: 1 });
        const { vector: _vector, ...stored } = document;
        expect(hit.chunk).toEqual(stored);
      });

      test.each(['dense', 'keyword', 'hybrid'] as const)(
        'When searching positions only (%s), then they are the full search’s hits, in its order, with its scores',
        async (mode) => {
          await store.upsert([
            makeChunk({
              id: 'other-doc',
              tenant,
              documentId: 'doc-2',
              chunkIndex: 0,
              text: 'Brass bands play revenue songs',
              vector: v(1, 1),
            }),
          ]);
          const req = { tenant, collection: 'docs', text: 'brass revenue', vector: v(1, 0.5), mode, k: 4 };
          const full = await store.search(req);
          const positions = await store.searchPositions(req);
          expect(full.length).toBeGreaterThan(1);
          expect(positions.map((p) => [p.documentId, p.chunkIndex])).toEqual(full.map((h) => [h.chunk.documentId, h.chunk.chunkIndex]));
          positions.forEach((p, i) => expect(p.score).toBeCloseTo(full[i].score, 6));
        },
      );
    });

    describe('idempotent upsert', () => {
      test('When the same ids are upserted twice, then one copy of each remains and the second write wins', async () => {
        const tenant = uniqueTenant('twice');
        const first = [0, 1, 2].map((i) => makeChunk({ id: `c${i}`, tenant, chunkIndex: i, text: `original wording ${i}`, vector: e(i) }));
        await store.upsert(first);
        await store.upsert(first.map((c) => ({ ...c, text: `replacement phrasing ${c.chunkIndex}` })));
        expect(await store.count(tenant)).toBe(3);
        expect(sorted(await searchIds(tenant, 'keyword', { text: 'replacement' }))).toEqual(['c0', 'c1', 'c2']);
        expect(await searchIds(tenant, 'keyword', { text: 'original' })).toEqual([]);
        expect(await searchIds(tenant, 'dense', { vector: e(0), k: 10 })).toHaveLength(3);
      });

      test('When one batch holds an id twice, then one copy remains and it is the later one', async () => {
        const tenant = uniqueTenant('dup-batch');
        await store.upsert([
          makeChunk({ id: 'same', tenant, text: 'earlier copy' }),
          makeChunk({ id: 'same', tenant, text: 'later copy' }),
        ]);
        expect(await store.count(tenant)).toBe(1);
        const [chunk] = await store.listChunks(tenant, 'doc-1', 1, 0, 10);
        expect(chunk.text).toBe('later copy');
      });

      test('When a chunk is moved to another vector, then dense search follows the new vector', async () => {
        const tenant = uniqueTenant('move');
        await store.upsert([
          makeChunk({ id: 'm', tenant, vector: e(0) }),
          makeChunk({ id: 'other', tenant, chunkIndex: 1, vector: v(0.6, 0.8) }),
        ]);
        expect((await searchIds(tenant, 'dense', { vector: e(1) }))[0]).toBe('other');
        await store.upsert([makeChunk({ id: 'm', tenant, vector: e(1) })]);
        expect((await searchIds(tenant, 'dense', { vector: e(1) }))[0]).toBe('m');
      });

      test('When an empty batch is upserted, then nothing changes', async () => {
        const tenant = uniqueTenant('empty');
        await store.upsert([]);
        expect(await store.count(tenant)).toBe(0);
      });
    });

    describe('tenant isolation', () => {
      let tenantA: string;
      let tenantB: string;

      beforeEach(async () => {
        tenantA = uniqueTenant('a');
        tenantB = uniqueTenant('b');
        // Same words and vectors in both tenants: only the tenant filter can tell them apart.
        await store.upsert([
          makeChunk({ id: 'a-1', tenant: tenantA, documentId: 'doc-a', text: 'secret merger plans', vector: e(0) }),
          makeChunk({ id: 'a-2', tenant: tenantA, documentId: 'doc-a', chunkIndex: 1, text: 'secret payroll figures', vector: e(1) }),
          makeChunk({ id: 'b-1', tenant: tenantB, documentId: 'doc-b', text: 'secret picnic plans', vector: e(0) }),
        ]);
      });

      test.each(MODES)('When tenant B searches in %s mode, then it sees only its own chunks', async (mode) => {
        expect(await searchIds(tenantB, mode, { text: 'secret plans', vector: e(0) })).toEqual(['b-1']);
        expect(sorted(await searchIds(tenantA, mode, { text: 'secret plans payroll', vector: e(0) }))).toEqual(['a-1', 'a-2']);
      });

      test('When tenant B counts or lists, then tenant A chunks are invisible', async () => {
        expect(await store.count(tenantB)).toBe(1);
        expect(await store.count(tenantA)).toBe(2);
        expect(await store.count(tenantB, { documentId: 'doc-a' })).toBe(0);
        expect(await store.listChunks(tenantB, 'doc-a', 1, 0, 10)).toEqual([]);
        expect(await store.listChunks(tenantA, 'doc-a', 1, 0, 10)).toHaveLength(2);
      });

      test('When tenant B deletes tenant A document id, then tenant A keeps its chunks', async () => {
        await store.deleteDocument(tenantB, 'doc-a');
        expect(await store.count(tenantA)).toBe(2);
        await store.deleteDocument(tenantA, 'doc-a');
        expect(await store.count(tenantA)).toBe(0);
        expect(await store.count(tenantB)).toBe(1);
      });

      test('When two tenants write the same chunk id, then neither overwrites the other', async () => {
        await store.upsert([makeChunk({ id: 'a-1', tenant: tenantB, documentId: 'doc-b2', text: 'collision attempt', vector: e(5) })]);
        expect(await store.count(tenantA)).toBe(2);
        expect(await store.count(tenantB)).toBe(2);
        const [own] = await store.listChunks(tenantA, 'doc-a', 1, 0, 1);
        expect(own).toMatchObject({ id: 'a-1', text: 'secret merger plans' });
      });

      test('When a tenant name looks like a SQL injection, then it matches nothing', async () => {
        const evil = `${tenantA}' OR '1'='1`;
        expect(await store.count(evil)).toBe(0);
        for (const mode of MODES) expect(await searchIds(evil, mode, { text: 'secret', vector: e(0) })).toEqual([]);
      });
    });

    describe('no side channel through keyword statistics', () => {
      /** Tenant B's keyword and hybrid answers, ids and scores, to the query A's writes are about. */
      async function answersOf(tenant: string) {
        const out: Array<Array<{ id: string; score: number }>> = [];
        for (const mode of ['keyword', 'hybrid'] as const) {
          const hits = await store.search({ tenant, collection: 'docs', text: 'orchid greenhouse humidity', vector: e(0), mode, k: 10 });
          out.push(hits.map((hit) => ({ id: hit.chunk.id, score: hit.score })));
        }
        return out;
      }

      test('When tenant A writes and deletes many chunks holding the query terms, then tenant B keyword and hybrid results (ids, order, scores) do not change', async () => {
        if (fixture.sharedKeywordStatistics) return; // a pre-partitioning shared table: statistics are shared by design
        const tenantA = uniqueTenant('noisy');
        const tenantB = uniqueTenant('quiet');
        await store.upsert([
          makeChunk({ id: 'b1', tenant: tenantB, documentId: 'db1', text: 'orchid greenhouse care and watering', vector: e(0) }),
          makeChunk({
            id: 'b2',
            tenant: tenantB,
            documentId: 'db2',
            text: 'greenhouse humidity sensors and orchid roots in bark',
            vector: e(1),
          }),
          makeChunk({ id: 'b3', tenant: tenantB, documentId: 'db3', text: 'humidity in winter', vector: e(2) }),
          makeChunk({ id: 'b4', tenant: tenantB, documentId: 'db4', text: 'pruning roses in spring', vector: e(3) }),
        ]);
        await store.optimize();
        const before = await answersOf(tenantB);
        expect(before[0].map((hit) => hit.id)).toEqual(expect.arrayContaining(['b1', 'b2', 'b3']));

        // A's chunks hold B's query terms at very different rates than B's own: with shared statistics, every IDF moves.
        const noisy = Array.from({ length: 60 }, (_, i) =>
          makeChunk({
            id: `a${i}`,
            tenant: tenantA,
            documentId: `da${i % 6}`,
            chunkIndex: i,
            text: `orchid orchid greenhouse report ${i} ${i % 3 === 0 ? 'humidity' : 'filler'}`,
            vector: e(i % 8),
          }),
        );
        await store.upsert(noisy);
        await store.optimize();
        expect(await answersOf(tenantB)).toEqual(before);

        for (let d = 0; d < 6; d++) await store.deleteDocument(tenantA, `da${d}`);
        await store.optimize();
        expect(await store.count(tenantA)).toBe(0);
        expect(await answersOf(tenantB)).toEqual(before);
      });
    });

    describe('collection isolation', () => {
      test.each(MODES)('When searching one collection in %s mode, then chunks of another collection are never returned', async (mode) => {
        const tenant = uniqueTenant('coll');
        await store.upsert([
          makeChunk({ id: 'in-docs', tenant, collection: 'docs', text: 'shared harbour word', vector: e(0) }),
          makeChunk({ id: 'in-memory', tenant, collection: 'memory', text: 'shared harbour word', vector: e(0) }),
        ]);
        expect(await searchIds(tenant, mode, { text: 'harbour', collection: 'docs' })).toEqual(['in-docs']);
        expect(await searchIds(tenant, mode, { text: 'harbour', collection: 'memory' })).toEqual(['in-memory']);
        expect(await searchIds(tenant, mode, { text: 'harbour', collection: 'none' })).toEqual([]);
      });

      test('When counting by collection, then only that collection is counted', async () => {
        const tenant = uniqueTenant('coll-count');
        await store.upsert([
          makeChunk({ id: 'x1', tenant, collection: 'docs' }),
          makeChunk({ id: 'x2', tenant, collection: 'docs', chunkIndex: 1 }),
          makeChunk({ id: 'y1', tenant, collection: 'memory' }),
        ]);
        expect(await store.count(tenant, { collection: 'docs' })).toBe(2);
        expect(await store.count(tenant, { collection: 'memory' })).toBe(1);
        expect(await store.count(tenant, { collection: 'memory', documentId: 'doc-1' })).toBe(1);
        expect(await store.count(tenant)).toBe(3);
      });
    });

    describe('filters', () => {
      let tenant: string;
      // Every chunk holds "report" so keyword mode sees all of them; the filter alone decides.
      const specs: Array<{ id: string; documentId: string; metadata: Record<string, MetadataValue> }> = [
        { id: 'f1', documentId: 'doc-1', metadata: { lang: 'en', year: 2023, public: true, owner: "O'Brien" } },
        { id: 'f2', documentId: 'doc-2', metadata: { lang: 'fr', year: 2024, public: false, owner: 'Ng' } },
        { id: 'f3', documentId: 'doc-3', metadata: { lang: 'de', year: 2024, public: true } },
        { id: 'f4', documentId: 'doc-4', metadata: { lang: 'en', year: '2024', public: 'true' } },
      ];

      beforeEach(async () => {
        tenant = uniqueTenant('filter');
        await store.upsert(
          specs.map((spec, i) => makeChunk({ ...spec, tenant, text: `quarterly report number ${i}`, vector: v(1, i / 10) })),
        );
      });

      const cases: Array<[string, SearchFilter, string[]]> = [
        ['documentIds', { documentIds: ['doc-2', 'doc-4', 'doc-missing'] }, ['f2', 'f4']],
        ['an empty documentIds list', { documentIds: [] }, []],
        ['a single string value', { metadata: { lang: 'en' } }, ['f1', 'f4']],
        ['a value holding a quote', { metadata: { owner: "O'Brien" } }, ['f1']],
        ['an array of values (any of them)', { metadata: { lang: ['fr', 'de'] } }, ['f2', 'f3']],
        ['a number (not the same digits as a string)', { metadata: { year: 2024 } }, ['f2', 'f3']],
        ['a string that looks like a number', { metadata: { year: '2024' } }, ['f4']],
        ['a boolean (not the string "true")', { metadata: { public: true } }, ['f1', 'f3']],
        ['false', { metadata: { public: false } }, ['f2']],
        ['several keys (all must match)', { metadata: { lang: 'en', year: 2023 } }, ['f1']],
        ['a key no chunk has', { metadata: { missing: 'x' } }, []],
        ['documentIds and metadata together', { documentIds: ['doc-1', 'doc-2', 'doc-3'], metadata: { year: 2024, public: true } }, ['f3']],
      ];

      for (const mode of MODES) {
        test.each(cases)(
          `When filtering ${mode} search by %s, then only matching chunks are returned`,
          async (_label, filter, expected) => {
            expect(sorted(await searchIds(tenant, mode, { text: 'report', vector: e(0), filter }))).toEqual(expected);
          },
        );
      }

      test('When no filter is given, then every chunk of the collection matches (the control for the cases above)', async () => {
        for (const mode of MODES)
          expect(sorted(await searchIds(tenant, mode, { text: 'report', vector: e(0) }))).toEqual(['f1', 'f2', 'f3', 'f4']);
      });
    });

    describe('deleteDocument', () => {
      let tenant: string;

      beforeEach(async () => {
        tenant = uniqueTenant('delete');
        const chunks: ChunkRecord[] = [];
        for (const version of [1, 2, 3]) {
          for (const chunkIndex of [0, 1]) {
            chunks.push(
              makeChunk({ id: `d-v${version}-${chunkIndex}`, tenant, documentId: 'doc-x', documentVersion: version, chunkIndex }),
            );
          }
        }
        chunks.push(makeChunk({ id: 'keep', tenant, documentId: 'doc-y' }));
        await store.upsert(chunks);
      });

      test('When deleting a document, then all its versions go and other documents stay', async () => {
        await store.deleteDocument(tenant, 'doc-x');
        expect(await store.count(tenant, { documentId: 'doc-x' })).toBe(0);
        expect(await store.count(tenant, { documentId: 'doc-y' })).toBe(1);
      });

      test('When deleting onlyVersion, then only that version goes', async () => {
        await store.deleteDocument(tenant, 'doc-x', { onlyVersion: 2 });
        expect(await store.listChunks(tenant, 'doc-x', 2, 0, 10)).toEqual([]);
        expect(await store.listChunks(tenant, 'doc-x', 1, 0, 10)).toHaveLength(2);
        expect(await store.listChunks(tenant, 'doc-x', 3, 0, 10)).toHaveLength(2);
        expect(await store.count(tenant)).toBe(5);
      });

      test('When deleting exceptVersion, then every other version goes', async () => {
        await store.deleteDocument(tenant, 'doc-x', { exceptVersion: 3 });
        expect((await store.listChunks(tenant, 'doc-x', 3, 0, 10)).map((c) => c.id)).toEqual(['d-v3-0', 'd-v3-1']);
        expect(await store.count(tenant, { documentId: 'doc-x' })).toBe(2);
        expect(await store.count(tenant, { documentId: 'doc-y' })).toBe(1);
      });

      test('When deleted chunks are searched for, then no mode returns them', async () => {
        await store.deleteDocument(tenant, 'doc-x');
        for (const mode of MODES) expect(await searchIds(tenant, mode, { text: 'filler', vector: e(7) })).toEqual(['keep']);
      });

      test('When deleting a document that does not exist, then nothing happens', async () => {
        await store.deleteDocument(tenant, 'doc-missing');
        expect(await store.count(tenant)).toBe(7);
      });
    });

    describe('listChunks', () => {
      let tenant: string;

      beforeEach(async () => {
        tenant = uniqueTenant('list');
        // Written out of order and in two batches, with a neighbouring version, to show order comes from chunkIndex.
        const chunk = (i: number, version = 1) =>
          makeChunk({ id: `l-v${version}-${i}`, tenant, documentId: 'doc-l', documentVersion: version, chunkIndex: i, text: `part ${i}` });
        await store.upsert([chunk(7), chunk(2), chunk(9), chunk(0), chunk(5)]);
        await store.upsert([chunk(1), chunk(8), chunk(3), chunk(6), chunk(4), chunk(0, 2), chunk(1, 2)]);
      });

      test('When listing from the start, then chunks come ordered by chunkIndex', async () => {
        const chunks = await store.listChunks(tenant, 'doc-l', 1, 0, 100);
        expect(chunks.map((c) => c.chunkIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(chunks[3]).toMatchObject({ id: 'l-v1-3', text: 'part 3', documentVersion: 1 });
      });

      test('When paging with fromIndex and limit, then each page continues where the last ended', async () => {
        expect((await store.listChunks(tenant, 'doc-l', 1, 0, 4)).map((c) => c.chunkIndex)).toEqual([0, 1, 2, 3]);
        expect((await store.listChunks(tenant, 'doc-l', 1, 4, 4)).map((c) => c.chunkIndex)).toEqual([4, 5, 6, 7]);
        expect((await store.listChunks(tenant, 'doc-l', 1, 8, 4)).map((c) => c.chunkIndex)).toEqual([8, 9]);
        expect(await store.listChunks(tenant, 'doc-l', 1, 10, 4)).toEqual([]);
      });

      test('When listing another version, then only that version is listed', async () => {
        expect((await store.listChunks(tenant, 'doc-l', 2, 0, 100)).map((c) => c.id)).toEqual(['l-v2-0', 'l-v2-1']);
        expect(await store.listChunks(tenant, 'doc-l', 3, 0, 100)).toEqual([]);
      });
    });

    describe('result size and order', () => {
      let tenant: string;

      beforeEach(async () => {
        tenant = uniqueTenant('k');
        // Five chunks at decreasing angles from e0, and decreasing counts of the word "anchor".
        await store.upsert(
          [0, 1, 2, 3, 4].map((i) =>
            makeChunk({ id: `k${i}`, tenant, chunkIndex: i, text: `${'anchor '.repeat(5 - i)}chain rope`, vector: v(1, i * 0.5) }),
          ),
        );
      });

      test.each(MODES)('When k is 2 in %s mode, then at most 2 chunks are returned', async (mode) => {
        expect(await searchIds(tenant, mode, { text: 'anchor', vector: e(0), k: 2 })).toHaveLength(2);
      });

      test.each(MODES)('When searching in %s mode, then scores are descending', async (mode) => {
        const hits = await store.search({ tenant, collection: 'docs', text: 'anchor', vector: e(0), mode, k: 5 });
        expect(hits).toHaveLength(5);
        for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
      });

      test('When dense and keyword agree on the order, then every mode gives that order', async () => {
        for (const mode of MODES)
          expect(await searchIds(tenant, mode, { text: 'anchor', vector: e(0), k: 5 })).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
      });
    });

    describe('persistence', () => {
      test('When the store is reopened, then earlier chunks are still found in every mode', async () => {
        if (!fixture.reopen) return; // backend without a local reopen (a server): nothing to check here
        const tenant = uniqueTenant('persist');
        await store.upsert([
          makeChunk({ id: 'p1', tenant, text: 'durable granite foundation', vector: e(0), metadata: { kind: 'stone' }, pages: [4] }),
          makeChunk({ id: 'p2', tenant, chunkIndex: 1, text: 'fleeting morning mist', vector: e(1) }),
        ]);
        await store.close();
        const again = await fixture.reopen();
        extraStores.push(again);
        await again.init();
        expect(await again.count(tenant)).toBe(2);
        for (const mode of MODES) {
          const hits = await again.search({
            tenant,
            collection: 'docs',
            text: 'granite',
            vector: e(0),
            mode,
            k: 1,
            filter: { metadata: { kind: 'stone' } },
          });
          expect(hits.map((h) => h.chunk.id)).toEqual(['p1']);
        }
        expect((await again.listChunks(tenant, 'doc-1', 1, 0, 10)).map((c) => c.pages)).toEqual([[4], []]);
      });
    });

    describe('lifecycle', () => {
      test('When init is called again, then it succeeds and keeps the data', async () => {
        const tenant = uniqueTenant('init');
        await store.upsert([makeChunk({ id: 'i1', tenant })]);
        await store.init();
        expect(await store.count(tenant)).toBe(1);
      });

      test('When the store answers, then ping resolves', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      test('When close is called twice, then the second call resolves too', async () => {
        await store.close();
        await expect(store.close()).resolves.toBeUndefined();
      });
    });
  });
}
