import { startRedisCluster } from './redis-cluster';

/**
 * The `redis-cluster` project's globalSetup: one throwaway Redis Cluster (3 masters, 3 replicas) for its whole run,
 * started only when a test of that project runs. Its nodes reach the tests, and its pids and dirs the teardown, through
 * the environment; test-server.ts uses it only where TEST_REDIS=cluster (the project's setup file), so the other
 * projects of the same run keep their single Redis.
 */
export default async function clusterGlobalSetup(): Promise<void> {
  if (process.env.RAGMEM_TEST_CLUSTER_NODES) return;
  const cluster = await startRedisCluster();
  process.env.RAGMEM_TEST_CLUSTER_NODES = cluster.nodes;
  process.env.RAGMEM_TEST_CLUSTER_PIDS = cluster.pids().join(',');
  process.env.RAGMEM_TEST_CLUSTER_DIRS = cluster.dirs.join(',');
}
