import { stopClusterProcesses } from './redis-cluster';

export default async function clusterGlobalTeardown(): Promise<void> {
  const list = (name: string) => (process.env[name] ?? '').split(',').filter((s) => s !== '');
  await stopClusterProcesses(list('RAGMEM_TEST_CLUSTER_PIDS').map(Number), list('RAGMEM_TEST_CLUSTER_DIRS'));
}
