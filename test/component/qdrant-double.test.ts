/**
 * Self-tests of the strict in-process Qdrant double (test/support/qdrant-double), with hand-computed expectations.
 */
import { startQdrantDouble, qdrantIdf, SHARD_FAULTS, type QdrantDouble } from '../support/qdrant-double';

interface ApiResponse {
  status: number;
  json: any;
}

let qdrant: QdrantDouble;

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const res = await fetch(qdrant.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* plain text answer */
  }
  return { status: res.status, json };
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const res = await api(method, path, body);
  if (res.status !== 200) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.json)}`);
  expect(res.json.status).toBe('ok');
  expect(typeof res.json.time).toBe('number');
  return res.json.result;
}

const HYBRID = { vectors: { dense: { size: 2, distance: 'Cosine' } }, sparse_vectors: { sparse: { modifier: 'idf' } } };

/** Three points: dense vectors and sparse vectors used by the scoring tests. */
async function seedHybrid(name: string): Promise<void> {
  await ok('PUT', `/collections/${name}`, HYBRID);
  await ok('PUT', `/collections/${name}/points?wait=true`, {
    points: [
      { id: 1, vector: { dense: [1, 0], sparse: { indices: [1, 2], values: [1, 1] } }, payload: { doc: 'p1' } },
      { id: 2, vector: { dense: [0, 1], sparse: { indices: [2, 3], values: [1, 2] } }, payload: { doc: 'p2' } },
      { id: 3, vector: { dense: [1, 1], sparse: { indices: [3], values: [1] } }, payload: { doc: 'p3' } },
    ],
  });
}

const ids = (points: Array<{ id: unknown }>): unknown[] => points.map((p) => p.id);

beforeAll(async () => {
  qdrant = await startQdrantDouble();
});

afterAll(async () => {
  await qdrant.close();
});

beforeEach(() => {
  qdrant.reset();
});

afterEach(() => {
  // Every test below only sends well-formed requests unless it inspects `rejected` itself (and then resets).
  expect(qdrant.rejected).toEqual([]);
});

describe('collections', () => {
  it('When a collection is created with named dense and sparse vectors, then its info reports the config, points_count and payload_schema', async () => {
    expect(await ok('PUT', '/collections/docs', HYBRID)).toBe(true);
    expect(
      await ok('PUT', '/collections/docs/index?wait=true', { field_name: 'tenant', field_schema: { type: 'keyword', is_tenant: true } }),
    ).toEqual({
      operation_id: 0,
      status: 'completed',
    });
    await ok('PUT', '/collections/docs/index?wait=true', { field_name: 'seq', field_schema: 'integer' });
    await ok('PUT', '/collections/docs/points?wait=true', { points: [{ id: 7, vector: { dense: [1, 2] }, payload: { tenant: 't1' } }] });

    const info = await ok('GET', '/collections/docs');
    expect(info.status).toBe('green');
    expect(info.points_count).toBe(1);
    expect(info.config.params.vectors).toEqual({ dense: { size: 2, distance: 'Cosine' } });
    expect(info.config.params.sparse_vectors).toEqual({ sparse: { modifier: 'idf' } });
    expect(info.payload_schema).toEqual({
      tenant: { data_type: 'keyword', params: { type: 'keyword', is_tenant: true }, points: 1 },
      seq: { data_type: 'integer', points: 0 },
    });
    expect(await ok('GET', '/collections')).toEqual({ collections: [{ name: 'docs' }] });
    expect(await ok('GET', '/collections/docs/exists')).toEqual({ exists: true });
    expect(await ok('GET', '/collections/other/exists')).toEqual({ exists: false });
  });

  it('When a collection is created with metadata and patched, then config.metadata reports the merged metadata', async () => {
    await ok('PUT', '/collections/m', { ...HYBRID, metadata: { embedding: { model: 'a', size: 2 } } });
    expect((await ok('GET', '/collections/m')).config.metadata).toEqual({ embedding: { model: 'a', size: 2 } });
    expect(await ok('PATCH', '/collections/m', { metadata: { owner: 'ragmem' } })).toBe(true);
    expect((await ok('GET', '/collections/m')).config.metadata).toEqual({ embedding: { model: 'a', size: 2 }, owner: 'ragmem' });
    await ok('PUT', '/collections/plain', HYBRID);
    expect((await ok('GET', '/collections/plain')).config.metadata).toBeUndefined();
  });

  it('When a collection is created twice, then the second create answers 409 "already exists"', async () => {
    await ok('PUT', '/collections/docs', HYBRID);
    const again = await api('PUT', '/collections/docs', HYBRID);
    expect(again.status).toBe(409);
    expect(again.json.status.error).toBe('Wrong input: Collection `docs` already exists!');
  });

  it("When a missing collection is read, then 404 with Qdrant's message; deleting it answers result false", async () => {
    const res = await api('GET', '/collections/ghost');
    expect(res.status).toBe(404);
    expect(res.json.status.error).toBe("Not found: Collection `ghost` doesn't exist!");
    expect(await ok('DELETE', '/collections/ghost')).toBe(false);
    await ok('PUT', '/collections/docs', HYBRID);
    expect(await ok('DELETE', '/collections/docs')).toBe(true);
    expect(await ok('GET', '/collections')).toEqual({ collections: [] });
  });
});

describe('points', () => {
  it('When points are upserted in the batch form, then they are stored like the list form and can be retrieved', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    const uuid = '550E8400-E29B-41D4-A716-446655440000';
    const result = await ok('PUT', '/collections/c/points?wait=true', {
      batch: {
        ids: [uuid, 5],
        vectors: {
          dense: [
            [3, 4],
            [0, 2],
          ],
          sparse: [
            { indices: [9], values: [0.5] },
            { indices: [], values: [] },
          ],
        },
        payloads: [{ a: 1 }, null],
      },
    });
    expect(result.status).toBe('completed');
    const records = await ok('POST', '/collections/c/points', { ids: [uuid.toLowerCase(), 5, 999], with_vector: true });
    expect(records).toEqual([
      { id: uuid.toLowerCase(), payload: { a: 1 }, vector: { dense: [0.6, 0.8], sparse: { indices: [9], values: [0.5] } } },
      { id: 5, payload: {}, vector: { dense: [0, 1], sparse: { indices: [], values: [] } } },
    ]);
  });

  it('When an upsert has a dense vector of the wrong dimension, then 400 "Vector dimension error" and nothing is stored', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    const res = await api('PUT', '/collections/c/points?wait=true', {
      points: [
        { id: 1, vector: { dense: [1, 0] } },
        { id: 2, vector: { dense: [1, 0, 0] } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.json.status.error).toBe('Wrong input: Vector dimension error: expected dim: 2, got 3');
    expect(await ok('POST', '/collections/c/points/count', { exact: true })).toEqual({ count: 0 });
  });

  it('When an upsert names a vector the collection does not have, then 400 "Not existing vector name"', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    const res = await api('PUT', '/collections/c/points', { points: [{ id: 1, vector: { image: [1, 0] } }] });
    expect(res.status).toBe(400);
    expect(res.json.status.error).toBe('Wrong input: Not existing vector name error: image');
  });

  it('When upserting without wait=true, then the operation is acknowledged rather than completed', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    expect((await ok('PUT', '/collections/c/points', { points: [{ id: 1, vector: { dense: [1, 0] } }] })).status).toBe('acknowledged');
  });

  it('When scrolling with a limit, then pages follow id order and next_page_offset points at the next id', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    await ok('PUT', '/collections/c/points?wait=true', {
      points: [5, 3, 1, 4, 2].map((id) => ({ id, vector: { dense: [1, id] }, payload: { n: id } })),
    });
    const page1 = await ok('POST', '/collections/c/points/scroll', { limit: 2, with_payload: true });
    expect(ids(page1.points)).toEqual([1, 2]);
    expect(page1.points[0]).toEqual({ id: 1, payload: { n: 1 }, vector: null });
    expect(page1.next_page_offset).toBe(3);
    const page2 = await ok('POST', '/collections/c/points/scroll', { limit: 2, offset: page1.next_page_offset, with_payload: false });
    expect(ids(page2.points)).toEqual([3, 4]);
    expect(page2.points[0].payload).toBeNull();
    expect(page2.next_page_offset).toBe(5);
    const page3 = await ok('POST', '/collections/c/points/scroll', { limit: 2, offset: 5 });
    expect(ids(page3.points)).toEqual([5]);
    expect(page3.next_page_offset).toBeNull();
  });

  it('When scrolling with order_by on an integer-indexed field, then points come in payload order; without an index it is a 400', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    await ok('PUT', '/collections/c/points?wait=true', {
      points: [
        { id: 1, vector: { dense: [1, 0] }, payload: { seq: 30 } },
        { id: 2, vector: { dense: [1, 0] }, payload: { seq: 10 } },
        { id: 3, vector: { dense: [1, 0] }, payload: { seq: 20 } },
      ],
    });
    const noIndex = await api('POST', '/collections/c/points/scroll', { order_by: 'seq' });
    expect(noIndex.status).toBe(400);
    expect(noIndex.json.status.error).toContain('No range index for `order_by` key: `seq`');
    await ok('PUT', '/collections/c/index?wait=true', { field_name: 'seq', field_schema: 'integer' });
    const desc = await ok('POST', '/collections/c/points/scroll', { order_by: { key: 'seq', direction: 'desc' }, limit: 2 });
    expect(ids(desc.points)).toEqual([1, 3]);
    expect(desc.next_page_offset).toBeNull();
  });

  it('When deleting by filter, then only matching points go and count reflects it', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    await ok('PUT', '/collections/c/points?wait=true', {
      points: [1, 2, 3, 4].map((id) => ({ id, vector: { dense: [1, 0] }, payload: { doc: id <= 2 ? 'a' : 'b' } })),
    });
    expect(await ok('POST', '/collections/c/points/count', { filter: { must: [{ key: 'doc', match: { value: 'a' } }] } })).toEqual({
      count: 2,
    });
    const del = await ok('POST', '/collections/c/points/delete?wait=true', { filter: { must: [{ key: 'doc', match: { value: 'a' } }] } });
    expect(del).toEqual({ operation_id: 1, status: 'completed' });
    expect(await ok('POST', '/collections/c/points/count', { exact: true })).toEqual({ count: 2 });
    await ok('POST', '/collections/c/points/delete?wait=true', { points: [3] });
    expect(ids((await ok('POST', '/collections/c/points/scroll', {})).points)).toEqual([4]);
  });

  it('When payload is set, overwritten, partially deleted and cleared, then the stored payload follows', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    await ok('PUT', '/collections/c/points?wait=true', { points: [{ id: 1, vector: { dense: [1, 0] }, payload: { a: 1, b: 2 } }] });
    await ok('POST', '/collections/c/points/payload?wait=true', { payload: { c: 3 }, points: [1] });
    expect((await ok('GET', '/collections/c/points/1')).payload).toEqual({ a: 1, b: 2, c: 3 });
    await ok('POST', '/collections/c/points/payload/delete?wait=true', { keys: ['a'], filter: { must: [{ has_id: [1] }] } });
    expect((await ok('GET', '/collections/c/points/1')).payload).toEqual({ b: 2, c: 3 });
    await ok('PUT', '/collections/c/points/payload?wait=true', { payload: { z: 0 }, points: [1] });
    expect((await ok('GET', '/collections/c/points/1')).payload).toEqual({ z: 0 });
    await ok('POST', '/collections/c/points/payload/clear?wait=true', { points: [1] });
    expect((await ok('GET', '/collections/c/points/1')).payload).toEqual({});
  });
});

describe('filters', () => {
  beforeEach(async () => {
    await ok('PUT', '/collections/f', HYBRID);
    await ok('PUT', '/collections/f/points?wait=true', {
      points: [
        {
          id: 1,
          vector: { dense: [1, 0] },
          payload: { tenant: 'a', tags: ['x', 'y'], n: 5, meta: { lang: 'en' }, items: [{ k: 1 }, { k: 2 }] },
        },
        { id: 2, vector: { dense: [1, 0] }, payload: { tenant: 'b', tags: ['y'], n: 10, meta: { lang: 'de' }, empty: [] } },
        { id: 3, vector: { dense: [1, 0] }, payload: { tenant: 'a', n: 15, nothing: null } },
      ],
    });
  });

  async function matching(filter: unknown): Promise<unknown[]> {
    const res = await ok('POST', '/collections/f/points/scroll', { filter, limit: 100, with_payload: false });
    return ids(res.points);
  }

  it('When filtering with match value / any / except, then exact, any-of and none-of semantics apply (arrays match on any element)', async () => {
    expect(await matching({ must: [{ key: 'tenant', match: { value: 'a' } }] })).toEqual([1, 3]);
    expect(await matching({ must: [{ key: 'tags', match: { value: 'y' } }] })).toEqual([1, 2]);
    expect(await matching({ must: [{ key: 'tags', match: { any: ['x'] } }] })).toEqual([1]);
    expect(await matching({ must: [{ key: 'tenant', match: { any: ['a', 'b'] } }] })).toEqual([1, 2, 3]);
    expect(await matching({ must: [{ key: 'tenant', match: { except: ['a'] } }] })).toEqual([2]);
    expect(await matching({ must: [{ key: 'n', match: { value: 10 } }] })).toEqual([2]);
  });

  it('When filtering with range, then gt/gte/lt/lte bound the numeric value', async () => {
    expect(await matching({ must: [{ key: 'n', range: { gte: 10 } }] })).toEqual([2, 3]);
    expect(await matching({ must: [{ key: 'n', range: { gt: 5, lt: 15 } }] })).toEqual([2]);
    expect(await matching({ must: [{ key: 'n', range: { lte: 5 } }] })).toEqual([1]);
  });

  it('When filtering on nested keys, then a.b walks objects and a[].b walks arrays', async () => {
    expect(await matching({ must: [{ key: 'meta.lang', match: { value: 'en' } }] })).toEqual([1]);
    expect(await matching({ must: [{ key: 'items[].k', match: { value: 2 } }] })).toEqual([1]);
    expect(await matching({ must: [{ nested: { key: 'items', filter: { must: [{ key: 'k', match: { value: 2 } }] } } }] })).toEqual([1]);
  });

  it('When combining must / should / must_not and nested filters, then boolean logic follows Qdrant', async () => {
    expect(await matching({ must_not: [{ key: 'tenant', match: { value: 'a' } }] })).toEqual([2]);
    expect(
      await matching({
        should: [
          { key: 'tenant', match: { value: 'b' } },
          { key: 'n', match: { value: 15 } },
        ],
      }),
    ).toEqual([2, 3]);
    expect(
      await matching({
        should: [
          {
            must: [
              { key: 'tenant', match: { value: 'a' } },
              { key: 'n', range: { gte: 10 } },
            ],
          },
          { key: 'tenant', match: { value: 'b' } },
        ],
      }),
    ).toEqual([2, 3]);
    expect(await matching({ must: { key: 'tenant', match: { value: 'a' } }, must_not: { has_id: [3] } })).toEqual([1]);
  });

  it('When filtering with has_id, is_empty, is_null and values_count, then the point-level checks apply', async () => {
    expect(await matching({ must: [{ has_id: [1, 3] }] })).toEqual([1, 3]);
    expect(await matching({ must: [{ is_empty: { key: 'tags' } }] })).toEqual([3]);
    expect(await matching({ must: [{ is_empty: { key: 'empty' } }] })).toEqual([1, 2, 3]);
    expect(await matching({ must: [{ is_null: { key: 'nothing' } }] })).toEqual([3]);
    expect(await matching({ must: [{ key: 'tags', values_count: { gte: 2 } }] })).toEqual([1]);
  });
});

describe('Query API scoring', () => {
  it('When querying a dense Cosine vector, then scores are cosine similarities in descending order', async () => {
    await seedHybrid('q');
    const res = await ok('POST', '/collections/q/points/query', { query: [3, 4], using: 'dense', with_payload: true, limit: 3 });
    // |(3,4)| = 5 -> (0.6, 0.8); p3 = (1,1)/sqrt(2) -> (0.6 + 0.8)/sqrt(2)
    expect(ids(res.points)).toEqual([3, 2, 1]);
    expect(res.points[0].score).toBeCloseTo(1.4 / Math.SQRT2, 6);
    expect(res.points[1].score).toBeCloseTo(0.8, 6);
    expect(res.points[2].score).toBeCloseTo(0.6, 6);
    expect(res.points[0]).toEqual({ id: 3, version: 0, score: res.points[0].score, payload: { doc: 'p3' } });

    const nearest = await ok('POST', '/collections/q/points/query', { query: { nearest: [1, 0] }, using: 'dense', limit: 2 });
    expect(nearest.points.map((p: { id: number; score: number }) => [p.id, Number(p.score.toFixed(6))])).toEqual([
      [1, 1],
      [3, Number(Math.SQRT1_2.toFixed(6))],
    ]);
    expect(nearest.points[0].payload).toBeUndefined();
  });

  it('When the dense query has the wrong dimension, then 400 "Vector dimension error"', async () => {
    await seedHybrid('q');
    const res = await api('POST', '/collections/q/points/query', { query: [1, 2, 3], using: 'dense' });
    expect(res.status).toBe(400);
    expect(res.json.status.error).toBe('Wrong input: Vector dimension error: expected dim: 2, got 3');
  });

  it('When querying a sparse vector with the idf modifier, then score = sum(query * doc * ln((N - df + 0.5)/(df + 0.5) + 1))', async () => {
    await seedHybrid('q');
    // N = 3; df(1) = 1, df(2) = 2, df(3) = 2
    const idf2 = Math.log((3 - 2 + 0.5) / (2 + 0.5) + 1); // ln 1.6
    const idf3 = idf2;
    expect(qdrantIdf(3, 2)).toBeCloseTo(Math.log(1.6), 12);
    const res = await ok('POST', '/collections/q/points/query', { query: { indices: [2, 3], values: [1, 0.5] }, using: 'sparse' });
    expect(ids(res.points)).toEqual([2, 1, 3]);
    expect(res.points[0].score).toBeCloseTo(1 * idf2 * 1 + 0.5 * idf3 * 2, 6); // p2
    expect(res.points[1].score).toBeCloseTo(1 * idf2 * 1, 6); // p1
    expect(res.points[2].score).toBeCloseTo(0.5 * idf3 * 1, 6); // p3

    const rare = await ok('POST', '/collections/q/points/query', { query: { indices: [1], values: [2] }, using: 'sparse' });
    // only p1 has dimension 1: points without a shared dimension are not returned
    expect(ids(rare.points)).toEqual([1]);
    expect(rare.points[0].score).toBeCloseTo(2 * Math.log((3 - 1 + 0.5) / (1 + 0.5) + 1), 6);
  });

  it('When a sparse vector has no modifier, then the score is the plain dot product', async () => {
    await ok('PUT', '/collections/plain', { sparse_vectors: { s: {} } });
    await ok('PUT', '/collections/plain/points?wait=true', { points: [{ id: 1, vector: { s: { indices: [4, 1], values: [2, 3] } } }] });
    const res = await ok('POST', '/collections/plain/points/query', { query: { indices: [1, 4], values: [1, 1] }, using: 's' });
    expect(res.points[0].score).toBeCloseTo(5, 9);
  });

  it('When fusing dense and sparse prefetches with RRF, then each list adds 1/(position + k) with k = 2 and 0-based positions', async () => {
    await seedHybrid('q');
    // dense [3,4] ranks 3,2,1 ; sparse {2:1, 3:0.5} ranks 2,1,3
    const prefetch = [
      { query: [3, 4], using: 'dense', limit: 10 },
      { query: { indices: [2, 3], values: [1, 0.5] }, using: 'sparse', limit: 10 },
    ];
    const res = await ok('POST', '/collections/q/points/query', { prefetch, query: { fusion: 'rrf' }, limit: 10, with_payload: true });
    expect(ids(res.points)).toEqual([2, 3, 1]);
    expect(res.points[0].score).toBeCloseTo(1 / 3 + 1 / 2, 6); // p2: dense pos 1, sparse pos 0
    expect(res.points[1].score).toBeCloseTo(1 / 2 + 1 / 4, 6); // p3: dense pos 0, sparse pos 2
    expect(res.points[2].score).toBeCloseTo(1 / 4 + 1 / 3, 6); // p1: dense pos 2, sparse pos 1
    expect(res.points[0].payload).toEqual({ doc: 'p2' });

    const k60 = await ok('POST', '/collections/q/points/query', { prefetch, query: { rrf: { k: 60 } } });
    expect(k60.points[0].score).toBeCloseTo(1 / 61 + 1 / 60, 9);

    const weighted = await ok('POST', '/collections/q/points/query', { prefetch, query: { rrf: { weights: [3, 1] } } });
    // weight w: 1 / ((pos + 1) / w + k - 1)
    expect(weighted.points.map((p: { id: number }) => p.id)).toEqual([2, 3, 1]);
    expect(weighted.points[1].score).toBeCloseTo(1 / (1 / 3 + 1) + 1 / 4, 6);
  });

  it('When a prefetch has a small limit, the outer filter applies to prefetches, and limit/offset cut the fused list', async () => {
    await seedHybrid('q');
    const res = await ok('POST', '/collections/q/points/query', {
      prefetch: { prefetch: [], query: { indices: [2, 3], values: [1, 0.5] }, using: 'sparse', limit: 1 },
      query: { fusion: 'rrf' },
    });
    expect(ids(res.points)).toEqual([2]);

    const filtered = await ok('POST', '/collections/q/points/query', {
      prefetch: [
        { query: [3, 4], using: 'dense' },
        { query: { indices: [2, 3], values: [1, 0.5] }, using: 'sparse' },
      ],
      query: { fusion: 'rrf' },
      filter: { must_not: [{ key: 'doc', match: { value: 'p2' } }] },
      limit: 1,
      offset: 1,
    });
    // without p2: dense ranks 3,1 ; sparse ranks 1,3 -> p3 = 1/2 + 1/3, p1 = 1/3 + 1/2 (tie, p3 first seen)
    expect(filtered.points).toHaveLength(1);
    expect(filtered.points[0].score).toBeCloseTo(1 / 2 + 1 / 3, 6);
  });

  it('When a vector query follows prefetches, then it re-scores only the prefetched candidates', async () => {
    await seedHybrid('q');
    const res = await ok('POST', '/collections/q/points/query', {
      prefetch: { query: { indices: [1], values: [1] }, using: 'sparse' },
      query: [0, 1],
      using: 'dense',
    });
    expect(ids(res.points)).toEqual([1]);
    expect(res.points[0].score).toBeCloseTo(0, 9);
  });
});

describe('aliases', () => {
  it('When an alias is switched atomically from v1 to v2, then reads through the alias follow it', async () => {
    await ok('PUT', '/collections/v1', HYBRID);
    await ok('PUT', '/collections/v2', HYBRID);
    await ok('POST', '/collections/aliases', { actions: [{ create_alias: { collection_name: 'v1', alias_name: 'live' } }] });
    await ok('PUT', '/collections/live/points?wait=true', { points: [{ id: 1, vector: { dense: [1, 0] } }] });
    expect(await ok('POST', '/collections/v1/points/count', {})).toEqual({ count: 1 });
    expect((await ok('GET', '/collections/live')).points_count).toBe(1);

    await ok('POST', '/collections/aliases', {
      actions: [{ delete_alias: { alias_name: 'live' } }, { create_alias: { collection_name: 'v2', alias_name: 'live' } }],
    });
    expect(await ok('POST', '/collections/live/points/count', {})).toEqual({ count: 0 });
    expect(await ok('GET', '/aliases')).toEqual({ aliases: [{ alias_name: 'live', collection_name: 'v2' }] });
    expect(await ok('GET', '/collections/v1/aliases')).toEqual({ aliases: [] });
    expect(await ok('GET', '/collections/v2/aliases')).toEqual({ aliases: [{ alias_name: 'live', collection_name: 'v2' }] });

    await ok('POST', '/collections/aliases', { actions: [{ rename_alias: { old_alias_name: 'live', new_alias_name: 'prod' } }] });
    expect(await ok('GET', '/aliases')).toEqual({ aliases: [{ alias_name: 'prod', collection_name: 'v2' }] });
  });

  it('When one action of an alias batch fails, then none of the batch is applied', async () => {
    await ok('PUT', '/collections/v1', HYBRID);
    const res = await api('POST', '/collections/aliases', {
      actions: [
        { create_alias: { collection_name: 'v1', alias_name: 'live' } },
        { create_alias: { collection_name: 'missing', alias_name: 'x' } },
      ],
    });
    expect(res.status).toBe(404);
    expect(await ok('GET', '/aliases')).toEqual({ aliases: [] });
  });

  it('When the aliased collection is deleted, then its aliases disappear too', async () => {
    await ok('PUT', '/collections/v1', HYBRID);
    await ok('POST', '/collections/aliases', { actions: [{ create_alias: { collection_name: 'v1', alias_name: 'live' } }] });
    await ok('DELETE', '/collections/v1');
    expect(await ok('GET', '/aliases')).toEqual({ aliases: [] });
    expect((await api('GET', '/collections/live')).status).toBe(404);
  });
});

describe('strictness', () => {
  afterEach(() => {
    qdrant.reset(); // these tests leave deliberate entries in `rejected`
  });

  it("When a point id is neither an unsigned integer nor a UUID, then 400 in Qdrant's error shape and the request is recorded in rejected", async () => {
    await ok('PUT', '/collections/c', HYBRID);
    const res = await api('PUT', '/collections/c/points?wait=true', { points: [{ id: 'not-a-uuid', vector: { dense: [1, 0] } }] });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ status: { error: expect.stringContaining('Format error in JSON body') }, time: expect.any(Number) });
    expect(qdrant.rejected).toHaveLength(1);
    expect(qdrant.rejected[0]).toMatchObject({ method: 'PUT', path: '/collections/c/points', status: 400 });
    expect(qdrant.rejected[0].errors.join('\n')).toContain('/points/0/id');
    expect((await api('PUT', '/collections/c/points', { points: [{ id: -1, vector: { dense: [1, 0] } }] })).status).toBe(400);
  });

  it('When a field has the wrong type or a filter has an unknown clause, then 400 and recorded', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    expect((await api('POST', '/collections/c/points/scroll', { limit: 'ten' })).status).toBe(400);
    expect((await api('POST', '/collections/c/points/count', { filter: { mustt: [] } })).status).toBe(400);
    expect((await api('POST', '/collections/c/points/query', { query: [1, 0], using: 'dense', with_payload: 'yes' })).status).toBe(400);
    expect((await api('PUT', '/collections/d', { vectors: { size: 0, distance: 'Cosine' } })).status).toBe(400);
    expect((await api('PUT', '/collections/d', { vectors: { dense: { size: 2, distance: 'cosine' } } })).status).toBe(400);
    expect((await api('POST', '/collections/c/points/scroll', '{not json')).status).toBe(400);
    expect((await api('PUT', '/collections/c/points?wait=yes', { points: [] })).status).toBe(400);
    expect(qdrant.rejected.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400]);
  });

  it('When the request is valid, including nullable fields sent as null, then nothing is recorded in rejected', async () => {
    await ok('PUT', '/collections/c', { ...HYBRID, shard_number: null, on_disk_payload: null });
    await ok('PUT', '/collections/c/points?wait=true&ordering=weak', {
      points: [{ id: '550e8400-e29b-41d4-a716-446655440000', vector: { dense: [1, 0] }, payload: null }],
    });
    await ok('POST', '/collections/c/points/query', {
      query: [1, 0],
      using: 'dense',
      filter: null,
      limit: null,
      score_threshold: null,
      with_payload: ['a'],
    });
    await ok('POST', '/collections/c/points/scroll', {
      offset: null,
      filter: { must: null, should: [] },
      with_payload: { exclude: ['x'] },
    });
    expect(qdrant.rejected).toEqual([]);
    expect(qdrant.requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('When a query parameter is undeclared, repeated or outside its schema, then 400 and recorded; declared values pass and are recorded', async () => {
    await ok('PUT', '/collections/c', HYBRID);
    const point = { points: [{ id: 1, vector: { dense: [1, 0] } }] };
    // Qdrant's WriteOrdering and ReadConsistency: values from the document pass...
    await ok('PUT', '/collections/c/points?wait=true&ordering=medium', point);
    await ok('POST', '/collections/c/points/query?consistency=majority', { query: [1, 0], using: 'dense' });
    await ok('POST', '/collections/c/points/count?consistency=2', { exact: true });
    await ok('POST', '/collections/c/points/scroll?consistency=all', {});
    expect(qdrant.requests.slice(1).map((r) => r.query)).toEqual([
      { wait: 'true', ordering: 'medium' },
      { consistency: 'majority' },
      { consistency: '2' },
      { consistency: 'all' },
    ]);
    expect(qdrant.rejected).toEqual([]);
    // ... anything else is refused: misspelt, on an operation that does not take it, repeated, out of the enum or range.
    const refused = [
      ['PUT', '/collections/c/points?wait=true&odering=medium', point],
      ['POST', '/collections/c/points/query?consistency=most', { query: [1, 0], using: 'dense' }],
      ['POST', '/collections/c/points/query?consistency=0', { query: [1, 0], using: 'dense' }],
      ['POST', '/collections/c/points/count?ordering=strong', { exact: true }],
      ['PUT', '/collections/c/points?wait=true&ordering=Medium', point],
      ['PUT', '/collections/c/points?wait=true&wait=false', point],
    ] as const;
    for (const [method, path, body] of refused) expect((await api(method, path, body)).status).toBe(400);
    expect(qdrant.rejected.map((r) => r.errors.join('; '))).toEqual([
      expect.stringContaining('odering is not a parameter'),
      expect.stringContaining('consistency=most'),
      expect.stringContaining('consistency=0'),
      expect.stringContaining('ordering is not a parameter'),
      expect.stringContaining('ordering=Medium'),
      expect.stringContaining('wait is given 2 times'),
    ]);
  });

  it('When a fault is set, then the operations it affects answer it after validation, metadata keeps answering, and clearing it restores service', async () => {
    await seedHybrid('c');
    qdrant.setFault(SHARD_FAULTS.shardUnavailable);
    const query = await api('POST', '/collections/c/points/query', { query: [1, 0], using: 'dense' });
    expect(query).toEqual({ status: 503, json: { status: { error: SHARD_FAULTS.shardUnavailable.error }, time: expect.any(Number) } });
    expect((await api('PUT', '/collections/c/points?wait=true', { points: [{ id: 9, vector: { dense: [1, 0] } }] })).status).toBe(503);
    // The collection's metadata (consensus, on every peer) still answers; a malformed request is still refused as such.
    expect((await ok('GET', '/collections/c')).points_count).toBe(3);
    expect((await api('POST', '/collections/c/points/count', { exact: 'yes' })).status).toBe(400);
    expect(qdrant.rejected).toHaveLength(1);
    qdrant.setFault({ ...SHARD_FAULTS.timeout, affects: ({ method }) => method === 'PUT' });
    expect((await api('PUT', '/collections/c/points?wait=true', { points: [{ id: 9, vector: { dense: [1, 0] } }] })).status).toBe(408);
    expect((await ok('POST', '/collections/c/points/count', { exact: true })).count).toBe(3);
    qdrant.clearFault();
    await ok('PUT', '/collections/c/points?wait=true', { points: [{ id: 9, vector: { dense: [1, 0] } }] });
    expect((await ok('POST', '/collections/c/points/count', { exact: true })).count).toBe(4);
    expect(qdrant.requests.map((r) => r.status)).toEqual([200, 200, 503, 503, 200, 400, 408, 200, 200, 200]);
  });

  it("When a route is not part of Qdrant's API, then 404 and recorded", async () => {
    const res = await api('POST', '/collections/c/points/search/fancy', {});
    expect(res.status).toBe(404);
    expect(qdrant.rejected).toHaveLength(1);
  });
});

describe('api key', () => {
  let secured: QdrantDouble;
  beforeAll(async () => {
    secured = await startQdrantDouble({ apiKey: 's3cret' });
  });
  afterAll(async () => {
    await secured.close();
  });

  it('When an api key is configured, then requests without it get 401 and requests with it succeed', async () => {
    expect((await fetch(`${secured.url}/collections`)).status).toBe(401);
    expect((await fetch(`${secured.url}/collections`, { headers: { 'api-key': 'wrong' } })).status).toBe(401);
    const good = await fetch(`${secured.url}/collections`, { headers: { 'api-key': 's3cret' } });
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ result: { collections: [] }, status: 'ok' });
    expect((await fetch(`${secured.url}/collections`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await fetch(`${secured.url}/healthz`)).status).toBe(200);
  });
});

// The store talks to Qdrant through @qdrant/js-client-rest; exercise the double with it when it is installed.
const qdrantClientModule: any = (() => {
  try {
    return require('@qdrant/js-client-rest');
  } catch {
    return undefined;
  }
})();
(qdrantClientModule ? describe : describe.skip)('with @qdrant/js-client-rest', () => {
  it('When the official client creates, upserts and hybrid-queries, then the double accepts every request', async () => {
    const client = new qdrantClientModule.QdrantClient({ url: qdrant.url, checkCompatibility: false });
    await client.createCollection('js', HYBRID);
    await client.createPayloadIndex('js', { field_name: 'tenant', field_schema: { type: 'keyword', is_tenant: true }, wait: true });
    await client.upsert('js', {
      wait: true,
      points: [
        { id: 1, vector: { dense: [1, 0], sparse: { indices: [1], values: [1] } }, payload: { tenant: 't' } },
        {
          id: '550e8400-e29b-41d4-a716-446655440000',
          vector: { dense: [0, 1], sparse: { indices: [2], values: [1] } },
          payload: { tenant: 't' },
        },
      ],
    });
    const res = await client.query('js', {
      prefetch: [
        { query: [1, 0], using: 'dense', limit: 5 },
        { query: { indices: [2], values: [1] }, using: 'sparse', limit: 5 },
      ],
      query: { fusion: 'rrf' },
      filter: { must: [{ key: 'tenant', match: { value: 't' } }] },
      with_payload: true,
      limit: 5,
    });
    expect(res.points).toHaveLength(2);
    expect((await client.count('js', { exact: true })).count).toBe(2);
    await client.delete('js', { wait: true, filter: { must: [{ has_id: [1] }] } });
    expect((await client.scroll('js', { limit: 10 })).points).toHaveLength(1);
    await client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'js', alias_name: 'js_live' } }] });
    expect((await client.getCollection('js_live')).points_count).toBe(1);
    expect(qdrant.rejected).toEqual([]);
  });
});
