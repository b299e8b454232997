/**
 * Tests run against real Redis (a throwaway server started in globalSetup) and real LanceDB in temp dirs.
 * The `qdrant` project runs the HTTP ingestion and session suites once more with QDRANT_URL set, on the strict Qdrant double.
 */
const shared = require('./jest.shared.js');

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    { ...shared, displayName: 'lancedb', roots: ['<rootDir>/test'], testMatch: ['**/*.test.ts'] },
    {
      ...shared,
      displayName: 'qdrant',
      roots: ['<rootDir>/test'],
      testMatch: ['**/component/{documents,bad-input,document-lifecycle,ingest-retries,sessions,reindex,tenant-side-channels}.test.ts'],
      setupFiles: ['<rootDir>/test/support/use-qdrant.ts'],
    },
  ],
};
