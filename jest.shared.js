/** What `npm test` (jest.config.js) and `npm run test:chaos` (jest.chaos.config.js) share. */
module.exports = {
  testEnvironment: 'node',
  // Long fault and fuzz runs: `npm run test:chaos` (jest.chaos.config.js), which .ci/run runs after `npm test`.
  testPathIgnorePatterns: ['/node_modules/', '/test/chaos/'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(@mistralai/mistralai)/)'],
};
