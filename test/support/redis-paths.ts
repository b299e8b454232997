import type { Command } from 'ioredis';
import keySlot from 'cluster-key-slot';
import type { RedisClient } from '../../src/infra/redis';
import { DocumentStore } from '../../src/stores/document/document-store';
import { queuedState, type DocumentRecord } from '../../src/stores/document/document-types';
import { SourceInbox } from '../../src/stores/document/source-inbox';
import { SessionStore } from '../../src/stores/session/session-store';
import { KeyStore } from '../../src/tenancy/key-store';
import { RequestLimiter } from '../../src/tenancy/request-limiter';
import { IndexCatalog } from '../../src/indexes/index-catalog';
import type { IndexSpec } from '../../src/indexes/index-spec';
import { ReindexJobs } from '../../src/reindex/reindex-jobs';
import { FairTurns } from '../../src/queues/fair-turns';
import { RateLimiter } from '../../src/gateway/safety/rate-limiter';
import { CircuitBreaker } from '../../src/gateway/safety/circuit-breaker';
import { EmbeddingCache } from '../../src/gateway/safety/embedding-cache';
import { UsageMeter } from '../../src/gateway/safety/usage-meter';
import { updateJson } from '../../src/infra/redis-json';
import { newDocumentId } from '../../src/ingest/ids';

/**
 * Every path of the service that sends Redis a script or a command on several keys (MULTI, MGET, DEL of two keys,
 * pipelines), each driven once with a tenant, a session and a model whose names need encoding, by the stores and
 * limiters themselves. BullMQ's own scripts are driven by the component suites the `redis-cluster` project reruns.
 * Each step checks its answer, so a step that silently did nothing cannot pass.
 */
export async function exerciseRedisPaths(redis: RedisClient, prefix: string): Promise<void> {
  const tenant = 'acme corp:{x}';
  const collection = 'notes/é';
  const spec: IndexSpec = { name: 'chunks', embeddingModel: 'offline-embed', dimensions: 8, chunking: { chunkSize: 64, chunkOverlap: 8 } };

  // Document records, quotas, content-hash and externalId claims, bulk creation with sources waiting in the inbox.
  const documents = new DocumentStore(redis, prefix, { documents: 100, bytes: 1_000_000 });
  const inbox = new SourceInbox(redis, prefix);
  const record = (over: Partial<DocumentRecord> = {}): DocumentRecord => {
    const now = new Date().toISOString();
    return {
      id: newDocumentId(),
      tenant,
      collection,
      title: 't',
      ...queuedState(),
      chunkCount: 0,
      contentHash: `h${Math.random().toString(36).slice(2)}`,
      bytes: 10,
      mimeType: 'text/plain',
      format: 'text',
      metadata: {},
      version: 1,
      createdAt: now,
      updatedAt: now,
      ...over,
    };
  };
  const one = record({ externalId: 'ext/1' });
  await documents.create(one);
  expect(await documents.claimHash(tenant, collection, one.contentHash, one.id)).toBeUndefined();
  expect(await documents.claimExternalId(tenant, collection, 'ext/1', one.id)).toBeUndefined();
  const bulk = [record(), record()];
  const { outcomes } = await documents.createMany(
    bulk.map((doc) => ({ doc, source: { key: inbox.key(tenant, doc.id, 1), bytes: Buffer.from('small source') } })),
  );
  expect(outcomes).toEqual([{ kind: 'created' }, { kind: 'created' }]);
  expect((await inbox.get(tenant, bulk[0].id, 1))?.toString()).toBe('small source');
  expect([...(await documents.getMany(tenant, [one.id, ...bulk.map((d) => d.id)])).keys()].sort()).toEqual(
    [one.id, ...bulk.map((d) => d.id)].sort(),
  );
  expect((await documents.holdersOfHashes(tenant, collection, [one.contentHash])).get(one.contentHash)?.id).toBe(one.id);
  expect(await documents.update(tenant, one.id, () => ({ bytes: 25, version: 2 }))).toMatchObject({ bytes: 25 });
  expect(await documents.usage(tenant)).toMatchObject({ documents: 3, bytes: 45 });
  expect((await documents.list(tenant, { collection, limit: 10 })).documents).toHaveLength(3);
  expect(await documents.remove(tenant, one.id)).toMatchObject({ id: one.id });
  expect(await documents.findByExternalId(tenant, collection, 'ext/1')).toBeUndefined();
  await inbox.remove(tenant, bulk[0].id, 1);

  // Sessions: every script, the expiry index, locks.
  const sessions = new SessionStore(redis, prefix, { ttlSeconds: 600, appendPageSize: 2 });
  const sid = 'chat/1 {a}';
  const { session } = await sessions.create(tenant, { id: sid }, { collection });
  const appended = await sessions.append(
    tenant,
    sid,
    [1, 2, 3].map((n) => ({ role: 'user' as const, content: `m${n}`, tokenCount: 1 })),
    { collection },
  );
  expect(appended?.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  expect((await sessions.range(tenant, sid, 1, 3)).map((m) => m.content)).toEqual(['m1', 'm2', 'm3']);
  expect(await sessions.getMessages(tenant, sid, [3, 1])).toHaveLength(2);
  expect(
    await sessions.setSummary(tenant, sid, session.generation, { text: 's', coversThroughSeq: 2, tokenCount: 1, updatedAt: '' }, 0),
  ).toBe(true);
  await sessions.markRecallIndexed(tenant, sid, session.generation, 3);
  const token = await sessions.tryLock(tenant, sid, 'summarize', 5000);
  expect(token).toBeDefined();
  await sessions.unlock(tenant, sid, 'summarize', token!);
  expect(await sessions.dueExpiries(Date.now() + 3_600_000, 100)).toContainEqual({ tenant, id: sid, generation: session.generation });
  expect(await sessions.delete(tenant, sid)).toMatchObject({ id: sid, lastSeq: 3 });

  // API keys (MULTI under {apikeys}), the per-key request limit.
  const keys = new KeyStore(redis, prefix, { cacheMs: 0 });
  const created = await keys.create('acme', 'label');
  expect(await keys.resolve(created.key)).toEqual({ id: created.id, tenant: 'acme' });
  expect(await keys.revoke(created.id)).toMatchObject({ revokedAt: expect.any(String) });
  await new RequestLimiter(redis, prefix, { perSecond: 5, burst: 5 }).admit(created.id);

  // Index routes: build, built marks, the switch, abandoning, forgetting.
  const catalog = new IndexCatalog(redis, prefix, spec);
  const build = { jobId: 'job0000000000000a', spec: { ...spec, name: 'chunks_rjob0000000000000a' } };
  expect(await catalog.startBuild(tenant, collection, build)).toBe(true);
  await catalog.markBuilt(tenant, collection, build.jobId, 'doc1', 1);
  expect(await catalog.writeTargets(tenant, collection)).toMatchObject({ build: { jobId: build.jobId } });
  expect(await catalog.switchTo(tenant, collection, build.jobId)).toEqual(spec);
  expect(await catalog.route(tenant, collection)).toEqual(build.spec);
  expect(await catalog.startBuild(tenant, collection, { ...build, jobId: 'job0000000000000b' })).toBe(true);
  expect(await catalog.abandonBuild(tenant, collection, 'job0000000000000b')).toBe(true);
  await catalog.forgetBuilt(tenant, collection, build.jobId);

  // Reindex records: the slot quota, the record, the tenant's list, compare-and-set updates.
  const reindexJobs = new ReindexJobs(redis, prefix);
  await reindexJobs.reserveSlot(tenant, build.jobId, 2);
  const job = {
    jobId: build.jobId,
    tenant,
    collection,
    status: 'queued' as const,
    progress: { done: 0, total: 0 },
    spec: build.spec,
    createdAt: new Date().toISOString(),
  };
  await reindexJobs.create(job);
  expect((await reindexJobs.list(tenant, { limit: 10 })).jobs.map((j) => j.jobId)).toEqual([build.jobId]);
  expect(await reindexJobs.update(build.jobId, () => ({ status: 'completed' }))).toMatchObject({ status: 'completed' });
  expect(await reindexJobs.activeCount(tenant)).toBe(0);
  await reindexJobs.delete(job);
  expect(await reindexJobs.get(build.jobId)).toBeUndefined();
  expect(await updateJson(redis, `${prefix}:absent`, () => undefined, 1)).toBeUndefined();

  // Fair turns of the ingest queue.
  const turns = new FairTurns(redis, prefix, 'ingest');
  expect(await turns.take(tenant, 3)).toEqual([1, 2, 3]);
  await turns.started(tenant);

  // The model gateway's shared state: rate buckets (model and tenant share in one script), breaker, caches, usage.
  const gw = `${prefix}:gw`;
  const model = 'mistral-small:{2}';
  const limiter = new RateLimiter(redis, gw, { limits: { [model]: { requestsPerMinute: 60, tokensPerMinute: 6000 } }, tenantShare: 0.5 });
  await limiter.acquire(model, { tenant, tokens: 10, maxWaitMs: 0 });
  await limiter.settle(model, tenant, 5);
  const breaker = new CircuitBreaker(redis, gw, { failureThreshold: 1, windowFailures: 2, windowMs: 1000 });
  expect(await breaker.recordFailure(model)).toBe('open');
  expect(await breaker.canCall(model)).toBe(false);
  await breaker.recordSuccess(model);
  const cache = new EmbeddingCache(redis, gw, { maxEntries: 1 });
  expect(await cache.setMany(model, ['a', 'b'], [new Float32Array([1]), new Float32Array([2])], tenant)).toBe(1);
  expect((await cache.getMany(model, ['a', 'b'], tenant)).filter((v) => v !== undefined)).toHaveLength(1);
  const usage = new UsageMeter(redis, gw);
  await usage.record({ tenant, model, purpose: 'chat', promptTokens: 3, completionTokens: 4, costUsd: 0.01 });
  const today = new Date().toISOString().slice(0, 10);
  expect(await usage.query(tenant, today, today)).toEqual([expect.objectContaining({ model, calls: 1 })]);
}

/**
 * Records the keys of every command a client sends, grouped as Redis sees them: a MULTI (and any pipeline) is one
 * group, every other command its own. Cluster rule: each group's keys share one slot.
 */
export function recordKeySlots(redis: RedisClient): { groups: Array<{ commands: string[]; keys: string[] }>; crossSlot(): string[] } {
  const single: Array<{ commands: string[]; keys: string[] }> = [];
  const byStream = new Map<object, { commands: string[]; keys: string[] }>();
  const original = redis.sendCommand.bind(redis) as (command: Command, stream?: unknown, node?: unknown) => unknown;
  // A command sent before the connection is ready is sent again from the offline queue: counted once.
  const seen = new WeakSet<Command>();
  (redis as { sendCommand: unknown }).sendCommand = (command: Command, stream?: { isPipeline?: boolean }, node?: unknown) => {
    if (seen.has(command)) return original(command, stream, node);
    seen.add(command);
    const keys = command.getKeys().map(String);
    if (stream?.isPipeline) {
      let group = byStream.get(stream);
      if (!group) byStream.set(stream, (group = { commands: [], keys: [] }));
      group.commands.push(command.name);
      group.keys.push(...keys);
    } else {
      single.push({ commands: [command.name], keys });
    }
    return original(command, stream, node);
  };
  const groups = () => [...single, ...byStream.values()];
  return {
    get groups() {
      return groups();
    },
    crossSlot: () =>
      groups()
        .filter((g) => new Set(g.keys.map((k) => keySlot(k))).size > 1)
        .map((g) => `${g.commands.join(' ')}: ${g.keys.map((k) => `${k} (slot ${keySlot(k)})`).join(', ')}`),
  };
}
