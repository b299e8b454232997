import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { exerciseRedisPaths, recordKeySlots } from '../support/redis-paths';

/**
 * The Redis Cluster rule, checked on the one test Redis where nothing enforces it: every script and every command on
 * several keys (a MULTI or pipeline counts as one) names keys of one hash slot, computed with ioredis's own slot
 * function (cluster-key-slot). The same paths run on a real cluster in test/cluster/scripts-on-cluster.test.ts, where
 * Redis itself refuses a cross-slot command and a script touching a key it was not given in another slot.
 */
describe('When every store, limiter and cache sends its scripts and multi-key commands', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('then the keys of each script, MULTI and multi-key command hash to one slot', async () => {
    const recorder = recordKeySlots(redis);
    await exerciseRedisPaths(redis, `t${randomBytes(5).toString('hex')}`);
    const multiKey = recorder.groups.filter((g) => new Set(g.keys).size > 1);
    // The exercise reaches the scripts and transactions it claims to (a recorder that saw nothing would pass anything).
    expect(multiKey.length).toBeGreaterThanOrEqual(20);
    expect(multiKey.some((g) => g.commands.includes('multi'))).toBe(true);
    expect(multiKey.some((g) => g.commands.includes('eval'))).toBe(true);
    expect(recorder.crossSlot()).toEqual([]);
  });

  it('then a transaction over two slots would be named (the check can fail)', async () => {
    const probe = new Redis(process.env.REDIS_URL!);
    try {
      const recorder = recordKeySlots(probe);
      await probe.multi().set('{a}:x', '1').set('{b}:x', '1').exec();
      await probe.del('{a}:x', '{b}:x');
      expect(recorder.crossSlot()).toEqual([
        expect.stringMatching(/^del: \{a\}:x \(slot \d+\), \{b\}:x/),
        expect.stringMatching(/^multi set set exec: \{a\}:x \(slot \d+\), \{b\}:x \(slot \d+\)$/),
      ]);
    } finally {
      probe.disconnect();
    }
  });
});
