/**
 * `npm run test:chaos`: the long fault-injection and fuzz runs in test/chaos (Redis restarts, killed workers, model
 * storms, thousands of generated requests). Same transform and throwaway Redis as `npm test`; one file at a time, as
 * most of them start and kill processes of their own.
 */
const shared = require('./jest.shared.js');

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 300_000,
  maxWorkers: 1,
  ...shared,
  testPathIgnorePatterns: ['/node_modules/'],
  roots: ['<rootDir>/test/chaos'],
  testMatch: ['**/*.test.ts'],
};
