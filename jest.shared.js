/** What `npm test` (jest.config.js) and `npm run test:chaos` (jest.chaos.config.js) share. */
module.exports = {
  testEnvironment: 'node',
  // Long fault and fuzz runs: `npm run test:chaos` (jest.chaos.config.js), which .ci/run runs after `npm test`.
  testPathIgnorePatterns: ['/node_modules/', '/test/chaos/'],
  // ignoreDynamic: `import()` stays a real dynamic import (as tsc leaves it), which ES-module-only packages need.
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs', ignoreDynamic: true } }] },
  transformIgnorePatterns: ['/node_modules/(?!(@mistralai/mistralai)/)'],
};
