import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SessionStore } from '../../src/stores/session/session-store';
import type { NewMessage, SessionSummary } from '../../src/stores/session/session-types';
import { waitFor } from '../support/wait-for';

const prefix = `t${randomBytes(5).toString('hex')}`;
const DEFAULTS = { collection: 'default' };
let redis: Redis;
let store: SessionStore;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL!, { lazyConnect: false, maxRetriesPerRequest: 1 });
  store = new SessionStore(redis, prefix);
});
afterAll(async () => {
  await redis?.quit();
});

let n = 0;
/** A fresh tenant per test: nothing leaks between tests. */
const tenant = () => `tenant-${++n}`;
const user = (content: string): NewMessage => ({ role: 'user', content, tokenCount: content.length });
const assistant = (content: string): NewMessage => ({ role: 'assistant', content, tokenCount: content.length, model: 'm' });
const summary = (coversThroughSeq: number, text = `through ${coversThroughSeq}`): SessionSummary => ({
  text,
  coversThroughSeq,
  tokenCount: 3,
  updatedAt: new Date().toISOString(),
});

/** Every key under the file's prefix that belongs to the session (SCAN, never KEYS on a shared server). */
async function keysOf(t: string, id: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys.filter((k) => k.includes(`{s:${encodeURIComponent(t)}:${encodeURIComponent(id)}}`)));
  } while (cursor !== '0');
  return found;
}

describe('When a session is created', () => {
  it('then get answers the record with defaults filled in', async () => {
    const t = tenant();
    const { session, created } = await store.create(
      t,
      { systemPrompt: 'Be brief.', metadata: { team: 'x', n: 0.12345678901234568 } },
      DEFAULTS,
    );
    expect(created).toBe(true);
    expect(session).toMatchObject({
      tenant: t,
      systemPrompt: 'Be brief.',
      collection: 'default',
      metadata: { team: 'x', n: 0.12345678901234568 },
      lastSeq: 0,
      summary: null,
      recallIndexedThroughSeq: 0,
    });
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(session.generation).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(session.createdAt).toISOString()).toBe(session.createdAt);
    expect(await store.get(t, session.id)).toEqual(session);
  });

  it('then a duplicate create answers created:false and changes nothing', async () => {
    const t = tenant();
    const first = await store.create(t, { id: 's1', collection: 'docs', maxContextTokens: 4000 }, DEFAULTS);
    await store.append(t, 's1', [user('hello')], DEFAULTS);
    const before = await store.get(t, 's1');
    const again = await store.create(t, { id: 's1', collection: 'other', systemPrompt: 'new' }, DEFAULTS);
    expect(again.created).toBe(false);
    expect(again.session).toEqual(before);
    expect(again.session.collection).toBe('docs');
    expect(again.session.generation).toBe(first.session.generation);
    expect(await store.get(t, 's1')).toEqual(before);
  });

  it('then another tenant can neither read, append to nor delete it', async () => {
    const a = tenant();
    const b = tenant();
    await store.create(a, { id: 'shared-id' }, DEFAULTS);
    await store.append(a, 'shared-id', [user('secret')], DEFAULTS);
    expect(await store.get(b, 'shared-id')).toBeUndefined();
    expect(await store.range(b, 'shared-id', 1, 10)).toEqual([]);
    expect(await store.getMessages(b, 'shared-id', [1])).toEqual([]);
    expect(await store.delete(b, 'shared-id')).toBeUndefined();
    // B's append creates B's own session; A's is untouched.
    const bs = await store.append(b, 'shared-id', [user('mine')], DEFAULTS);
    expect(bs!.messages[0].seq).toBe(1);
    expect((await store.get(a, 'shared-id'))!.lastSeq).toBe(1);
    expect((await store.range(a, 'shared-id', 1, 10)).map((m) => m.content)).toEqual(['secret']);
  });

  it('then ids and tenants with colons, braces and slashes stay apart', async () => {
    const t = `${tenant()}:{x}`;
    await store.create(t, { id: 'a:b' }, DEFAULTS);
    await store.create(`${t}:a`, { id: 'b' }, DEFAULTS);
    expect((await store.get(t, 'a:b'))!.id).toBe('a:b');
    expect(await store.get(t, 'b')).toBeUndefined();
    expect(await store.get(`${t}:a`, 'a:b')).toBeUndefined();
  });
});

describe('When messages are appended', () => {
  it('then seqs count up from 1 and the stored messages keep every field', async () => {
    const t = tenant();
    const first = await store.append(t, 's', [user('q1'), assistant('a1')], DEFAULTS);
    expect(first!.session.lastSeq).toBe(2);
    expect(first!.messages.map((m) => [m.seq, m.id, m.role])).toEqual([
      [1, 's:1', 'user'],
      [2, 's:2', 'assistant'],
    ]);
    const at = '2024-01-02T03:04:05.000Z';
    const cited: NewMessage = {
      ...assistant('a2 [1]'),
      createdAt: at,
      citations: [{ marker: '[1]', documentId: 'd', chunkId: 'c', title: 'T', score: 0.5, snippet: 's' }],
      usage: { promptTokens: 10, completionTokens: 5, costUsd: 0.0001 },
    };
    const second = await store.append(t, 's', [user('q2'), cited], DEFAULTS);
    expect(second!.messages.map((m) => m.seq)).toEqual([3, 4]);
    const all = await store.range(t, 's', 1, 4);
    expect(all).toEqual([...first!.messages, ...second!.messages]);
    expect(all[3]).toEqual({ ...cited, id: 's:4', seq: 4, createdAt: at });
    expect(new Date(all[0].createdAt).toISOString()).toBe(all[0].createdAt);
    const session = await store.get(t, 's');
    expect(session).toEqual(second!.session);
    expect(session!.collection).toBe('default');
    expect(session!.updatedAt >= session!.createdAt).toBe(true);
  });

  it('then an id/seq carried in by the caller is ignored', async () => {
    const t = tenant();
    const imported = { ...user('old'), id: 'x:99', seq: 99 } as NewMessage;
    const res = await store.append(t, 's', [imported], DEFAULTS);
    expect(res!.messages[0]).toMatchObject({ id: 's:1', seq: 1 });
    expect((await store.range(t, 's', 1, 1))[0]).toMatchObject({ id: 's:1', seq: 1, content: 'old' });
  });

  it('then 20 concurrent pair appends each land as one contiguous run, none lost', async () => {
    const t = tenant();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.append(t, 's', [user(`q${i}`), assistant(`a${i}`)], DEFAULTS)),
    );
    const generations = new Set(results.map((r) => r!.session.generation));
    expect(generations.size).toBe(1);
    const all = await store.range(t, 's', 1, 1000);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let i = 0; i < 40; i += 2) {
      const k = all[i].content.slice(1);
      expect(all[i]).toMatchObject({ role: 'user', content: `q${k}` });
      expect(all[i + 1]).toMatchObject({ role: 'assistant', content: `a${k}` });
    }
    expect(new Set(all.map((m) => m.content)).size).toBe(40);
    expect((await store.get(t, 's'))!.lastSeq).toBe(40);
  });

  it('then an import of 1,200 goes in pages with contiguous seqs', async () => {
    const t = tenant();
    const small = new SessionStore(redis, prefix, { appendPageSize: 500 });
    await small.append(t, 's', [user('before')], DEFAULTS);
    const many = Array.from({ length: 1200 }, (_, i) => (i % 2 ? assistant(`m${i}`) : user(`m${i}`)));
    const res = await small.append(t, 's', many, DEFAULTS);
    expect(res!.messages.map((m) => m.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 2));
    expect(res!.session.lastSeq).toBe(1201);
    const all = await small.range(t, 's', 2, 1201);
    expect(all).toHaveLength(1200);
    expect(all.map((m) => m.content)).toEqual(many.map((m) => m.content));
    expect(all).toEqual(res!.messages);
  });

  it('then a page size larger than Lua’s unpack limit still works', async () => {
    const t = tenant();
    const big = new SessionStore(redis, prefix, { appendPageSize: 10_000 });
    const res = await big.append(
      t,
      's',
      Array.from({ length: 10_000 }, (_, i) => user(`m${i}`)),
      DEFAULTS,
    );
    expect(res!.session.lastSeq).toBe(10_000);
    const all = await big.range(t, 's', 1, 10_000);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
  });

  it('then expectGeneration refuses after the session was deleted and recreated', async () => {
    const t = tenant();
    const { session } = await store.create(t, { id: 's' }, DEFAULTS);
    expect(await store.append(t, 's', [user('ok')], DEFAULTS, { expectGeneration: session.generation })).toBeDefined();
    await store.delete(t, 's');
    // Deleted: a late write with the old generation does not resurrect the session.
    expect(await store.append(t, 's', [user('late')], DEFAULTS, { expectGeneration: session.generation })).toBeUndefined();
    expect(await store.get(t, 's')).toBeUndefined();
    const again = await store.create(t, { id: 's' }, DEFAULTS);
    expect(again.session.generation).not.toBe(session.generation);
    expect(await store.append(t, 's', [user('late')], DEFAULTS, { expectGeneration: session.generation })).toBeUndefined();
    expect((await store.get(t, 's'))!.lastSeq).toBe(0);
    expect(await store.range(t, 's', 1, 10)).toEqual([]);
  });
});

describe('When messages are read', () => {
  it('then range clamps to 1..lastSeq and getMessages skips missing seqs', async () => {
    const t = tenant();
    await store.append(t, 's', [user('a'), assistant('b'), user('c')], DEFAULTS);
    expect((await store.range(t, 's', -5, 100)).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect((await store.range(t, 's', 2, Infinity)).map((m) => m.seq)).toEqual([2, 3]);
    expect(await store.range(t, 's', 3, 2)).toEqual([]);
    expect(await store.range(t, 's', 4, 10)).toEqual([]);
    expect(await store.range(t, 'missing', 1, 10)).toEqual([]);
    expect((await store.getMessages(t, 's', [3, 0, 1, 9, 1, -1, 1.5])).map((m) => m.seq)).toEqual([1, 3]);
    expect(await store.getMessages(t, 's', [])).toEqual([]);
  });

  it('then a corrupt stored message is skipped, not thrown', async () => {
    const t = tenant();
    await store.append(t, 's', [user('a'), user('b'), user('c')], DEFAULTS);
    const [msgsKey] = (await keysOf(t, 's')).filter((k) => k.endsWith(':msgs'));
    await redis.hset(msgsKey, '2', '{not json');
    expect((await store.range(t, 's', 1, 3)).map((m) => m.content)).toEqual(['a', 'c']);
    expect((await store.getMessages(t, 's', [1, 2, 3])).map((m) => m.content)).toEqual(['a', 'c']);
  });

  it('then a corrupt record reads as missing', async () => {
    const t = tenant();
    await store.create(t, { id: 's' }, DEFAULTS);
    const [metaKey] = (await keysOf(t, 's')).filter((k) => k.endsWith(':meta'));
    await redis.hset(metaKey, 'record', '{oops');
    expect(await store.get(t, 's')).toBeUndefined();
  });
});

describe('When a summary is written', () => {
  it('then only a writer that saw the current summary and generation wins', async () => {
    const t = tenant();
    const res = await store.append(
      t,
      's',
      Array.from({ length: 10 }, (_, i) => user(`m${i}`)),
      DEFAULTS,
    );
    const gen = res!.session.generation;
    expect(await store.setSummary(t, 's', gen, summary(4), 0)).toBe(true);
    // A duplicate summariser that also expected "no summary" is refused.
    expect(await store.setSummary(t, 's', gen, summary(6), 0)).toBe(false);
    expect(await store.setSummary(t, 's', gen, summary(8), 4)).toBe(true);
    // Never backwards, even with the right expectation.
    expect(await store.setSummary(t, 's', gen, summary(5), 8)).toBe(false);
    // Not past the newest message.
    expect(await store.setSummary(t, 's', gen, summary(11), 8)).toBe(false);
    const got = await store.get(t, 's');
    expect(got!.summary).toMatchObject({ coversThroughSeq: 8, text: 'through 8' });
    // The summary is background work: the record's updatedAt stays the last append's.
    expect(got!.updatedAt).toBe(res!.session.updatedAt);
  });

  it('then the old generation is refused after delete and recreate', async () => {
    const t = tenant();
    const old = (await store.append(t, 's', [user('a'), user('b')], DEFAULTS))!.session.generation;
    await store.delete(t, 's');
    expect(await store.setSummary(t, 's', old, summary(1), 0)).toBe(false);
    expect(await store.get(t, 's')).toBeUndefined();
    const fresh = (await store.append(t, 's', [user('a'), user('b')], DEFAULTS))!.session.generation;
    expect(await store.setSummary(t, 's', old, summary(1), 0)).toBe(false);
    expect((await store.get(t, 's'))!.summary).toBeNull();
    expect(await store.setSummary(t, 's', fresh, summary(1), 0)).toBe(true);
  });
});

describe('When recall indexing progresses', () => {
  it('then recallIndexedThroughSeq only rises, and only for the current generation', async () => {
    const t = tenant();
    const gen = (await store.append(
      t,
      's',
      Array.from({ length: 6 }, (_, i) => user(`m${i}`)),
      DEFAULTS,
    ))!.session.generation;
    await store.markRecallIndexed(t, 's', gen, 4);
    expect((await store.get(t, 's'))!.recallIndexedThroughSeq).toBe(4);
    await store.markRecallIndexed(t, 's', gen, 2);
    expect((await store.get(t, 's'))!.recallIndexedThroughSeq).toBe(4);
    await store.markRecallIndexed(t, 's', 'other-generation', 6);
    expect((await store.get(t, 's'))!.recallIndexedThroughSeq).toBe(4);
    await store.markRecallIndexed(t, 's', gen, 99);
    expect((await store.get(t, 's'))!.recallIndexedThroughSeq).toBe(6);
    // On a deleted session it creates nothing.
    await store.markRecallIndexed(t, 'gone', gen, 3);
    expect(await keysOf(t, 'gone')).toEqual([]);
  });
});

describe('When a session is deleted', () => {
  it('then its record, messages and locks are gone and the record is answered', async () => {
    const t = tenant();
    await store.create(t, { id: 's', metadata: { a: 1 } }, DEFAULTS);
    await store.append(t, 's', [user('a'), assistant('b')], DEFAULTS);
    expect(await store.tryLock(t, 's', 'summarise', 60_000)).toBeDefined();
    expect((await keysOf(t, 's')).length).toBe(3);
    const deleted = await store.delete(t, 's');
    expect(deleted).toMatchObject({ id: 's', tenant: t, lastSeq: 2, metadata: { a: 1 } });
    expect(await keysOf(t, 's')).toEqual([]);
    expect(await store.get(t, 's')).toBeUndefined();
    expect(await store.range(t, 's', 1, 10)).toEqual([]);
    expect(await store.delete(t, 's')).toBeUndefined();
    // Recreated: a new generation, empty, and the lock is free again.
    const again = await store.create(t, { id: 's' }, DEFAULTS);
    expect(again.created).toBe(true);
    expect(again.session.generation).not.toBe(deleted!.generation);
    expect(await store.tryLock(t, 's', 'summarise', 60_000)).toBeDefined();
  });
});

describe('When sessions have a TTL', () => {
  it('then an idle session expires as a whole', async () => {
    const t = tenant();
    const ttl = new SessionStore(redis, prefix, { ttlSeconds: 1 });
    await ttl.append(t, 's', [user('a'), assistant('b')], DEFAULTS);
    const ttls = await Promise.all((await keysOf(t, 's')).map((k) => redis.ttl(k)));
    expect(ttls).toHaveLength(2);
    ttls.forEach((s) => expect(s).toBeGreaterThan(0));
    await waitFor('the idle session to expire', async () => ((await ttl.get(t, 's')) === undefined ? true : undefined), 10_000, 100);
    expect(await ttl.range(t, 's', 1, 10)).toEqual([]);
    expect(await keysOf(t, 's')).toEqual([]);
  });

  it('then every write refreshes the expiry of record and messages', async () => {
    const t = tenant();
    const ttl = new SessionStore(redis, prefix, { ttlSeconds: 100 });
    const gen = (await ttl.create(t, { id: 's' }, DEFAULTS)).session.generation;
    await ttl.append(t, 's', [user('a')], DEFAULTS);
    const keys = await keysOf(t, 's');
    for (const write of [
      () => ttl.setSummary(t, 's', gen, summary(1), 0),
      () => ttl.markRecallIndexed(t, 's', gen, 1),
      () => ttl.append(t, 's', [user('b')], DEFAULTS),
    ]) {
      await Promise.all(keys.map((k) => redis.expire(k, 50)));
      await write();
      for (const k of keys) expect(await redis.ttl(k)).toBeGreaterThan(90);
    }
  });
});

describe('When background jobs lock a session', () => {
  it('then one holder at a time, and only the holder’s token unlocks', async () => {
    const t = tenant();
    const token = await store.tryLock(t, 's', 'summarise', 10_000);
    expect(token).toBeDefined();
    expect(await store.tryLock(t, 's', 'summarise', 10_000)).toBeUndefined();
    // Another name is another lock.
    expect(await store.tryLock(t, 's', 'recall', 10_000)).toBeDefined();
    await store.unlock(t, 's', 'summarise', 'not-the-token');
    expect(await store.tryLock(t, 's', 'summarise', 10_000)).toBeUndefined();
    await store.unlock(t, 's', 'summarise', token!);
    const next = await store.tryLock(t, 's', 'summarise', 10_000);
    expect(next).toBeDefined();
    expect(next).not.toBe(token);
  });

  it('then an expired lock can be taken over and its late unlock frees nothing', async () => {
    const t = tenant();
    const first = await store.tryLock(t, 's', 'summarise', 100);
    expect(first).toBeDefined();
    const second = await waitFor('the first lock to expire', () => store.tryLock(t, 's', 'summarise', 10_000), 10_000, 20);
    expect(second).not.toBe(first);
    await store.unlock(t, 's', 'summarise', first!);
    expect(await store.tryLock(t, 's', 'summarise', 10_000)).toBeUndefined();
  });

  it('then the locks key itself expires with its longest-lived lock', async () => {
    const t = tenant();
    await store.tryLock(t, 's', 'a', 5_000);
    await store.tryLock(t, 's', 'b', 60_000);
    await store.tryLock(t, 's', 'c', 1_000);
    const [locks] = await keysOf(t, 's');
    expect(await redis.pttl(locks)).toBeGreaterThan(55_000);
  });
});
