/**
 * Tests run against real Redis (a throwaway server started in globalSetup) and real LanceDB in temp dirs.
 * The `qdrant` project runs the HTTP ingestion and session suites once more with QDRANT_URL set, on the strict Qdrant double.
 * The `redis-cluster` project runs the suites that matter once more on a real Redis Cluster (3 masters, 3 replicas,
 * started by its own globalSetup, only when one of its tests runs), with the cluster's own tests in test/cluster.
 */
const shared = require('./jest.shared.js');

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    {
      ...shared,
      displayName: 'lancedb',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: [...shared.testPathIgnorePatterns, '/test/cluster/'],
    },
    {
      ...shared,
      displayName: 'qdrant',
      roots: ['<rootDir>/test'],
      testMatch: ['**/component/{documents,bad-input,document-lifecycle,ingest-retries,sessions,reindex,tenant-side-channels}.test.ts'],
      setupFiles: ['<rootDir>/test/support/use-qdrant.ts'],
    },
    {
      ...shared,
      displayName: 'redis-cluster',
      roots: ['<rootDir>/test'],
      testMatch: [
        '**/component/{documents,search-options,sessions,session-memory,reindex,key-rate-limit,quotas,keys-cli}.test.ts',
        '**/cluster/*.test.ts',
      ],
      setupFiles: ['<rootDir>/test/support/use-redis-cluster.ts'],
      globalSetup: '<rootDir>/test/support/cluster-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/cluster-global-teardown.ts',
    },
  ],
};
