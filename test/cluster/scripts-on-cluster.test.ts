import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { RedisTarget } from '../../src/config';
import { assertRedisReachable, createCommandClient, RedisUnreachableError, waitUntilReady, type RedisClient } from '../../src/infra/redis';
import { exerciseRedisPaths, recordKeySlots } from '../support/redis-paths';
import { connectTestRedis } from '../support/test-redis';

/**
 * On the project's real Redis Cluster (3 masters, 3 replicas): every script and multi-key path of the service runs
 * there, where Redis refuses a command whose keys span two slots (CROSSSLOT) and a script that touches a key of another
 * slot than its declared ones; the recorder names any such command besides, with its slots.
 */
const clusterTarget = (): RedisTarget => ({
  mode: 'cluster',
  nodes: process.env.RAGMEM_TEST_CLUSTER_NODES!.split(',').map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) })),
  tls: false,
});

describe('When the service runs its scripts and multi-key commands on a Redis Cluster', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = connectTestRedis();
    await waitUntilReady(redis, 10_000);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('then every one succeeds, each in one slot', async () => {
    expect(redis).toBeInstanceOf(Cluster);
    const recorder = recordKeySlots(redis);
    await exerciseRedisPaths(redis, `t${randomBytes(5).toString('hex')}`);
    expect(recorder.groups.filter((g) => new Set(g.keys).size > 1).length).toBeGreaterThanOrEqual(20);
    expect(recorder.crossSlot()).toEqual([]);
  });

  it("then the same paths run through the service's own cluster client (no offline queue, auto-pipelined, failover retries)", async () => {
    const client = createCommandClient(clusterTarget(), 'ragmem-test');
    try {
      await waitUntilReady(client, 10_000);
      await exerciseRedisPaths(client, `t${randomBytes(5).toString('hex')}`);
    } finally {
      await client.quit();
    }
  });

  it('then a transaction or a script reaching into a second slot is refused by the cluster itself (what the check relies on)', async () => {
    await expect(redis.multi().set('{a}:x', '1').set('{b}:x', '1').exec()).rejects.toThrow(/CROSSSLOT|same slot/);
    // Declared {a}, touches {b} (a key it built itself, as some of our scripts build keys from a declared prefix).
    await expect(redis.eval(`return redis.call('GET', ARGV[1])`, 1, '{a}:x', '{b}:x')).rejects.toThrow(/slot|non local key/i);
    expect(await redis.eval(`return redis.call('GET', ARGV[1])`, 1, '{a}:x', '{a}:y')).toBeNull();
  });
});

describe('When a process starts against REDIS_CLUSTER_NODES', () => {
  it('then the startup check passes on a live cluster, and names the seed nodes when none answers', async () => {
    await expect(assertRedisReachable(clusterTarget())).resolves.toBeUndefined();
    const dead: RedisTarget = { mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }], tls: false };
    const refused = assertRedisReachable(dead, 1000);
    await expect(refused).rejects.toThrow(RedisUnreachableError);
    await expect(refused).rejects.toThrow(/cannot reach the Redis Cluster at REDIS_CLUSTER_NODES=127\.0\.0\.1:1 /);
  });
});
