import { Cluster, Redis } from 'ioredis';
import type { RedisTarget } from '../../src/config';
import type { RedisClient } from '../../src/infra/redis';

/**
 * Which Redis a test talks to. Every project uses the throwaway server of globalSetup (REDIS_URL) except
 * `redis-cluster`, whose setup file sets TEST_REDIS=cluster: its tests then run on the cluster its globalSetup
 * started (RAGMEM_TEST_CLUSTER_NODES). Another project's tests never see that cluster, even though the variable
 * reaches every test process of a run.
 */
export function onTestCluster(): boolean {
  return process.env.TEST_REDIS === 'cluster';
}

/** The environment variables that point a service at `target` (what loadConfig reads back into the same target). */
export function redisEnvOf(target: RedisTarget): Record<string, string> {
  if (target.mode === 'single') return { REDIS_URL: target.url };
  return {
    REDIS_CLUSTER_NODES: target.nodes.map((n) => `${n.host}:${n.port}`).join(','),
    ...(target.username ? { REDIS_USERNAME: target.username } : {}),
    ...(target.password ? { REDIS_PASSWORD: target.password } : {}),
    ...(target.tls ? { REDIS_TLS: 'true' } : {}),
  };
}

/** The variables for this project's Redis: the test server's or the cluster's. */
export function testRedisEnv(): Record<string, string> {
  if (onTestCluster()) {
    const nodes = process.env.RAGMEM_TEST_CLUSTER_NODES;
    if (!nodes) throw new Error('TEST_REDIS=cluster, but no cluster was started (RAGMEM_TEST_CLUSTER_NODES is unset)');
    return { REDIS_CLUSTER_NODES: nodes };
  }
  return { REDIS_URL: process.env.REDIS_URL! };
}

const seedsOf = (nodes: string) =>
  nodes.split(',').map((entry) => {
    const cut = entry.lastIndexOf(':');
    return { host: entry.slice(0, cut), port: Number(entry.slice(cut + 1)) };
  });

/** A plain client of this project's Redis, for a test that reads or plants keys itself; the caller disconnects it. */
export function connectTestRedis(): RedisClient {
  const env = testRedisEnv();
  return env.REDIS_CLUSTER_NODES ? connectCluster(env.REDIS_CLUSTER_NODES) : new Redis(env.REDIS_URL);
}

/** A cluster client over `nodes` (`host:port,...`) with ioredis's defaults, as a test's own view of the cluster. */
export function connectCluster(nodes: string): Cluster {
  const cluster = new Cluster(seedsOf(nodes));
  cluster.on('error', () => undefined);
  return cluster;
}

/**
 * Every key matching `pattern`, sorted. On a cluster KEYS answers for the one node it reaches, so every master is
 * asked (a test that expects no key left must not pass because it asked an empty node).
 */
export async function keysMatching(client: RedisClient, pattern: string): Promise<string[]> {
  if (client instanceof Cluster) {
    const perNode = await Promise.all(client.nodes('master').map((node) => node.keys(pattern)));
    return perNode.flat().sort();
  }
  return (await client.keys(pattern)).sort();
}
